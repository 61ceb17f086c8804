"""Synthetic kuzushiji pages and glyph crops that look like real scans."""
