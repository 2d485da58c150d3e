"""Stage one (pgkpr_fairseq.keywords): examples, fine-tuning, attribution, files, plot, bad input.

A tiny randomly initialized BERT (hidden 32, 2 layers, a vocabulary written here) keeps this fast;
the real MiniLM is exercised in test_keywords_minilm.py.
"""
import random
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizer, T5Config

from pgkpr_fairseq.keywords import cli
from pgkpr_fairseq.keywords.attribution import (
    KeywordScorer,
    normalize_word_scores,
    partial_path,
    pool_pieces_to_words,
    shard_range,
)
from pgkpr_fairseq.keywords.classifier import load_classifier
from pgkpr_fairseq.keywords.examples import PairExample, build_examples, split_held_out
from pgkpr_fairseq.keywords.plot import count_families, pos_family, sample_keyword_tags
from pgkpr_fairseq.keywords.train import TrainingOptions, fine_tune, save_classifier
from pgkpr_fairseq.precision import cpu_bf16_unsupported_reason
from pgkpr_fairseq.textio import InputError, read_lines

FILLERS = "the a cat dog sat on mat red blue big small house tree run".split()
KEYWORD = "magic"  # the tiny classifier's label depends on this word only
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *FILLERS, KEYWORD, "walk", "##ing", "##s"]


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def random_sentence(rng, with_keyword):
    words = [rng.choice(FILLERS) for _ in range(rng.randint(4, 9))]
    if with_keyword:
        words.insert(rng.randrange(len(words) + 1), KEYWORD)
    return " ".join(words)


def run_cli(argv, capsys):
    """(exit code, stdout, stderr) of `pgkpr-keywords argv`."""
    try:
        code = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model is faster on one thread, and other jobs may share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A folder with a randomly initialized tiny BERT classifier (no dropout) and its WordPiece vocab."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    write_lines(folder / "vocab.txt", VOCAB)
    BertTokenizer(vocab=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def keyword_classifier(tiny_bert, tmp_path_factory):
    """The tiny BERT fine-tuned so that "paraphrase" means "the first sentence holds KEYWORD"."""
    rng = random.Random(0)
    examples = []
    for index in range(240):
        sentence = random_sentence(rng, with_keyword=index % 2 == 0)
        examples.append(PairExample(index, sentence, sentence, int(index % 2 == 0)))
    model, tokenizer = load_classifier(tiny_bert, fine_tuned=False)
    fine_tune(model, tokenizer, examples, TrainingOptions(epochs=5, learning_rate=1e-3, batch_size=16), False)
    folder = tmp_path_factory.mktemp("tuned") / "classifier"
    save_classifier(model, tokenizer, folder)
    return folder


@pytest.fixture(scope="module")
def scorer(keyword_classifier):
    model, tokenizer = load_classifier(keyword_classifier, fine_tuned=True)
    return KeywordScorer(model, tokenizer, batch_size=8)


# ---- the 4N examples -------------------------------------------------------------------------------


def make_pairs(count):
    return [f"source {i}" for i in range(count)], [f"target {i}" for i in range(count)]


def test_build_examples_counts_positives_and_negatives():
    sources, targets = make_pairs(10)
    examples = build_examples(sources, targets, seed=3)
    assert len(examples) == 40
    assert sum(example.label for example in examples) == 20
    for i in range(10):
        own = [example for example in examples if example.pair_index == i]
        assert all(example.first == sources[i] for example in own)
        assert {(example.second, example.label) for example in own if example.label} == {(targets[i], 1), (sources[i], 1)}
        negatives = [example.second for example in own if not example.label]
        assert len(negatives) == 2 and len(set(negatives)) == 2  # j1 != j2
        assert targets[i] not in negatives and all(negative in targets for negative in negatives)


def test_build_examples_is_seeded_and_subsets():
    sources, targets = make_pairs(50)
    assert build_examples(sources, targets, seed=7) == build_examples(sources, targets, seed=7)
    assert build_examples(sources, targets, seed=7) != build_examples(sources, targets, seed=8)
    subset = build_examples(sources, targets, seed=7, count=30)
    assert len(subset) == 30 and subset == build_examples(sources, targets, seed=7, count=30)
    assert set(subset) <= set(build_examples(sources, targets, seed=7))


def test_build_examples_small_and_duplicate_data():
    sources, targets = make_pairs(3)
    for example in build_examples(sources, targets, seed=0):
        if not example.label:  # with 3 pairs the negatives are exactly the two other targets
            assert example.second in targets and example.second != targets[example.pair_index]
    with pytest.raises(ValueError, match="at least 3"):
        build_examples(*make_pairs(2), seed=0)
    # Repeated questions: a negative must never be a copy of the pair's own target or source.
    sources = ["how are you", "how are you", "what is this", "where is it", "who is he"]
    targets = ["how do you do", "how do you do", "what's this", "how are you", "who's he"]
    for seed in range(20):
        for example in build_examples(sources, targets, seed=seed):
            if not example.label:
                assert example.second not in (targets[example.pair_index], sources[example.pair_index])
    with pytest.raises(ValueError, match="pair 1"):
        build_examples(["a", "b", "c"], ["x", "x", "y"], seed=0)


def test_split_held_out_keeps_pairs_whole():
    sources, targets = make_pairs(40)
    training, held_out = split_held_out(build_examples(sources, targets, seed=0), 0.25, seed=0)
    assert len(held_out) == 40 and len(training) == 120
    assert not {e.pair_index for e in training} & {e.pair_index for e in held_out}


# ---- pooling and normalization ---------------------------------------------------------------------


def test_pool_pieces_to_words_averages_and_marks_missing():
    pooled = pool_pieces_to_words(np.array([1.0, 2.0, 4.0, 6.0]), [0, 0, 2, 2], word_count=4)
    assert pooled[0] == 1.5 and pooled[2] == 5.0
    assert np.isnan(pooled[1]) and np.isnan(pooled[3])


def test_normalize_word_scores():
    probabilities = normalize_word_scores(np.array([2.0, 4.0, 3.0, np.nan]))
    np.testing.assert_allclose(probabilities, [0.0, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(normalize_word_scores(np.array([0.7, 0.7, 0.7])), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(normalize_word_scores(np.array([0.0, 0.0])), [1.0, 1.0])
    np.testing.assert_array_equal(normalize_word_scores(np.array([3.0])), [1.0])
    np.testing.assert_array_equal(normalize_word_scores(np.array([np.nan, np.nan])), [0.0, 0.0])


# ---- attribution -----------------------------------------------------------------------------------


def test_the_decisive_word_gets_the_top_score(scorer):
    rng = random.Random(1)
    sentences = [random_sentence(rng, with_keyword=True) for _ in range(20)]
    for sentence, probabilities in zip(sentences, scorer.score(sentences)):
        words = sentence.split(" ")
        assert len(probabilities) == len(words)
        assert words[int(np.argmax(probabilities))] == KEYWORD, (sentence, probabilities)
        assert probabilities.min() == 0.0 and probabilities.max() == 1.0


def test_batched_scores_equal_one_at_a_time(scorer):
    rng = random.Random(2)
    sentences = [random_sentence(rng, with_keyword=rng.random() < 0.5) for _ in range(21)]
    model, tokenizer = scorer.model, scorer.tokenizer
    batched = KeywordScorer(model, tokenizer, batch_size=64).score(sentences)
    single = KeywordScorer(model, tokenizer, batch_size=1).score(sentences)
    for batched_values, single_values in zip(batched, single):
        np.testing.assert_allclose(batched_values, single_values, atol=1e-5)


@pytest.mark.skipif(cpu_bf16_unsupported_reason() is not None, reason="no native bf16 on this CPU")
def test_bf16_scores_rank_words_like_float32(scorer):
    rng = random.Random(5)
    sentences = [random_sentence(rng, with_keyword=True) for _ in range(12)]
    model, tokenizer = scorer.model, scorer.tokenizer
    exact = KeywordScorer(model, tokenizer, batch_size=8).score(sentences)
    bf16 = KeywordScorer(model, tokenizer, batch_size=8, bf16=True).score(sentences)
    assert not all(np.array_equal(a, b) for a, b in zip(exact, bf16))  # bf16 did run
    for sentence, exact_values, bf16_values in zip(sentences, exact, bf16):
        words = sentence.split(" ")
        assert words[int(np.argmax(bf16_values))] == KEYWORD
        assert np.abs(exact_values - bf16_values).max() < 0.1


def test_every_word_gets_a_value_even_without_pieces(scorer):
    # "walking" is two pieces, "\x07" has none; a double space makes no word.
    sentences = ["walking cats \x07 magic", "magic", "the  cat magic"]
    scored = scorer.score(sentences)
    assert [len(values) for values in scored] == [4, 1, 3]
    assert scored[0][2] == 0.0
    assert scored[1][0] == 1.0  # a one-word sentence ties with itself


def test_over_long_inputs_cut_the_partner_first(scorer):
    short_limit = KeywordScorer(scorer.model, scorer.tokenizer, max_length=16)
    ten_words = "the cat sat on the mat magic red big tree"
    twenty_words = " ".join([ten_words] * 2)
    ten, twenty = short_limit.score([ten_words, twenty_words])
    assert len(ten) == 10 and len(twenty) == 20
    assert np.count_nonzero(ten) >= 9  # all ten source words fit: only the copy was cut
    assert np.all(twenty[12:] == 0.0) and twenty[:12].max() == 1.0  # 16 - 3 special - 1 partner piece


def test_ref_mode_scores_source_words_against_the_target(scorer):
    sources = ["the cat sat magic", "red dog on mat magic"]
    targets = ["a big house", "magic tree"]
    same = scorer.score(sources, partners=sources)
    for self_values, ref_values in zip(scorer.score(sources), same):
        np.testing.assert_allclose(self_values, ref_values, atol=1e-6)
    against_targets = scorer.score(sources, partners=targets)
    assert [len(values) for values in against_targets] == [4, 5]
    assert not np.allclose(np.concatenate(against_targets), np.concatenate(same))


# ---- the command line: score, shards, resume -------------------------------------------------------


@pytest.fixture
def source_file(tmp_path):
    rng = random.Random(3)
    return write_lines(tmp_path / "train.src", [random_sentence(rng, rng.random() < 0.5) for _ in range(23)])


def test_cli_score_writes_aligned_probabilities(keyword_classifier, source_file, tmp_path, capsys):
    output = tmp_path / "train.kwprob"
    code, out, _ = run_cli(["score", "--model", keyword_classifier, "--src", source_file, "--output", output], capsys)
    assert code == 0 and "23 sentences" in out
    lines = read_lines(output)
    for line, sentence in zip(lines, read_lines(source_file)):
        values = [float(value) for value in line.split(" ")]
        assert len(values) == len(sentence.split(" ")) and min(values) >= 0.0 and max(values) == 1.0
    assert not partial_path(output).exists()
    limited = tmp_path / "first.kwprob"
    run_cli(["score", "--model", keyword_classifier, "--src", source_file, "--output", limited, "--limit", 4], capsys)
    assert len(read_lines(limited)) == 4


def test_score_writes_one_value_per_word_of_an_irregularly_spaced_line(keyword_classifier, tmp_path, capsys):
    """Words are split on white space, as the preparation steps and fairseq's binarizer split them."""
    source = write_lines(tmp_path / "spaced.src", ["the magic cat ", "a  dog\tsat"])
    output = tmp_path / "spaced.kwprob"
    code, _, err = run_cli(["score", "--model", keyword_classifier, "--src", source, "--output", output], capsys)
    assert code == 0, err
    assert [len(line.split()) for line in read_lines(output)] == [3, 3]


def test_shards_merge_and_resume_reproduce_the_whole(keyword_classifier, source_file, tmp_path, capsys):
    common = ["score", "--model", keyword_classifier, "--src", source_file, "--batch-size", 1, "--no-progress"]
    whole = tmp_path / "whole"
    run_cli([*common, "--output", whole], capsys)
    shards = [tmp_path / f"shard{index}" for index in range(3)]
    for index, shard in enumerate(shards):
        assert run_cli([*common, "--output", shard, "--shard", f"{index}/3"], capsys)[0] == 0
    assert [len(read_lines(shard)) for shard in shards] == [len(shard_range(23, i, 3)) for i in range(3)]
    merged = tmp_path / "merged"
    assert run_cli(["merge", "--src", source_file, "--output", merged, *shards], capsys)[0] == 0
    assert merged.read_text() == whole.read_text()

    resumed = tmp_path / "resumed"
    first_lines = whole.read_text().splitlines(keepends=True)[:5]
    partial_path(resumed).write_text("".join(first_lines) + "0.1234 0.5")  # an interrupted run's torn line
    assert run_cli([*common, "--output", resumed, "--resume"], capsys)[0] == 0
    assert resumed.read_text() == whole.read_text()


# ---- the command line: train -----------------------------------------------------------------------


def test_cli_train_saves_a_usable_classifier(tiny_bert, tmp_path, capsys):
    rng = random.Random(4)
    sources = [random_sentence(rng, False) for _ in range(12)]
    targets = [random_sentence(rng, False) for _ in range(12)]
    src, tgt = write_lines(tmp_path / "a.src", sources), write_lines(tmp_path / "a.tgt", targets)
    output = tmp_path / "tuned"
    code, out, _ = run_cli(
        ["train", "--model", tiny_bert, "--src", src, "--tgt", tgt, "--output", output, "--examples", 40,
         "--held-out", 0.25, "--freeze-word-embeddings", "--no-progress",
         *(["--bf16"] if cpu_bf16_unsupported_reason() is None else [])], capsys,
    )
    assert code == 0 and "held-out accuracy" in out
    assert (output / "model.safetensors").is_file() and (output / "tokenizer.json").is_file()
    embedding = "bert.embeddings.word_embeddings.weight"
    torch.testing.assert_close(load_file(output / "model.safetensors")[embedding],
                               load_file(tiny_bert / "model.safetensors")[embedding])
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no temporary left
    load_classifier(output, fine_tuned=True)
    code, _, err = run_cli(["train", "--model", tiny_bert, "--src", src, "--tgt", tgt, "--output", output], capsys)
    assert code == 1 and "already exists" in err


# ---- bad input: one clear line naming the file and line, nothing under the final name -------------


def assert_refused(argv, capsys, output, *expected):
    code, _, err = run_cli(argv, capsys)
    assert code == 1, err
    assert err.startswith("pgkpr-keywords: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert str(text) in err, err
    assert not output.exists() and not partial_path(output).exists()


def test_bad_model_folders(tiny_bert, source_file, tmp_path, capsys):
    output = tmp_path / "out"
    score = ["score", "--src", source_file, "--output", output, "--model"]
    missing = tmp_path / "nowhere"
    assert_refused([*score, missing], capsys, output, missing, "not found")
    no_config = tmp_path / "no_config"
    no_config.mkdir()
    assert_refused([*score, no_config], capsys, output, no_config, "no config.json")
    t5 = tmp_path / "t5"
    T5Config(d_model=8, d_ff=8, num_layers=1, num_heads=1, vocab_size=20).save_pretrained(t5)
    assert_refused([*score, t5], capsys, output, t5, "not a BERT-style encoder")
    untrained = tmp_path / "untrained"
    BertTokenizer(vocab=str(tiny_bert / "vocab.txt")).save_pretrained(untrained)
    BertModel(BertConfig.from_pretrained(tiny_bert)).save_pretrained(untrained)  # no classification head
    assert_refused([*score, untrained], capsys, output, untrained, "pgkpr-keywords train")
    src, tgt = write_lines(tmp_path / "p.src", ["a b", "c d", "e f"]), write_lines(tmp_path / "p.tgt", ["x", "y", "z"])
    trained = tmp_path / "trained"
    assert_refused(["train", "--model", t5, "--src", src, "--tgt", tgt, "--output", trained], capsys, trained, t5)


def test_only_safetensors_weights_are_read(tiny_bert, source_file, tmp_path, capsys):
    """A pytorch_model.bin is a pickle, which can run code when it is loaded."""
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_bert, pickled)
    (pickled / "model.safetensors").unlink()
    torch.save(load_file(tiny_bert / "model.safetensors"), pickled / "pytorch_model.bin")
    output = tmp_path / "out"
    score = ["score", "--src", source_file, "--output", output, "--model"]
    assert_refused([*score, pickled], capsys, output, f"{pickled}: the weights are pytorch_model.bin, a pickle")
    (pickled / "pytorch_model.bin").unlink()
    assert_refused([*score, pickled], capsys, output, f"{pickled}: no model.safetensors")


def test_bad_text_files(keyword_classifier, tmp_path, capsys):
    output = tmp_path / "out"
    score = ["score", "--model", keyword_classifier, "--output", output, "--src"]
    empty_line = write_lines(tmp_path / "empty.src", ["the cat", "", "a dog"])
    assert_refused([*score, empty_line], capsys, output, f"{empty_line}:2: empty line")
    invalid = tmp_path / "latin1.src"
    invalid.write_bytes(b"the cat\nthe dog\ncaf\xe9 au lait\n")
    assert_refused([*score, invalid], capsys, output, f"{invalid}:3: invalid UTF-8")
    src = write_lines(tmp_path / "a.src", ["the cat", "a dog", "the mat"])
    short_tgt = write_lines(tmp_path / "a.tgt", ["the cat", "a dog"])
    too_short = f"{short_tgt}:3: 2 lines, but {src} has 3"
    assert_refused([*score, src, "--mode", "ref", "--tgt", short_tgt], capsys, output, too_short)
    trained = tmp_path / "trained"
    assert_refused(["train", "--src", src, "--tgt", short_tgt, "--output", trained], capsys, trained, too_short)


def test_bad_probability_files(tmp_path, capsys):
    src = write_lines(tmp_path / "s.src", ["the cat sat", "a dog"])
    pos = write_lines(tmp_path / "s.pos", ["DT NN VBD", "DT NN"])
    png = tmp_path / "chart.png"
    plot = ["plot", "--src", src, "--pos", pos, "--output", png, "--probs"]
    wrong_count = write_lines(tmp_path / "count.prob", ["0.1 0.2 0.3", "0.5 0.5 0.5"])
    assert_refused([*plot, wrong_count], capsys, png, f"{wrong_count}:2: 3 values for the 2 words of {src}:2")
    too_few_lines = write_lines(tmp_path / "lines.prob", ["0.1 0.2 0.3"])
    assert_refused([*plot, too_few_lines], capsys, png, f"{too_few_lines}:2: 1 lines, but {src} has 2")
    out_of_range = write_lines(tmp_path / "range.prob", ["0.1 1.5 0.3", "0.5 0.5"])
    assert_refused([*plot, out_of_range], capsys, png, f"{out_of_range}:1: bad value")
    shard = write_lines(tmp_path / "shard0", ["0.1 0.2 0.3"])
    merged = tmp_path / "merged"
    assert_refused(["merge", "--src", src, "--output", merged, shard], capsys, merged, shard, "lines 1-2")


def test_read_lines_accepts_crlf_and_missing_final_newline(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one two\r\nthree\r\nfour")
    assert read_lines(path) == ["one two", "three", "four"]
    with pytest.raises(InputError, match="no such file"):
        read_lines(tmp_path / "absent.txt")


# ---- the keyword POS plot --------------------------------------------------------------------------


def test_pos_families():
    assert [pos_family(tag) for tag in ["NNPS", "CD", "JJR", "PRP$", "RBS", "VBZ", "WRB", "WP", "DT"]] == [
        "NN", "JJ", "JJ", "PRP", "RB", "VB", None, None, None,
    ]


def test_plot_counts_a_hand_made_case_and_writes_a_png(tmp_path, capsys):
    # Probabilities 0 or 1 make every coin certain, so the counts are exact.
    sentences = ["what is the best way to lose fat ?", "i ran 5 miles quickly", "she sings"]
    tags = ["WP VBZ DT JJS NN TO VB NN .", "PRP VBD CD NNS RB", "PRP VBZ"]
    probabilities = ["1 1 0 1 1 0 1 1 1", "0 1 1 1 1", "0.0 0.0"]
    assert count_families(
        sample_keyword_tags([t.split() for t in tags], [[float(p) for p in line.split()] for line in probabilities], 0)
    ) == {"NN": 3, "JJ": 2, "PRP": 0, "RB": 1, "VB": 3}
    src = write_lines(tmp_path / "s.src", sentences)
    pos = write_lines(tmp_path / "s.pos", tags)
    probs = write_lines(tmp_path / "s.prob", probabilities)
    png = tmp_path / "figure.png"
    code, out, _ = run_cli(["plot", "--src", src, "--pos", pos, "--probs", probs, "--output", png], capsys)
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "NN\t3" in out and "JJ\t2" in out and "VB\t3" in out and "PRP\t0" in out and "RB\t1" in out
    code, out, _ = run_cli(["plot", "--src", src, "--pos", pos, "--probs", probs, "--output", png, "--limit", 1], capsys)
    assert "NN\t2" in out and "VB\t2" in out and "RB\t0" in out
