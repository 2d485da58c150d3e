"""Sentence tokenization: Moses (sacremoses) or plain whitespace, then lowercasing and truncation."""
from typing import List, Optional

from sacremoses import MosesTokenizer

METHODS = ("moses", "space")


class SentenceTokenizer:
    """Raw text to the words of the text layout: tokenized, lowercased, at most `max_len` words.

    `space` only splits on whitespace, for text that is already tokenized: Moses is not idempotent
    (it splits an already separated "n't" again, into "n ' t").
    """

    def __init__(self, method: str = "moses", max_len: Optional[int] = None, lang: str = "en"):
        if method not in METHODS:
            raise ValueError(f"unknown tokenizer {method!r}; choose one of {', '.join(METHODS)}")
        self.moses = MosesTokenizer(lang=lang) if method == "moses" else None
        self.max_len = max_len

    def __call__(self, text: str) -> List[str]:
        text = " ".join(text.split())  # every Unicode space or line break becomes one plain space
        words = self.moses.tokenize(text, escape=False) if self.moses else text.split()
        # Lowercase after Moses: its rules (nonbreaking prefixes such as "Mr.") depend on case.
        words = [word.lower() for word in words]
        return words[: self.max_len] if self.max_len else words
