"""What the runner tells its user: progress lines, and the error it stops a row or a run with."""
import sys


class ExperimentError(Exception):
    """A problem the user can fix: a missing input, a failed fairseq run (the message names the log)."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
