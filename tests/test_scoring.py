"""Tests of pgkpr_fairseq.scoring (`pgkpr-score`) on small made-up sentences."""
import contextlib
import io
import json
import math
import subprocess
import sys

import pytest
import sacrebleu
from nltk.translate.bleu_score import corpus_bleu

from pgkpr_fairseq import scoring

SOURCES = [
    "how can i learn to cook pasta at home",
    "what is the best way to save money every month",
    "why do cats like to sleep in boxes",
]
HYPOTHESES = [
    "how do i learn to cook pasta at home",
    "what is the best way to save some money each month",
    "why do cats love sleeping in <unk>",
]
REFERENCES_A = [
    "how do i learn cooking pasta at home",
    "what is a good way to save money each month",
    "why do cats love to sleep inside boxes",
]
REFERENCES_B = [
    "what is the way to learn to cook pasta in my home",
    "how can i save money every single month",
    "why are cats so fond of sleeping in boxes",
]


def write_lines(path, lines):
    """Write lines to a file, one per line, and return its path as a string."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


@pytest.fixture
def corpus_files(tmp_path):
    """Source, two reference files and a plain hypothesis file of the made-up corpus."""
    return {
        "src": write_lines(tmp_path / "test.src", SOURCES),
        "refs": [write_lines(tmp_path / "test.ref0", REFERENCES_A),
                 write_lines(tmp_path / "test.ref1", REFERENCES_B)],
        "hyp": write_lines(tmp_path / "hyp.txt", HYPOTHESES),
    }


def test_score_matches_nltk_and_py_rouge_called_directly():
    metrics = scoring.score([line.upper() for line in HYPOTHESES], SOURCES,
                            [REFERENCES_A, REFERENCES_B])

    hypothesis_tokens = [line.split() for line in HYPOTHESES]
    reference_tokens = [[a.split(), b.split()] for a, b in zip(REFERENCES_A, REFERENCES_B)]
    for key, weights in [("bleu1", (1, 0, 0, 0)), ("bleu2", (0.5, 0.5, 0, 0)),
                         ("bleu3", (0.33, 0.33, 0.34, 0)), ("bleu4", (0.25, 0.25, 0.25, 0.25))]:
        expected = 100 * corpus_bleu(reference_tokens, hypothesis_tokens, weights=weights)
        assert metrics[key] == pytest.approx(expected)

    rouge = scoring.OfflineRouge(metrics=["rouge-n", "rouge-l"], max_n=2)
    expected_rouge = rouge.get_scores(HYPOTHESES, [[a, b] for a, b in zip(REFERENCES_A, REFERENCES_B)])
    assert metrics["rouge1"] == pytest.approx(100 * expected_rouge["rouge-1"]["f"])
    assert metrics["rouge2"] == pytest.approx(100 * expected_rouge["rouge-2"]["f"])
    assert metrics["rougeL"] == pytest.approx(100 * expected_rouge["rouge-l"]["f"])

    assert metrics["sacrebleu"] == pytest.approx(
        sacrebleu.corpus_bleu(HYPOTHESES, [REFERENCES_A, REFERENCES_B]).score)
    self_bleu = 100 * corpus_bleu([[line.split()] for line in SOURCES], hypothesis_tokens)
    assert metrics["self_bleu"] == pytest.approx(self_bleu)
    assert metrics["ibleu"] == pytest.approx(0.8 * metrics["bleu4"] - 0.2 * self_bleu)
    assert 0 < metrics["bleu4"] < metrics["bleu1"] < 100


def test_length_counts_the_closest_reference_as_bleus_brevity_penalty_does():
    # Each hypothesis is a prefix of a reference: every n-gram matches, only brevity costs.
    hypotheses = ["a b", "c d e f"]
    references = [["a b c x", "c d e f g h"], ["a b c d e", "c d e f"]]
    metrics = scoring.score(hypotheses, ["z z", "z z"], references)
    # Closest reference lengths: 4 (of 4 and 5) for "a b", 4 (of 6 and 4) for "c d e f".
    assert metrics["length"] == pytest.approx(100 * 6 / 8)
    assert metrics["bleu1"] == pytest.approx(100 * math.exp(1 - 100 / metrics["length"]))


def test_rouge_averages_sentences_and_pools_references():
    """Document py-rouge's default: per-sentence F averaged; references pooled per sentence."""
    rouge = scoring.OfflineRouge(metrics=["rouge-n", "rouge-l"], max_n=2)
    first = rouge.get_scores(["a b c d"], [["a b x y", "a q r s"]])["rouge-1"]["f"]
    second = rouge.get_scores(["e f"], [["e f", "e f"]])["rouge-1"]["f"]
    # Pooled over the two references: 3 overlaps / 8 hypothesis and 8 reference unigrams.
    assert first == pytest.approx(3 / 8)
    assert second == pytest.approx(1.0)
    metrics = scoring.score(["a b c d", "e f"], ["z z", "z z"], [["a b x y", "e f"], ["a q r s", "e f"]])
    assert metrics["rouge1"] == pytest.approx(100 * (first + second) / 2)


def test_unk_in_hypothesis_gets_no_credit():
    with_unk = scoring.score(["the red <unk> sat"], ["x y z w"], [["the red cat sat"]])
    with_wrong_word = scoring.score(["the red dog sat"], ["x y z w"], [["the red cat sat"]])
    assert with_unk["bleu1"] == pytest.approx(with_wrong_word["bleu1"]) == pytest.approx(75.0)
    assert with_unk["rouge1"] == pytest.approx(with_wrong_word["rouge1"])


def test_copy_of_source_gets_self_bleu_100():
    metrics = scoring.score(SOURCES, SOURCES, [REFERENCES_A, REFERENCES_B])
    assert metrics["self_bleu"] == pytest.approx(100.0)
    assert metrics["ibleu"] == pytest.approx(0.8 * metrics["bleu4"] - 20.0)


def test_fairseq_generate_output_is_put_in_id_order(tmp_path):
    generate_output = tmp_path / "generate-test.txt"
    generate_output.write_text(
        "2026-01-01 00:00:00 | INFO | fairseq_cli.generate | loading model\n"
        "S-2\twhy do cats like boxes\n"
        "H-2\t-0.41\twhy do cats love boxes\n"
        "D-2\t-0.41\twhy do cats love boxes\n"
        "P-2\t-0.1 -0.2 -0.3 -0.4 -0.5 -0.6\n"
        "H-0\t-0.52\thow do i cook pasta\n"
        "H-1\t-1.3\t\n"
        "Generate test with beam=5: BLEU4 = 10.00\n", encoding="utf-8")
    expected = ["how do i cook pasta", "", "why do cats love boxes"]
    assert scoring.read_hypotheses(str(generate_output)) == expected
    assert scoring.read_hypotheses(str(generate_output), "fairseq") == expected


def test_plain_file_is_read_line_by_line(tmp_path):
    path = write_lines(tmp_path / "hyp.txt", ["one line", "", "H-1 is not a fairseq line here"])
    assert scoring.read_hypotheses(path) == ["one line", "", "H-1 is not a fairseq line here"]


def test_cli_prints_table_and_writes_json(corpus_files, tmp_path, capsys):
    json_path = tmp_path / "scores.json"
    scoring.main(["--hyp", corpus_files["hyp"], "--src", corpus_files["src"],
                  "--refs", *corpus_files["refs"], "--json", str(json_path)])
    expected = scoring.score(HYPOTHESES, SOURCES, [REFERENCES_A, REFERENCES_B])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["metric", "value"]
    assert [line.split() for line in printed[1:]] == [
        [header, f"{expected[key]:.2f}"] for key, header in scoring.COLUMNS]

    written = json.loads(json_path.read_text(encoding="utf-8"))
    assert written["metrics"] == pytest.approx(expected)
    assert written["hypotheses"] == corpus_files["hyp"]
    assert written["references"] == corpus_files["refs"]
    assert written["sentences"] == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == [  # no temporary file left
        "hyp.txt", "scores.json", "test.ref0", "test.ref1", "test.src"]


def test_cli_table_has_one_row_per_system(corpus_files, tmp_path, capsys):
    json_path = tmp_path / "table.json"
    # The name ends at the first "=": file names may hold "=" (settings in cached rows).
    hypothesis_path = write_lines(tmp_path / "lambda=1.txt", HYPOTHESES)
    scoring.main(["table", "--row", f"Model={hypothesis_path}", "--copy-source",
                  "--src", corpus_files["src"], "--refs", *corpus_files["refs"],
                  "--json", str(json_path)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("| System | B-1 | B-2 | B-3 | B-4 | R-1 | R-2 | R-L | sacreBLEU | "
                        "self-BLEU | iBLEU | Len% |")
    assert len(lines) == 4
    model = scoring.score(HYPOTHESES, SOURCES, [REFERENCES_A, REFERENCES_B])
    assert lines[2] == scoring.format_table([("Model", model)]).splitlines()[2]
    assert lines[3].startswith(f"| {scoring.COPY_SOURCE_NAME} |")
    assert lines[3].split(" | ")[9] == "100.00"

    rows = json.loads(json_path.read_text(encoding="utf-8"))["rows"]
    assert [row["name"] for row in rows] == ["Model", scoring.COPY_SOURCE_NAME]
    assert rows[0]["hypotheses"] == hypothesis_path
    assert rows[0]["metrics"] == pytest.approx(model)


def pair_split(tmp_path):
    """The made-up corpus as a pair split of a multi-reference dataset (MSCOCO's valid): each source
    twice in a row, once with each of its references; a system's hypothesis on every line."""
    sources = [source for source in SOURCES for _ in range(2)]
    targets = [reference for pair in zip(REFERENCES_A, REFERENCES_B) for reference in pair]
    hypotheses = [hypothesis for hypothesis in HYPOTHESES for _ in range(2)]
    return (write_lines(tmp_path / "valid.src", sources), write_lines(tmp_path / "valid.tgt", targets),
            write_lines(tmp_path / "valid.hyp", hypotheses))


def test_grouped_pair_split_scores_as_the_multi_reference_split(tmp_path, capsys):
    source_path, target_path, hypothesis_path = pair_split(tmp_path)
    scoring.main(["table", "--row", f"Model={hypothesis_path}", "--copy-source", "--group-sources",
                  "--src", source_path, "--refs", target_path])
    grouped = capsys.readouterr().out
    multi_reference = scoring.format_table([
        ("Model", scoring.score(HYPOTHESES, SOURCES, [REFERENCES_A, REFERENCES_B])),
        (scoring.COPY_SOURCE_NAME, scoring.score(SOURCES, SOURCES, [REFERENCES_A, REFERENCES_B]))])
    assert grouped.strip() == multi_reference
    # Ungrouped, every pair has one reference: another score.
    scoring.main(["--hyp", hypothesis_path, "--src", source_path, "--refs", target_path])
    ungrouped_b4 = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("B-4"))
    assert float(ungrouped_b4.split()[1]) < float(grouped.splitlines()[2].split(" | ")[4])


def test_grouping_scores_the_first_hypothesis_of_a_run():
    sources, references, firsts = scoring.group_repeated_sources(
        ["a", "a", "b", "b", "a", "a"], [["r1", "r2", "r3", "r4", "r5", "r6"]], "valid.src")
    assert sources == ["a", "b", "a"] and firsts == [0, 2, 4]  # only runs in a row are merged
    assert references == [["r1", "r3", "r5"], ["r2", "r4", "r6"]]


def test_grouping_refuses_runs_of_different_lengths(tmp_path):
    source_path = write_lines(tmp_path / "valid.src", ["a", "a", "b", "c", "c"])
    target_path = write_lines(tmp_path / "valid.tgt", ["r1", "r2", "r3", "r4", "r5"])
    message = run_with_error(["--copy-source", "--group-sources", "--src", source_path,
                              "--refs", target_path])
    assert message == (f"pgkpr-score: error: {source_path}:3: this source is repeated 1 time(s) in "
                       "a row, the first one 2: grouping needs every source repeated alike")


def test_grouped_hypotheses_are_counted_against_the_ungrouped_source_file(tmp_path):
    source_path, target_path, _ = pair_split(tmp_path)
    short = write_lines(tmp_path / "short.hyp", HYPOTHESES)  # one per source, not per line
    message = run_with_error(["bootstrap", "--a", f"A={short}", "--b", f"B={short}",
                              "--group-sources", "--src", source_path, "--refs", target_path])
    assert short in message and "3" in message and "6" in message


def test_unseen_in_scores_only_the_sources_not_in_the_given_file(corpus_files, tmp_path, capsys):
    training_sources = write_lines(tmp_path / "train.src", ["an unrelated question", SOURCES[1]])
    scoring.main(["table", "--row", f"Model={corpus_files['hyp']}", "--copy-source",
                  "--unseen-in", training_sources, "--src", corpus_files["src"],
                  "--refs", *corpus_files["refs"]])
    output = capsys.readouterr()
    unseen = [0, 2]
    expected = scoring.format_table([
        (name, scoring.score([hypotheses[index] for index in unseen],
                             [SOURCES[index] for index in unseen],
                             [[references[index] for index in unseen]
                              for references in (REFERENCES_A, REFERENCES_B)]))
        for name, hypotheses in (("Model", HYPOTHESES), (scoring.COPY_SOURCE_NAME, SOURCES))])
    assert output.out.strip() == expected
    assert f"scoring the 2 sources of {corpus_files['src']} that are not lines of " \
           f"{training_sources}" in output.err


def test_unseen_in_applies_to_the_grouped_sources(tmp_path, capsys):
    source_path, target_path, hypothesis_path = pair_split(tmp_path)
    training_sources = write_lines(tmp_path / "train.src", [SOURCES[0]])
    scoring.main(["--hyp", hypothesis_path, "--group-sources", "--unseen-in", training_sources,
                  "--src", source_path, "--refs", target_path])
    expected = scoring.format_metrics(scoring.score(
        HYPOTHESES[1:], SOURCES[1:], [REFERENCES_A[1:], REFERENCES_B[1:]]))
    assert capsys.readouterr().out.strip() == expected


def test_unseen_in_refuses_when_every_source_was_seen(corpus_files):
    message = run_with_error(["--copy-source", "--unseen-in", corpus_files["src"],
                              "--src", corpus_files["src"], "--refs", *corpus_files["refs"]])
    assert message == (f"pgkpr-score: error: {corpus_files['src']}: every source is a line of "
                       f"{corpus_files['src']}: none to score")


def run_with_error(argv):
    """Run the CLI in-process and return its error: one line, exit code 1."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert scoring.main(argv) == 1
    assert stderr.getvalue().count("\n") == 1
    return stderr.getvalue().rstrip("\n")


def test_one_system_needs_sources_references_and_hypotheses(corpus_files, capsys):
    """Without the table subcommand, what argparse cannot require of both is checked by hand."""
    for argv, missing in ((["--copy-source"], "--src, --refs"),
                          (["--src", corpus_files["src"], "--refs", *corpus_files["refs"]],
                           "--hyp --copy-source")):
        with pytest.raises(SystemExit) as exit_info:
            scoring.main(argv)
        assert exit_info.value.code == 2 and missing in capsys.readouterr().err


def test_missing_file_is_named(corpus_files, tmp_path):
    missing = str(tmp_path / "nowhere.txt")
    message = run_with_error(["--hyp", missing, "--src", corpus_files["src"],
                              "--refs", *corpus_files["refs"]])
    assert message == f"pgkpr-score: error: {missing}: no such file"


def test_line_count_mismatch_names_file_and_counts(corpus_files, tmp_path):
    short = write_lines(tmp_path / "short.txt", HYPOTHESES[:2])
    too_short = (f"pgkpr-score: error: {short}:3: 2 lines, but {corpus_files['src']} has 3: "
                 "this line has no counterpart in the shorter file")
    message = run_with_error(["--hyp", short, "--src", corpus_files["src"],
                              "--refs", *corpus_files["refs"]])
    assert message == too_short
    message = run_with_error(["--copy-source", "--src", corpus_files["src"],
                              "--refs", corpus_files["refs"][0], short])
    assert message == too_short


def test_invalid_utf8_names_file_and_line(corpus_files, tmp_path):
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"first line\nsecond \xff line\nthird line\n")
    message = run_with_error(["--hyp", str(broken), "--src", corpus_files["src"],
                              "--refs", *corpus_files["refs"]])
    assert message == (f"pgkpr-score: error: {broken}:2: "
                       "invalid UTF-8 at byte offset 18 (invalid start byte)")


def test_empty_hypothesis_file_is_named(corpus_files, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    message = run_with_error(["--hyp", str(empty), "--src", corpus_files["src"],
                              "--refs", *corpus_files["refs"]])
    assert message == f"pgkpr-score: error: {empty}: no lines"


def test_empty_references_are_named(corpus_files, tmp_path):
    """An empty reference leaves nothing to score against (all-empty references: no length at all)."""
    all_empty = write_lines(tmp_path / "empty.ref", [""] * len(SOURCES))
    message = run_with_error(["--hyp", corpus_files["hyp"], "--src", corpus_files["src"], "--refs", all_empty])
    assert message == f"pgkpr-score: error: {all_empty}:1: empty line"
    one_empty = write_lines(tmp_path / "one-empty.ref", REFERENCES_A[:2] + [" "] + REFERENCES_A[3:])
    message = run_with_error(["--hyp", corpus_files["hyp"], "--src", corpus_files["src"], "--refs", one_empty])
    assert message == f"pgkpr-score: error: {one_empty}:3: empty line"


@pytest.mark.parametrize("h_lines, problem", [
    (["H-0\t-0.1\ta b", "H-2\t-0.1\tc d"], ": hypothesis ids missing: 1"),
    (["H-0\t-0.1\ta b", "H-1\t-0.1\tc d", "H-0\t-0.2\te f"],
     ":3: duplicate hypothesis id 0 (generate with --nbest 1)"),
    (["H-0\t-0.1\ta b", "H-1\tc d"],
     ":2: malformed H- line (expected H-<id><TAB><score><TAB><text>)"),
])
def test_bad_fairseq_output_names_file(corpus_files, tmp_path, h_lines, problem):
    generate_output = write_lines(tmp_path / "generate-test.txt", h_lines)
    message = run_with_error(["--hyp", generate_output, "--src", corpus_files["src"],
                              "--refs", *corpus_files["refs"]])
    assert message == f"pgkpr-score: error: {generate_output}{problem}"


def test_forced_fairseq_format_without_h_lines(corpus_files):
    message = run_with_error(["--hyp", corpus_files["hyp"], "--format", "fairseq",
                              "--src", corpus_files["src"], "--refs", *corpus_files["refs"]])
    assert message == (f"pgkpr-score: error: {corpus_files['hyp']}: "
                       "no H-<id> lines of fairseq-generate output")


def test_console_error_is_one_line_without_traceback(corpus_files, tmp_path):
    missing = str(tmp_path / "nowhere.txt")
    result = subprocess.run(
        [sys.executable, "-m", "pgkpr_fairseq.scoring", "--hyp", missing,
         "--src", corpus_files["src"], "--refs", *corpus_files["refs"]],
        capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"pgkpr-score: error: {missing}: no such file\n" in result.stderr
