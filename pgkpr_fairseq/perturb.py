"""The perturbation of paper section 4.1: keyword draws and the two-part input TS_s.

Pure functions, shared by the training data pipeline (on dictionary ids) and by anyone who wants to
look at the perturbation on words (on strings): `two_part` is written once with numpy so that the same
code serves both.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

SEP = "[SEP]"
NOK = "[NOK]"


def pos_token(tag: str) -> str:
    """The dictionary token of a Penn Treebank POS tag: NN -> [NN]."""
    return f"[{tag}]"


def is_pos_token(symbol: str) -> bool:
    """Whether a dictionary symbol is a POS tag token ([NN]), not [SEP] or [NOK]."""
    return len(symbol) > 2 and symbol[0] == "[" and symbol[-1] == "]" and symbol not in (SEP, NOK)


def two_part(words, tags, is_keyword, sep, nok, pinned=None) -> Tuple[np.ndarray, np.ndarray]:
    """TS_s and its reconstruction targets, for words (or word ids) with their POS tokens.

    part 1: keywords kept, every other word replaced by its POS token;
    part 2: the other way round; the two joined by `sep` (length 2l+1).
    Targets: part 1 -> the POS token of every word; `sep` -> itself; part 2 -> the word where it is a
    keyword, else `nok`.
    `pinned` (beyond the paper: words a user asks to keep) are keywords shown as words in both parts,
    a pattern no keyword draw makes: a word shown twice is copied more often (BENCHMARKS.md).
    """
    words, tags = np.asarray(words), np.asarray(tags)
    keep = np.asarray(is_keyword, dtype=bool)
    pinned = np.zeros(len(keep), dtype=bool) if pinned is None else np.asarray(pinned, dtype=bool)
    if not (len(words) == len(tags) == len(keep) == len(pinned)):
        raise ValueError(f"words, tags, keyword and pin flags differ in length: {len(words)}, "
                         f"{len(tags)}, {len(keep)}, {len(pinned)}")
    keep = keep | pinned
    tokens = np.concatenate([np.where(keep, words, tags), [sep], np.where(keep & ~pinned, tags, words)])
    targets = np.concatenate([tags, [sep], np.where(keep, words, nok)])
    return tokens, targets


def two_part_input(
    words: Sequence[str], pos_tags: Sequence[str], is_keyword: Sequence[bool],
    pinned: Optional[Sequence[bool]] = None,
) -> Tuple[List[str], List[str]]:
    """`two_part` on strings: POS tags given bare (NN), written as tokens ([NN])."""
    tokens, targets = two_part(
        list(words), [pos_token(t) for t in pos_tags], is_keyword, SEP, NOK, pinned
    )
    return tokens.tolist(), targets.tolist()


def sentence_with_tags(words, tags, sep):
    """The unperturbed contrastive input of section 4.2: the sentence, `sep`, its POS tokens."""
    return np.concatenate([np.asarray(words), [sep], np.asarray(tags)])


def keyword_mask(
    token_probs: np.ndarray,
    token_words: np.ndarray,
    rng: Optional[np.random.Generator] = None,
    threshold: Optional[float] = None,
) -> np.ndarray:
    """Which tokens are keywords: one decision per word, shared by all of the word's pieces.

    token_words[k] is the index of the word that token k belongs to (0, 0, 1, 2, 2, ...), and
    token_probs[k] that word's keyword probability. With `rng`, one coin per word with that
    probability (training, and `sample` at inference); with `threshold`, a word is a keyword when its
    probability is at least the threshold.
    """
    if (rng is None) == (threshold is None):
        raise ValueError("give exactly one of rng (sample) or threshold")
    token_words = np.asarray(token_words)
    num_words = int(token_words[-1]) + 1 if len(token_words) else 0
    word_probs = np.zeros(num_words)
    word_probs[token_words] = token_probs
    if rng is not None:
        word_is_keyword = rng.random(num_words) < word_probs
    else:
        word_is_keyword = word_probs >= threshold
    return word_is_keyword[token_words]
