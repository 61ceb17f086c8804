"""One exception type for bad input, printed by the CLI as a single line."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A problem with an input file: names the file (and row) and the problem."""

    def __init__(self, path: str | Path, problem: str, row: int | None = None) -> None:
        self.path = str(path)
        self.row = row
        self.problem = problem
        where = f"{self.path}:{row}" if row is not None else self.path
        # one line whatever the input held (a CSV field may carry a line break)
        super().__init__(f"{where}: {problem}".replace("\r", "\\r").replace("\n", "\\n"))
