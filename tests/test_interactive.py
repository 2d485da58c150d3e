"""fairseq-interactive on plain sentences: the task tags and scores them itself (--keyword-model)."""
import os
import subprocess

import pytest
from fairseq.data import Dictionary

from pgkpr_fairseq.annotate import group_pieces
from pgkpr_fairseq.preprocessing.pos import load_tagger, tag_sentences, tag_set

from databin import write_data_bin
from test_train_e2e import BIN, USER_DIR, train


def test_group_pieces():
    assert group_pieces(["how", "are", "you"]) == (["how", "are", "you"], [0, 1, 2])
    assert group_pieces(["\u2581wor", "k", "outs", "\u2581to", "\u2581lose"]) == (
        ["workouts", "to", "lose"], [0, 0, 0, 1, 2])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """(data-bin, checkpoint): a tiny PGKPR model trained for two updates on a data-bin whose
    dictionary holds spaCy's tags."""
    folder = tmp_path_factory.mktemp("model")
    data_bin = write_data_bin(str(folder / "data"), extra_tags=tag_set(load_tagger()))
    code, log = train(data_bin, folder / "ck", "--max-update", "2")
    assert code == 0, log
    return data_bin, str(folder / "ck" / "checkpoint_last.pt")


def interactive(model, lines, *extra):
    data_bin, checkpoint = model
    command = [os.path.join(BIN, "fairseq-interactive"), data_bin, "--user-dir", USER_DIR,
               "--task", "pgkpr", "--path", checkpoint, "--cpu", "--beam", "2", "--max-len-b", "10",
               *extra]
    return subprocess.run(command, input="".join(line + "\n" for line in lines), capture_output=True,
                          text=True, timeout=300)


def outputs(stdout, kind):
    """{sentence id: text} of fairseq-interactive's lines of one kind (S, H, D)."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith(f"{kind}-"):
            number, *fields = line.split("\t")
            found[int(number[len(kind) + 1:])] = fields[-1]
    return found


@pytest.mark.slow
def test_interactive_paraphrases_plain_sentences(tiny_model, tiny_classifier):
    sentences = ["how can i learn python ?", "what are good ways to cook rice ?"]
    result = interactive(tiny_model, sentences, "--keyword-model", str(tiny_classifier))
    assert result.returncode == 0, result.stderr
    hypotheses = [line for line in result.stdout.splitlines() if line.startswith("H-")]
    assert [h.split("\t")[0] for h in hypotheses] == ["H-0", "H-1"]

    missing = interactive(tiny_model, sentences)
    assert missing.returncode != 0 and "needs --keyword-model" in missing.stderr


UNKNOWN_WORDS = "how can i cook pasta in paris ?"


@pytest.fixture(scope="module")
def typed_input_run(tiny_model, tiny_classifier):
    """fairseq-interactive on a line with out-of-vocabulary words, two blank lines and a plain one."""
    lines = [UNKNOWN_WORDS, "", "   ", "how can i learn python ?"]
    result = interactive(tiny_model, lines, "--keyword-model", str(tiny_classifier))
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_interactive_tags_unknown_words_as_typed(typed_input_run, tiny_model):
    # TS_s: position j of part 1 and of part 2 hold word j and its tag, one each (which one depends
    # on the keyword draw); the tag must be that of the word as typed, not of <unk>.
    words = UNKNOWN_WORDS.split()
    dictionary = Dictionary.load(os.path.join(tiny_model[0], "dict.src.txt"))
    assert any(dictionary.index(w) == dictionary.unk() for w in words)
    tags = tag_sentences(load_tagger(), [words])[0]
    ts = outputs(typed_input_run.stdout, "S")[0].split()
    part1, part2 = ts[:len(words)], ts[len(words) + 1:]
    assert ts[len(words)] == "[SEP]" and len(part2) == len(words)
    for j, word in enumerate(words):
        assert sorted([part1[j], part2[j]]) == sorted([dictionary[dictionary.index(word)], f"[{tags[j]}]"])


@pytest.mark.slow
def test_interactive_skips_blank_lines_with_an_empty_result(typed_input_run):
    paraphrases = outputs(typed_input_run.stdout, "D")
    assert sorted(paraphrases) == [0, 1, 2, 3]
    assert paraphrases[1] == paraphrases[2] == ""
    assert paraphrases[0] and paraphrases[3]
    assert (typed_input_run.stdout + typed_input_run.stderr).count("is empty: skipped") == 2


@pytest.mark.slow
def test_interactive_cuts_an_overlong_line_and_goes_on(tiny_model, tiny_classifier):
    words = "how can i learn python quickly".split()
    overlong = " ".join(words[i % len(words)] for i in range(600))  # TS_s: 1201 tokens > 1024
    result = interactive(tiny_model, [overlong, "how can i learn python ?"],
                         "--keyword-model", str(tiny_classifier))
    assert result.returncode == 0, result.stderr
    assert sorted(outputs(result.stdout, "D")) == [0, 1]
    assert "has 600 tokens, more than the model's positions allow" in result.stdout + result.stderr
    assert len(outputs(result.stdout, "S")[0].split()) <= 1024 - 1


@pytest.mark.slow
def test_interactive_takes_lexical_constraints(tiny_model, tiny_classifier):
    sentence = "how can i learn python ?"
    dictionary = Dictionary.load(os.path.join(tiny_model[0], "dict.src.txt"))
    required = next(w for w in dictionary.symbols[dictionary.nspecial:] if w.isalpha() and w not in sentence)
    result = interactive(tiny_model, [f"{sentence}\t{required}"], "--keyword-model", str(tiny_classifier),
                         "--constraints")
    assert result.returncode == 0, result.stderr
    assert required in outputs(result.stdout, "D")[0].split()
