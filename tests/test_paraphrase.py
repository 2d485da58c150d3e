"""The Python API (`Paraphraser`) and `pgkpr-paraphrase` on a tiny trained model: raw sentences,
kept words, diverse paraphrases and bad input; and fairseq's --tensorboard-logdir."""
import io
import json
import logging
import math
import os
import shutil

import numpy as np
import pytest

import pgkpr_fairseq.paraphrase as paraphrase_module
from pgkpr_fairseq import Paraphraser
from pgkpr_fairseq.paraphrase_cli import main
from pgkpr_fairseq.precision import cpu_bf16_unsupported_reason
from pgkpr_fairseq.preprocessing.pos import load_tagger, tag_set
from pgkpr_fairseq.preprocessing.record import RECORD_FILE
from pgkpr_fairseq.preprocessing.tokenize import SentenceTokenizer
from pgkpr_fairseq.textio import InputError

from databin import write_data_bin
from test_train_e2e import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder with data/bin, data/text, ck (checkpoints) and tb (tensorboard logs), and the log."""
    folder = tmp_path_factory.mktemp("paraphraser")
    data_bin = write_data_bin(str(folder / "data"), extra_tags=tag_set(load_tagger()))
    code, log = train(data_bin, folder / "ck", "--max-update", "8", "--tensorboard-logdir", folder / "tb")
    assert code == 0, log
    return folder, log


@pytest.fixture(scope="module")
def paraphraser(trained, tiny_classifier):
    return Paraphraser.from_pretrained(str(trained[0] / "ck"), "checkpoint_last.pt",
                                       keyword_model=str(tiny_classifier))


@pytest.fixture(scope="module")
def training_sentences(trained):
    """Cased, untokenized versions of training sources: every word is in the dictionary."""
    lines = (trained[0] / "data" / "text" / "train.src").read_text().splitlines()
    return [line[0].upper() + line[1:-2] + "?" for line in lines[:3]]  # "how ... ?" -> "How ...?"


def words_of(sentence):
    return SentenceTokenizer("moses")(sentence)


def test_tensorboard_logdir_writes_events_without_the_install_notice(trained):
    folder, log = trained
    assert list((folder / "tb").glob("*/events.out.tfevents.*"))
    assert "Please install tensorboardX" not in log


@pytest.mark.skipif(cpu_bf16_unsupported_reason() is not None, reason="no native CPU bf16 here")
def test_bf16_models_annotate_and_decode_in_bf16(trained, tiny_classifier, training_sentences):
    """cpu_bf16 (a model trained with --cpu-bf16 records it): stage one's attribution runs under
    bf16 autocast too, and the paraphrases come out."""
    paraphraser = Paraphraser.from_pretrained(str(trained[0] / "ck"), "checkpoint_last.pt",
                                              keyword_model=str(tiny_classifier), cpu_bf16=True)
    assert paraphraser.task.cfg.cpu_bf16 and paraphraser.task.annotator().scorer.bf16
    results = paraphraser.paraphrase(training_sentences[:2], n=1, beam=2)
    assert [len(paraphrases) for paraphrases in results] == [1, 1]


def test_raw_sentences_give_n_best_first_in_input_order(trained, tiny_classifier, training_sentences):
    # Thresholded keywords do not depend on a sentence's position, so reordering the input must
    # reorder the results and nothing else.
    paraphraser = Paraphraser.from_pretrained(str(trained[0] / "ck"), "checkpoint_last.pt",
                                              keyword_model=str(tiny_classifier), inference_keywords="threshold")
    results = paraphraser.paraphrase(training_sentences, n=2, beam=3)
    assert len(results) == len(training_sentences)
    for sentence, paraphrases in zip(training_sentences, results):
        assert len(paraphrases) == 2
        assert all(math.isfinite(p.score) for p in paraphrases)
        assert [p.score for p in paraphrases] == sorted((p.score for p in paraphrases), reverse=True)
        assert all(p.tokens == p.tokens.lower() and p.text for p in paraphrases)
        assert set(paraphrases[0].keywords) <= set(words_of(sentence))
    backwards = paraphraser.paraphrase(training_sentences[::-1], n=2, beam=3)[::-1]
    for forward, backward in zip(results, backwards):
        assert [(p.tokens, p.keywords) for p in forward] == [(p.tokens, p.keywords) for p in backward]
        assert np.allclose([p.score for p in forward], [p.score for p in backward], atol=1e-4)


def test_kept_word_becomes_a_keyword_and_hard_constraints_put_it_in_the_output(paraphraser, training_sentences):
    sentence = training_sentences[0]
    source = paraphraser.prepare([sentence])[0]
    assert source.probs.min() == 0.0  # min-max normalized: that word is never drawn on its own
    word = source.words[int(source.probs.argmin())]
    unpinned = paraphraser.paraphrase(sentence, n=3, diverse=True)
    assert all(word not in p.keywords for p in unpinned)
    pinned = paraphraser.paraphrase(sentence, n=3, diverse=True, keep=[word.upper()])
    assert pinned and all(word in p.keywords for p in pinned)
    forced = paraphraser.paraphrase(sentence, n=2, keep=[word], hard_constraints=True)
    assert forced and all(word in p.tokens.split() for p in forced)


def test_kept_word_is_shown_in_both_parts_of_ts_s(paraphraser, training_sentences, monkeypatch):
    """Pinned: a keyword, shown as the word in part 2 too, where a keyword's POS tag stands."""
    datasets = []

    def recording_dataset(*args, **kwargs):
        datasets.append(build(*args, **kwargs))
        return datasets[-1]

    build = paraphrase_module.inference_dataset
    monkeypatch.setattr(paraphrase_module, "inference_dataset", recording_dataset)
    sentence = training_sentences[0]
    word = paraphraser.prepare([sentence])[0].words[1]
    for keep in (None, [word]):
        paraphraser.paraphrase(sentence, keep=keep)
    unpinned, pinned = (dataset[0]["source"].tolist() for dataset in datasets)
    word_id, l = paraphraser.src_dict.index(word), (len(pinned) - 2) // 2
    assert pinned[1] == pinned[l + 2] == word_id  # word 1 in part 1 and in part 2
    assert unpinned.count(word_id) == 1
    others = [j for j in range(2 * l + 2) if j not in (1, l + 2)]
    # the other words' coins fall as before
    assert [pinned[j] for j in others] == [unpinned[j] for j in others]


def test_paraphrases_that_keep_the_pinned_words_come_first(paraphraser, training_sentences):
    mixed = 0  # beams where some hypotheses keep the word and some do not: the order matters
    for sentence in training_sentences:
        words = paraphraser.prepare([sentence])[0].words
        for word in words[1:4]:
            paraphrases = paraphraser.paraphrase(sentence, n=5, beam=5, keep=[word])
            keeps = [p.keeps_pinned for p in paraphrases]
            assert keeps == [word in p.tokens.split() for p in paraphrases]
            assert keeps == sorted(keeps, reverse=True)  # keepers first
            mixed += len(set(keeps)) == 2
            for group in (True, False):
                scores = [p.score for p in paraphrases if p.keeps_pinned == group]
                assert scores == sorted(scores, reverse=True)
    assert mixed
    assert all(p.keeps_pinned for p in paraphraser.paraphrase(training_sentences[0], n=3))


def test_occurrences_are_contiguous_runs():
    assert paraphrase_module.occurrences([5, 6, 7, 6, 7], [6, 7]) == [1, 3]
    assert paraphrase_module.occurrences([5], [5]) == [0]
    assert not paraphrase_module.occurrences([6, 5, 7], [6, 7]) and not paraphrase_module.occurrences([6], [6, 7])
    assert not paraphrase_module.occurrences(["a", "b"], [])


def test_kept_word_missing_from_a_sentence_is_warned_about(paraphraser, training_sentences, caplog):
    with caplog.at_level(logging.WARNING):
        results = paraphraser.paraphrase(training_sentences[:2], keep=[["paris"], []])
    assert all(len(paraphrases) == 1 for paraphrases in results)
    assert "'paris' in sentence" in caplog.text and "not pinned" in caplog.text


def test_diverse_decodes_one_keyword_draw_per_paraphrase(paraphraser, training_sentences, monkeypatch):
    masks = []

    def recording_dataset(*args, **kwargs):
        dataset = build(*args, **kwargs)
        masks.append(dataset.keyword_mask(0).tolist())
        return dataset

    build = paraphrase_module.inference_dataset
    monkeypatch.setattr(paraphrase_module, "inference_dataset", recording_dataset)
    paraphrases = paraphraser.paraphrase(training_sentences[0], n=6, diverse=True)
    assert len(masks) == 6 and len({tuple(mask) for mask in masks}) > 1
    assert 1 <= len(paraphrases) <= 6
    assert len({p.tokens for p in paraphrases}) == len(paraphrases)
    assert [p.score for p in paraphrases] == sorted((p.score for p in paraphrases), reverse=True)


def test_bad_sentences_are_warned_about_and_answered(paraphraser, training_sentences, caplog):
    long_sentence = " ".join(["Please tell me"] * 10) + " " + training_sentences[0]
    german = "Wie kann ich schnell Python lernen, bitte?"
    with caplog.at_level(logging.WARNING):
        results = paraphraser.paraphrase(["", "   ", long_sentence, german, training_sentences[1]])
    assert results[0] == results[1] == []
    assert all(len(paraphrases) == 1 for paraphrases in results[2:])
    assert caplog.text.count("is empty: skipped") == 2
    assert "longer than the 17 words" in caplog.text and "'Please tell me" in caplog.text
    assert "mostly words the model does not know" in caplog.text and "'Wie kann" in caplog.text


def test_folders_without_what_is_needed_are_named(trained, tiny_classifier, tmp_path):
    folder, _ = trained
    with pytest.raises(InputError, match="no such model folder"):
        Paraphraser.from_pretrained(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="no checkpoint_best.pt and no other checkpoint"):
        Paraphraser.from_pretrained(str(tmp_path))
    (tmp_path / "ck").mkdir()
    shutil.copy(folder / "ck" / "checkpoint_last.pt", tmp_path / "ck")
    with pytest.raises(InputError, match=r"no checkpoint_best.pt \(it has checkpoint_last.pt"):
        Paraphraser.from_pretrained(str(tmp_path / "ck"))
    with pytest.raises(InputError, match="no stage-one classifier recorded"):
        Paraphraser.from_pretrained(str(tmp_path / "ck"), "checkpoint_last.pt")
    shutil.copytree(folder / "data" / "bin", tmp_path / "bin")
    os.remove(tmp_path / "bin" / RECORD_FILE)
    with pytest.raises(InputError, match="does not say how its text was tokenized"):
        Paraphraser.from_pretrained(str(tmp_path / "ck"), "checkpoint_last.pt", data=str(tmp_path / "bin"),
                                    keyword_model=str(tiny_classifier))


def test_command_line_jsonl_from_a_file_and_tsv_from_stdin(trained, tiny_classifier, training_sentences,
                                                          tmp_path, capsys, monkeypatch):
    model = ["--model", str(trained[0] / "ck"), "--checkpoint", "checkpoint_last.pt",
             "--keyword-model", str(tiny_classifier)]
    sentences = [training_sentences[0], "", training_sentences[1]]
    (tmp_path / "in.txt").write_text("".join(s + "\n" for s in sentences))
    output = tmp_path / "out.jsonl"
    assert main([str(tmp_path / "in.txt"), *model, "-n", "2", "--format", "jsonl", "--output", str(output),
                 "--keep", "rice, new york"]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(row["line"], row["source"]) for row in rows] == list(enumerate(sentences, 1))
    assert [len(row["paraphrases"]) for row in rows] == [2, 0, 2]
    assert set(rows[0]["paraphrases"][0]) == {"text", "tokens", "score", "keywords", "keeps_pinned"}

    monkeypatch.setattr("sys.stdin", io.StringIO("".join(s + "\n" for s in sentences)))
    assert main([*model, "--diverse", "-n", "2"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert {row[0] for row in rows} == {"1", "3"} and all(len(row) == 5 for row in rows)
    assert all(set(row[4].split()) <= set(words_of(sentences[int(row[0]) - 1])) for row in rows)


def test_command_line_bad_model_folder_is_one_line(tmp_path, capsys):
    assert main(["--model", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("pgkpr-paraphrase: error:") and "\n" not in err and "Traceback" not in err
