"""Training, classification and recognition commands (filled by the model layers)."""
from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    return None
