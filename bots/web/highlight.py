"""Which words of a passage match the question: character spans for highlighting. Pure functions.

Words match on their Dutch stem after folding ("financiële" ~ "financiele", "middelen" ~ "middel"),
and a long stem also matches as the head of a compound ("integratie" in "integratiebeleid").
Spans index the original text, so a front end can cut it into plain-text pieces and never needs HTML.
"""

from __future__ import annotations

import re

from assistant.text.analysis import STOPWORDS, fold, stem

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MIN_PREFIX = 6


def _terms(question: str) -> tuple[set[str], set[str]]:
    """Stems of the question's content words, and the words and stems long enough to head a compound."""
    stems: set[str] = set()
    heads: set[str] = set()
    for match in _WORD.finditer(question):
        word = fold(match.group(0))
        if word not in STOPWORDS and (len(word) > 2 or word.isdigit()):
            stems.add(stem(word))
            heads.update(w for w in (word, stem(word)) if len(w) >= MIN_PREFIX)
    return stems, heads


def highlight_spans(question: str, text: str) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (start, end) spans of ``text`` whose words match a content word of ``question``."""
    stems, heads = _terms(question)
    if not stems:
        return []
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        folded = fold(match.group(0))
        if folded in STOPWORDS or len(folded) < 3 and not folded.isdigit():
            continue
        if stem(folded) in stems or any(folded.startswith(h) for h in heads):
            if spans and spans[-1][1] == match.start():
                spans[-1] = (spans[-1][0], match.end())
            else:
                spans.append((match.start(), match.end()))
    return spans
