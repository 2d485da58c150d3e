import numpy as np
import pytest

from pgkpr_fairseq.perturb import is_pos_token, keyword_mask, two_part, two_part_input

WORDS = "what are good workouts to lose belly fat ?".split()
TAGS = "WDT VBP JJ NNS TO VB NN NN .".split()
KEYWORDS = {"good", "workouts", "lose", "belly", "fat"}


def test_running_example_of_the_paper():
    tokens, targets = two_part_input(WORDS, TAGS, [w in KEYWORDS for w in WORDS])
    assert " ".join(tokens) == (
        "[WDT] [VBP] good workouts [TO] lose belly fat [.] [SEP] "
        "what are [JJ] [NNS] to [VB] [NN] [NN] ?"
    )
    assert " ".join(targets) == (
        "[WDT] [VBP] [JJ] [NNS] [TO] [VB] [NN] [NN] [.] [SEP] "
        "[NOK] [NOK] good workouts [NOK] lose belly fat [NOK]"
    )


def test_no_keywords_and_all_keywords():
    tokens, targets = two_part_input(["a", "cat"], ["DT", "NN"], [False, False])
    assert tokens == ["[DT]", "[NN]", "[SEP]", "a", "cat"]
    assert targets == ["[DT]", "[NN]", "[SEP]", "[NOK]", "[NOK]"]
    tokens, targets = two_part_input(["a", "cat"], ["DT", "NN"], [True, True])
    assert tokens == ["a", "cat", "[SEP]", "[DT]", "[NN]"]
    assert targets == ["[DT]", "[NN]", "[SEP]", "a", "cat"]


def test_ids_and_strings_share_one_implementation():
    tokens, targets = two_part(np.array([10, 11, 12]), np.array([5, 6, 5]), [True, False, True], 1, 2)
    assert tokens.tolist() == [10, 6, 12, 1, 5, 11, 5]
    assert targets.tolist() == [5, 6, 5, 1, 10, 2, 12]


def test_a_pinned_word_is_a_keyword_shown_in_both_parts():
    keywords = [w in {"good", "workouts"} for w in WORDS]
    pinned = [w in {"workouts", "belly"} for w in WORDS]
    tokens, targets = two_part_input(WORDS, TAGS, keywords, pinned)
    assert " ".join(tokens) == (
        "[WDT] [VBP] good workouts [TO] [VB] belly [NN] [.] [SEP] "
        "what are [JJ] workouts to lose belly fat ?"
    )
    # reconstructed as the keywords they are
    assert " ".join(targets[10:]) == "[NOK] [NOK] good workouts [NOK] [NOK] belly [NOK] [NOK]"
    assert two_part_input(WORDS, TAGS, keywords, [False] * len(WORDS)) == two_part_input(WORDS, TAGS, keywords)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in length"):
        two_part_input(["a", "b"], ["DT"], [True, False])


def test_pieces_of_a_word_share_one_coin():
    token_words = np.array([0, 0, 0, 1, 2, 2])
    probs = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    for seed in range(50):
        mask = keyword_mask(probs, token_words, rng=np.random.default_rng(seed))
        assert mask[0] == mask[1] == mask[2] and mask[4] == mask[5]


def test_coin_frequency_follows_probability():
    token_words = np.arange(4)
    probs = np.array([0.0, 0.2, 0.8, 1.0])
    rng = np.random.default_rng(0)
    draws = np.array([keyword_mask(probs, token_words, rng=rng) for _ in range(4000)])
    assert draws[:, 0].sum() == 0 and draws[:, 3].all()
    assert abs(draws[:, 1].mean() - 0.2) < 0.03 and abs(draws[:, 2].mean() - 0.8) < 0.03


def test_threshold_selection():
    mask = keyword_mask(np.array([0.2, 0.5, 0.9]), np.arange(3), threshold=0.5)
    assert mask.tolist() == [False, True, True]
    with pytest.raises(ValueError):
        keyword_mask(np.array([0.2]), np.arange(1))


def test_pos_token_recognition():
    assert is_pos_token("[NN]") and is_pos_token("[.]") and is_pos_token("[-LRB-]")
    assert not is_pos_token("[SEP]") and not is_pos_token("[NOK]") and not is_pos_token("cat")
    assert not is_pos_token("[]")
