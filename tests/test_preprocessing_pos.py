"""POS tags with spaCy: one Penn tag per given word, tagger-only pipeline, clear errors."""
import pytest
import spacy

from pgkpr_fairseq.preprocessing import pos
from pgkpr_fairseq.preprocessing.cli import main
from pgkpr_fairseq.textio import InputError


@pytest.fixture(scope="module")
def nlp():
    return pos.load_tagger()


def test_only_the_tagger_and_its_embeddings_run(nlp):
    assert nlp.pipe_names == ["tok2vec", "tagger"]
    tags = pos.tag_set(nlp)
    assert {"NN", "VB", "PRP", "JJ", "RB", ".", "-LRB-"} <= set(tags)


def test_one_tag_per_word_even_where_spacy_would_split(nlp):
    sentences = [["i", "don't", "like", "u.s.", "politics", "."], ["what's", "the", "best", "phone", "?"],
                 ["i", "do", "n't", "know"], ["i", "don't", "like", "u.s.", "politics", "."]]
    tags = pos.tag_sentences(nlp, sentences, batch_size=2)
    assert [len(t) for t in tags] == [len(s) for s in sentences]
    assert tags[0] == tags[3]
    assert set(pos.tag_set(nlp)) >= {tag for sentence_tags in tags for tag in sentence_tags}
    assert tags[2] == ["PRP", "VBP", "RB", "VB"]
    assert tags[1][-2:] == ["NN", "."]


def test_two_processes_give_the_same_tags(nlp):
    sentences = [["how", "can", "i", "lose", "weight", str(i)] for i in range(20)]
    assert pos.tag_sentences(nlp, sentences, batch_size=4, n_process=2) == pos.tag_sentences(nlp, sentences)


def test_pipeline_without_tagger_is_refused(tmp_path):
    spacy.blank("en").to_disk(tmp_path / "blank")
    with pytest.raises(InputError, match=r"blank' has no tagger"):
        pos.load_tagger(str(tmp_path / "blank"))
    with pytest.raises(InputError, match=r"'no_such_pipeline' cannot be loaded"):
        pos.load_tagger("no_such_pipeline")


def test_pos_command_writes_aligned_files(tmp_path, capsys):
    text = tmp_path / "text"
    text.mkdir()
    (text / "train.src").write_text("how do i learn python\nwhat's u.s. history\n", encoding="utf-8")
    (text / "train.tgt").write_text("how can i study python\nwho won\n", encoding="utf-8")
    assert main(["pos", "--textdir", str(text), "--splits", "train"]) == 0
    for side in ("src", "tgt"):
        words = (text / f"train.{side}").read_text(encoding="utf-8").splitlines()
        tags = (text / f"train.pos.{side}").read_text(encoding="utf-8").splitlines()
        assert [len(t.split()) for t in tags] == [len(w.split()) for w in words]
    (text / "train.tgt").write_text("how can i study python\n\n", encoding="utf-8")
    (text / "train.pos.tgt").unlink()
    assert main(["pos", "--textdir", str(text), "--splits", "train"]) == 1
    assert f"{text / 'train.tgt'}:2: empty line" in capsys.readouterr().err
    assert not (text / "train.pos.tgt").exists()
