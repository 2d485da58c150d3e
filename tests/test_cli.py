"""pgkpr_fairseq.cli: how every command reports a problem, and the argument types they share."""
import argparse
import errno
import subprocess
import sys

import pytest

from pgkpr_fairseq import cli
from pgkpr_fairseq.textio import InputError


def raising(error):
    def command():
        raise error
    return command


@pytest.mark.parametrize("error, code, message", [
    (InputError("in.txt:3: empty line"), 1, "in.txt:3: empty line"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "out/x.txt"), 1,
     "out/x.txt: No such file or directory"),
    (OSError("no space left"), 1, "no space left"),
    (KeyboardInterrupt(), 130, "interrupted"),
])
def test_a_problem_is_one_line_and_an_exit_code(error, code, message, capsys):
    assert cli.run_command("prog", raising(error)) == code
    assert capsys.readouterr().err == f"prog: error: {message}\n"


def test_a_command_adds_its_own_errors_and_a_bug_keeps_its_traceback(capsys):
    class RunFailed(Exception):
        pass

    assert cli.run_command("prog", raising(RunFailed("row 2 failed")), (RunFailed,)) == 1
    assert capsys.readouterr().err == "prog: error: row 2 failed\n"
    with pytest.raises(ValueError):
        cli.run_command("prog", raising(ValueError("a bug")))
    assert cli.run_command("prog", lambda: None) == 0


def test_positive_int():
    assert cli.positive_int("12") == 12
    for text in ("0", "-1", "1.5", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.positive_int(text)


@pytest.mark.slow
@pytest.mark.parametrize("program, module, arguments", [pytest.param(*case, id=case[0]) for case in [
    ("pgkpr-keywords", "pgkpr_fairseq.keywords.cli",
     ["merge", "--src", "{missing}", "--output", "{out}", "{missing}"]),
    ("pgkpr-prepare", "pgkpr_fairseq.preprocessing.cli",
     ["distinct", "--textdir", "{missing}", "--prefix", "{out}"]),
    ("pgkpr-score", "pgkpr_fairseq.scoring",
     ["--hyp", "{missing}", "--src", "{missing}", "--refs", "{missing}"]),
    ("pgkpr-experiment", "pgkpr_fairseq.experiment", ["{missing}"]),
]])
def test_every_command_stops_on_a_missing_input_with_one_line(program, module, arguments, tmp_path):
    paths = {"missing": tmp_path / "missing", "out": tmp_path / "out"}
    done = subprocess.run([sys.executable, "-m", module, *(arg.format(**paths) for arg in arguments)],
                          capture_output=True, text=True)
    # Importing fairseq may log a line of its own; the command's error is the one line that names it.
    errors = [line for line in done.stderr.splitlines() if line.startswith(f"{program}: error: ")]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert len(errors) == 1 and str(paths["missing"]) in errors[0], done.stderr
