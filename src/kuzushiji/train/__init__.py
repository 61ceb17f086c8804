"""Training loops (need the ``train`` extra: torch)."""
