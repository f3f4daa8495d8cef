"""Split long texts into overlapping passages so nothing is lost to a model's length limit."""

from __future__ import annotations

import re

_WORD = re.compile(r"\S+")


def chunk_text(text: str, max_words: int = 120, overlap: int = 30) -> list[str]:
    """Return passages of at most ``max_words`` words, each sharing ``overlap`` with the last.

    Word windows rather than sentences: simple, language-independent, and bounded, which is
    what matters for models that truncate (MiniLM stops at 256 tokens).
    """
    if overlap >= max_words:
        raise ValueError("overlap must be smaller than max_words")
    words = _WORD.findall(text)
    if len(words) <= max_words:
        return [" ".join(words)] if words else []
    step = max_words - overlap
    chunks = []
    for start in range(0, len(words), step):
        chunks.append(" ".join(words[start : start + max_words]))
        if start + max_words >= len(words):
            break
    return chunks
