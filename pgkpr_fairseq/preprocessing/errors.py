"""The one error type of the preparation steps: bad input, reported with the file and line."""
from typing import Optional


class PreparationError(Exception):
    """Input the preparation cannot use; the message names the file (and line) at fault."""


def at(path: str, line: Optional[int], message: str) -> PreparationError:
    """An error located at `path`, line `line` (1-based), as `path:line: message`."""
    where = path if line is None else f"{path}:{line}"
    return PreparationError(f"{where}: {message}")
