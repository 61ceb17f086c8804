"""Commands added by later layers (synth, train, classify, recognize, export)."""
from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    return None
