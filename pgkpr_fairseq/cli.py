"""What every command of the package shares (pgkpr-keywords, pgkpr-prepare, pgkpr-score,
pgkpr-experiment, pgkpr-paraphrase): how a problem stops it, and the argument types they have in
common.

A problem the user can fix (bad input, a failed run, a file that cannot be read or written) prints
one line `PROG: error: ...` on stderr and exits with 1; Ctrl-C prints `PROG: error: interrupted` and
exits with 130, as a shell reports an interrupted command. Never a traceback. Each option's help ends
with its default in brackets, `[%(default)s]` when the default is a value.
"""
import argparse
import signal
import sys
from typing import Callable, Tuple, Type

from .textio import InputError

INTERRUPTED = 128 + signal.SIGINT


def os_error_message(error: OSError) -> str:
    """`path: reason` (an output folder that does not exist, a full disk, ...)."""
    reason = error.strerror or str(error)
    return reason if error.filename is None else f"{error.filename}: {reason}"


def run_command(prog: str, command: Callable[[], None],
                user_errors: Tuple[Type[Exception], ...] = (InputError,)) -> int:
    """Run a command's work; returns its exit code, after printing the one-line error if any."""
    try:
        command()
    except user_errors as error:
        message = str(error)
    except OSError as error:
        message = os_error_message(error)
    except KeyboardInterrupt:
        print(f"{prog}: error: interrupted", file=sys.stderr)
        return INTERRUPTED
    else:
        return 0
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return int(text)
