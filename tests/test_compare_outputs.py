"""scripts/compare_outputs.py on a made-up case: which source words each system leaves out."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_outputs.py"


def test_counts_missing_source_words_and_shorter_outputs(tmp_path):
    (tmp_path / "src").write_text("how is the weather in paris\nwhat is a cat\n")
    (tmp_path / "a").write_text("how is the weather in paris\nwhat is a cat\n")
    # B drops "is" and "the" from the first sentence and adds a word to the second.
    (tmp_path / "b").write_text("H-1\t-0.2\twhat is a small cat\nH-0\t-0.1\thow weather in paris\n")
    result = subprocess.run([sys.executable, str(SCRIPT), "--src", str(tmp_path / "src"),
                             "--a", str(tmp_path / "a"), "--b", str(tmp_path / "b"),
                             "--bucket-width", "5"], capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == "sentences: 2; mean tokens: source 5.00, A 5.00, B 4.50"
    assert lines[1] == "B shorter than A: 1, longer: 1, same length: 0"
    assert lines[2] == "source tokens missing from the output: A 0, B 2"
    assert lines[3] == "missing from B more often than from A: is +1, the +1"
    # Sources of 4 and 6 tokens fall in buckets 0-4 and 5-9; B: 5 of 4 tokens, 4 of 6.
    assert lines[4] == ("output / source length, by source length: 0-4 tokens (1): A 100.0%, "
                        "B 125.0%; 5-9 tokens (1): A 100.0%, B 66.7%")


def test_output_without_a_line_per_source_is_named(tmp_path):
    (tmp_path / "src").write_text("how is the weather in paris\nwhat is a cat\n")
    (tmp_path / "a").write_text("how is the weather in paris\nwhat is a cat\n")
    (tmp_path / "b").write_text("how is the weather\n")
    result = subprocess.run([sys.executable, str(SCRIPT), "--src", str(tmp_path / "src"),
                             "--a", str(tmp_path / "a"), "--b", str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == ""
    assert (f"compare_outputs.py: error: {tmp_path / 'b'}:2: 1 lines, but {tmp_path / 'src'} has 2"
            in result.stderr)
    assert "Traceback" not in result.stderr
