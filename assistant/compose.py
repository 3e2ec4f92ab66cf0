"""Turn retrieved passages into a short Dutch answer with [n] markers. Pure functions.

Wegwijzer does not generate text: it quotes the sentences of the best passages that match the
question, so every claim in an answer stands in a cited source.
"""

from __future__ import annotations

import re

from .analysis import analyze
from .messages import t
from .types import Citation

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Ö\"'‘“(])|\n+")
MAX_SENTENCE_CHARS = 320
SHORT_SENTENCE_CHARS = 120


_LIST_MARK = re.compile(r"^(?:[-*•✓–]\s*|o\s+|\d{1,2}[.)]\s*)+")


def best_sentence(question_terms: set[str], text: str) -> str:
    """The sentence of ``text`` that best answers: most question terms, a real sentence over a heading."""
    sentences = [_LIST_MARK.sub("", s.strip()).strip() for s in _SENT.split(text)]
    sentences = [s for s in sentences if len(s) > 2]
    if not sentences:
        return text.strip()[:MAX_SENTENCE_CHARS]
    best_i, best_score = 0, -1.0
    for i, s in enumerate(sentences):
        terms = set(analyze(s))
        score = (len(terms & question_terms)
                 + (1.0 if s.endswith((".", "!", "?", "…")) else 0.0)  # headings and captions are no answer
                 + (0.5 if len(s) > 40 else 0.0)
                 - 0.01 * i)
        if score > best_score:
            best_i, best_score = i, score
    best = sentences[best_i]
    # A short sentence rarely stands alone ("X started with Y."): the next one usually explains it.
    if len(best) < SHORT_SENTENCE_CHARS and best_i + 1 < len(sentences) and best.endswith("."):
        best = f"{best} {sentences[best_i + 1]}"
    if len(best) > MAX_SENTENCE_CHARS:
        best = best[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " …"
    return best


def compose_answer(question: str, citations: list[Citation], found: bool, lang: str = "nl") -> str:
    """A short answer: the best sentence of the top passage, one more from a second source if it adds one."""
    if not found or not citations:
        return t("answer.not_found", lang)
    q_terms = set(analyze(question))
    first = citations[0]
    parts = [f"{t('answer.according_to', lang, title=first.title)} [{first.n}]: {best_sentence(q_terms, first.text)}"]
    if len(citations) > 1:
        second = citations[1]
        sentence = best_sentence(q_terms, second.text)
        if set(analyze(sentence)) & q_terms and second.source != first.source:
            parts.append(f"{sentence} [{second.n}]")
    rest = [f"[{c.n}]" for c in citations[1:] if f"[{c.n}]" not in " ".join(parts)]
    text = "\n".join(parts)
    if rest:
        text += "\n" + t("answer.see_also", lang, refs=", ".join(rest))
    return text
