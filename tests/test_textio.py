"""The shared text I/O of all tools (pgkpr_fairseq.textio): strict reading, alignment checks, atomic writing."""
import gzip

import pytest

from pgkpr_fairseq.textio import (
    InputError,
    at,
    atomic_output,
    check_not_empty,
    check_same_line_count,
    check_words_per_line,
    read_lines,
    write_files,
    write_lines,
)


def test_errors_name_the_file_and_the_line_if_any():
    assert str(at("a.txt", 3, "empty line")) == "a.txt:3: empty line"
    assert str(at("a.txt", None, "no lines")) == "a.txt: no lines"
    assert isinstance(at("a.txt", None, "no lines"), InputError)


def test_read_lines_ends_lines_as_text_mode_does(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes("one two\r\nthree\rfour\u2028five\nsix".encode("utf-8"))
    assert read_lines(path) == ["one two", "three", "four\u2028five", "six"]


def test_gzip_files_are_read_by_their_name(tmp_path):
    path = tmp_path / "a.hyp.gz"
    path.write_bytes(gzip.compress("how do i learn ?\r\nwhat is ai ?\n".encode()))
    assert read_lines(path) == ["how do i learn ?", "what is ai ?"]
    path.write_bytes(gzip.compress(b"one\n")[:-6])
    with pytest.raises(InputError, match=r"a\.hyp\.gz: cannot read \(a truncated gzip file\)"):
        read_lines(path)
    path.write_bytes(b"plain text, not gzip\n")
    with pytest.raises(InputError, match=r"a\.hyp\.gz: cannot read"):
        read_lines(path)


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"one\r\ntwo\rcaf\xe9 au lait\nfour\n")  # \r\n and a lone \r each end a line
    with pytest.raises(InputError) as error:
        read_lines(path)
    assert str(error.value) == f"{path}:3: invalid UTF-8 at byte offset 12 (invalid continuation byte)"


def test_empty_lines_are_refused_unless_allowed(tmp_path):
    path = tmp_path / "gap.txt"
    path.write_text("the cat\n \t\na dog\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_lines(path)
    assert str(error.value) == f"{path}:2: empty line"
    assert read_lines(path, allow_empty_lines=True) == ["the cat", " \t", "a dog"]


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(InputError) as error:
        read_lines(tmp_path / "absent.txt")
    assert str(error.value) == f"{tmp_path / 'absent.txt'}: no such file"
    with pytest.raises(InputError) as error:
        read_lines(tmp_path)
    assert str(error.value).startswith(f"{tmp_path}: cannot read (")


def test_an_empty_file_has_no_lines(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    lines = read_lines(path)
    assert lines == []
    with pytest.raises(InputError, match=r"empty.txt: no lines$"):
        check_not_empty(path, lines)


@pytest.mark.parametrize("count, reference_count, first_unmatched", [(2, 3, 3), (5, 3, 4)])
def test_mismatched_line_counts_name_the_first_unmatched_line(count, reference_count, first_unmatched):
    check_same_line_count("b.tgt", 3, "a.src", 3)
    with pytest.raises(InputError) as error:
        check_same_line_count("b.tgt", count, "a.src", reference_count)
    assert str(error.value) == (f"b.tgt:{first_unmatched}: {count} lines, but a.src has {reference_count}: "
                                f"this line has no counterpart in the shorter file")


def test_words_per_line_mismatch_names_both_lines():
    sentences = [["the", "cat"], ["a", "dog"]]
    check_words_per_line("s.pos", [["DT", "NN"], ["DT", "NN"]], "s.src", sentences)
    with pytest.raises(InputError) as error:
        check_words_per_line("s.pos", [["DT", "NN"], ["DT", "NN", "VB"]], "s.src", sentences, sentences_first_line=5)
    assert str(error.value) == "s.pos:2: 3 values for the 2 words of s.src:6"
    with pytest.raises(InputError, match=r"^s.pos:2: 1 lines, but s.src has 2"):
        check_words_per_line("s.pos", [["DT", "NN"]], "s.src", sentences)


def test_atomic_output_replaces_the_file_only_on_success(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_output(path) as handle:
            handle.write("half of the new content")
            raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left
    with atomic_output(path, "wb") as handle:
        handle.write(b"new\n")
    assert path.read_bytes() == b"new\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["out.txt"]


def test_write_lines_creates_the_folder_and_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "new" / "train.src"
    write_lines(path, ["the cat", "a dog"])
    assert path.read_bytes() == b"the cat\na dog\n"

    def failing_lines():
        yield "first"
        raise ValueError("bad sentence")

    with pytest.raises(ValueError):
        write_lines(path, failing_lines())
    assert path.read_bytes() == b"the cat\na dog\n"
    assert [entry.name for entry in path.parent.iterdir()] == ["train.src"]


def test_write_files_writes_all_or_none(tmp_path):
    """A failure in the last file leaves every file as it was: none new, no temporary file."""
    old = {tmp_path / "train.src": ["old train"], tmp_path / "valid.src": ["old valid"]}
    write_files(old)

    def failing_lines():
        yield "new valid"
        raise ValueError("bad sentence")

    with pytest.raises(ValueError):
        write_files({tmp_path / "train.src": ["new train"], tmp_path / "valid.src": failing_lines(),
                     tmp_path / "test.src": ["new test"]})
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["train.src", "valid.src"]
    assert [path.read_text() for path in old] == ["old train\n", "old valid\n"]
