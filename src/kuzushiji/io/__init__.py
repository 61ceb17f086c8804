"""Readers and writers for images and the kuzushiji data formats."""
from .image import load_image
from .kaggle import read_submission, read_train_csv, write_submission

__all__ = ["load_image", "read_train_csv", "read_submission", "write_submission"]
