"""Paired bootstrap (`pgkpr-score bootstrap`): its metrics are pgkpr-score's, its verdicts sane."""
import json
import random

import numpy as np
import pytest

from pgkpr_fairseq import scoring
from pgkpr_fairseq.scoring import bootstrap
from pgkpr_fairseq.sample_corpus import make_pairs


def corpus(count, seed=3):
    """Sources, references and three systems: one that paraphrases like the reference half of the
    time, one that copies the source, and one that drops the last two words of the source."""
    pairs = make_pairs(count, seed=seed)
    sources = [source for source, _ in pairs]
    references = [target for _, target in pairs]
    rng = random.Random(seed)
    good = [reference if rng.random() < 0.5 else source for source, reference in pairs]
    short = [" ".join(source.split()[:-2]) for source in sources]
    return sources, references, good, sources, short


def test_metrics_of_the_whole_set_are_pgkpr_scores():
    sources, references, *systems = corpus(60)
    second_references = references[1:] + references[:1]
    for hypotheses in systems:
        for reference_sets in ([references], [references, second_references]):
            statistics = bootstrap.SystemStatistics.of(hypotheses, sources, reference_sets)
            expected = scoring.score(hypotheses, sources, reference_sets)
            metrics = statistics.metrics()
            assert metrics["bleu4"] == pytest.approx(expected["bleu4"], abs=1e-9)
            assert metrics["ibleu"] == pytest.approx(expected["ibleu"], abs=1e-9)
    # and on a resample with repeated sentences: pgkpr-score of the repeated lines
    rows = np.random.default_rng(0).integers(60, size=60)
    good = systems[0]
    statistics = bootstrap.SystemStatistics.of(good, sources, [references])
    expected = scoring.score([good[i] for i in rows], [sources[i] for i in rows],
                             [[references[i] for i in rows]])
    assert statistics.metrics(rows)["bleu4"] == pytest.approx(expected["bleu4"], abs=1e-9)
    assert statistics.metrics(rows)["ibleu"] == pytest.approx(expected["ibleu"], abs=1e-9)


def test_a_clearly_better_system_wins_and_a_system_never_beats_itself():
    sources, references, good, copy, short = corpus(200)
    good_stats, short_stats = (bootstrap.SystemStatistics.of(h, sources, [references])
                               for h in (good, short))
    comparisons = {c.metric: c for c in bootstrap.paired_bootstrap(good_stats, short_stats, 200)}
    for comparison in comparisons.values():
        assert comparison.difference > 0 and comparison.p_value < 0.01
        assert comparison.low <= comparison.difference <= comparison.high and comparison.low > 0
    itself = bootstrap.paired_bootstrap(good_stats, good_stats, 50)
    assert all(c.difference == 0 and c.p_value == 1.0 for c in itself)


def test_cli_prints_the_comparison_and_writes_json(tmp_path, capsys):
    sources, references, good, _, short = corpus(80)
    paths = {}
    for name, lines in (("src", sources), ("ref", references), ("good", good), ("short", short)):
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    json_path = tmp_path / "bootstrap.json"
    code = scoring.main(["bootstrap", "--a", f"PGKPR={paths['good']}", "--b",
                         f"Transformer={paths['short']}", "--src", str(paths["src"]), "--refs",
                         str(paths["ref"]), "--samples", "100", "--json", str(json_path)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| metric | PGKPR | Transformer | difference | 95% interval | p (PGKPR <= Transformer) |" in printed
    written = json.loads(json_path.read_text(encoding="utf-8"))
    expected = scoring.score(good, sources, [references])
    first = written["comparisons"][0]
    assert first["metric"] == "bleu4" and first["a"] == pytest.approx(expected["bleu4"])
    assert f"| BLEU-4 | {expected['bleu4']:.2f} |" in printed


def test_cli_names_a_hypothesis_file_of_the_wrong_length(tmp_path, capsys):
    sources, references, good, _, _ = corpus(10)
    for name, lines in (("src", sources), ("ref", references), ("good", good), ("cut", good[:9])):
        (tmp_path / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    code = scoring.main(["bootstrap", "--a", f"A={tmp_path / 'good'}", "--b", f"B={tmp_path / 'cut'}",
                         "--src", str(tmp_path / "src"), "--refs", str(tmp_path / "ref")])
    assert code == 1
    assert str(tmp_path / "cut") in capsys.readouterr().err
