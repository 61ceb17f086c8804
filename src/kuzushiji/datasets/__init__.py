"""Datasets: page collections (Kaggle or CODH layout), splits by book, crops."""
from .pages import PageRecord, load_pages
from .splits import book_id, split_by_book

__all__ = ["PageRecord", "load_pages", "book_id", "split_by_book"]
