"""Reading a question in its conversation, without a language model. Pure functions.

A question that refers back ("Wie begeleidt die sessie?"), leaves out what it is about ("En over
werk?") or asks to summarise the previous answer ("Kan je dat samenvatten?") cannot be searched alone.
Whether a question does is read from its form, never from corpus words:

* **pointers**: words that point back to something said before: pronouns and demonstratives
  ("die", "dat", "daar", "daarbij", "hem", "ze"; "it", "that", "there"; "cela", "y"). "die" and "dat"
  are also relative pronouns and conjunctions ("kinderen die ..."), so they count only where a
  demonstrative stands: at the end, at the start, after a preposition, a subject pronoun or a question
  word. Elsewhere they are an *ambiguous* pointer.
* **ellipsis**: a question that opens with "En", "And", "Et", "Ook", "What about", ... .
* **length**: a question with three content words or fewer says little on its own.
* **a request to summarise** or repeat the previous answer.

The service combines these with what retrieval says (:mod:`assistant.service`): a question with a clear
pointer or an ellipsis is searched with the previous turn; one with only a weak sign is searched both
ways and keeps the context only when that finds better evidence and the previous turn's passages are
among the nearest to the question; a full question without signs stands alone, so a change of topic
does not drag the old topic along.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text.analysis import STOPWORDS, analyze, fold

# Closed-class words only: pronouns, demonstratives, pronominal adverbs, prepositions, question words.
_POINTERS = frozenset("""
    daar daarbij daarvan daarover daarin daarmee daarna daarvoor daaraan daaruit daarop daartoe daarnaast daarom
    hiervan hierover hierbij hierin hiermee hiervoor hieraan hierna ervan erover erbij erin ermee ervoor eraan
    dezelfde diezelfde datzelfde hetzelfde deze dit
    it its there this these those same
    cela ça ca celui celle ceux celles y la-bas cet cette ces
""".split())
# Personal pronouns point back in a short question ("Welke activiteiten doen ze samen?"); in a longer one
# they usually point at a noun of the same question ("Hoe bereiken steden hun inwoners ...?").
_PERSONAL = frozenset("hem hen hun ze zij hij they them their theirs he she him her il elle ils elles".split())
# Pointers that are also ordinary words elsewhere: they count as a pointer only at the end of a question.
_END_POINTERS = frozenset("het dat die that ce".split())
# Words that are demonstratives only in some places ("die sessie" vs "kinderen die ...").
_AMBIGUOUS = frozenset("die dat that zo so".split())
_PREPOSITIONS = frozenset("""
    over namens vanuit voor in op bij van met uit tijdens rond naar door via aan tot tegen onder na sinds zonder binnen
    about for in on at from of with by during after before to into
    sur pour dans a avec de du des en par chez apres avant pendant vers
""".split())
_SUBJECTS = frozenset("je jij u we wij ze zij jullie ik men you we they i on nous vous".split())
_QUESTION_WORDS = frozenset("""
    wie wat welke welk waar wanneer hoe hoeveel waarom waarmee waarover kan kun mag moet wil
    who what which where when how why can could does do is are
    qui que quel quelle quels quelles ou quand comment pourquoi combien est
""".split())
_DETERMINERS = frozenset("welke welk hoeveel which what whose quel quelle quels quelles combien".split())
_OPENERS = frozenset("en and et ook also aussi maar but mais of or ou plus".split())
_OPENER_PHRASES = re.compile(r"^(?:wat met|hoe zit het met|en wat met|what about|how about|and what about|"
                             r"et pour|et quant a|quant a|et qu'en est-il de)\b")
_SUMMARY = re.compile(r"\b(?:samenvat\w*|vat\b.*\bsamen|samenvatting|kort(?:er)? samen|in het kort|"
                      r"herhaal\w*|nog eens|summar\w*|sum (?:it|that|this) up|in short|repeat|"
                      r"resum\w*|en bref|repete\w*|korter|shorter|plus court)\b")
SHORT_CONTENT_WORDS = 3
_TOKEN = re.compile(r"[\w'’-]+", re.UNICODE)


@dataclass(frozen=True)
class Signals:
    """What the form of a question says about its need for the earlier turns."""

    pointer: bool  # refers back, surely
    ambiguous: bool  # may refer back ("dat", "die" where a relative pronoun could stand)
    elliptic: bool  # opens with "En", "And", "Et", "What about", ...
    summary: bool  # asks to summarise or repeat the previous answer
    content_words: int

    @property
    def strong(self) -> bool:
        return self.pointer or self.elliptic or self.summary

    @property
    def weak(self) -> bool:
        return self.ambiguous or self.content_words <= SHORT_CONTENT_WORDS


def tokens(question: str) -> list[str]:
    return [t.strip("'’-") for t in _TOKEN.findall(fold(question).replace("’", "'")) if t.strip("'’-")]


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOPWORDS and w not in _QUESTION_WORDS and w not in _POINTERS
            and w not in _AMBIGUOUS and w not in _PREPOSITIONS and w not in _OPENERS and len(w) > 1]


def signals(question: str) -> Signals:
    """The signs in ``question`` that it depends on the conversation before it."""
    words = tokens(question)
    if not words:
        return Signals(False, False, False, False, 0)
    text = " ".join(words)
    pointer = ambiguous = False
    short = len(_content(words)) <= SHORT_CONTENT_WORDS
    elliptic = words[0] in _OPENERS or bool(_OPENER_PHRASES.match(text))
    opener = 1 if words[0] in _OPENERS else 0
    for i, w in enumerate(words):
        last = i == len(words) - 1
        before = words[i - 1] if i else ""
        # Questions put the finite verb second ("Wie begeleidt die sessie?"): a "die" right after it, or
        # right after a question word, is a demonstrative, never a relative pronoun. After a question word
        # with a noun ("Welke organisaties die ...") the verb comes a place later.
        lead = words[opener] if len(words) > opener else ""
        verb_at = 2 if lead in _DETERMINERS else 1
        verb_second = lead in _QUESTION_WORDS and (i - opener == verb_at + 1 or (verb_at == 1 and i - opener == 1))
        if w in _POINTERS:
            if w == "there" and before in ("is", "are", "was", "were"):
                continue  # "is there ...": existential, points nowhere
            pointer = True
        elif w in _PERSONAL:
            if short:
                pointer = True
            else:
                ambiguous = True
        elif w in _END_POINTERS and last:
            pointer = True
        elif w in _AMBIGUOUS:
            if w in ("zo", "so"):
                ambiguous = True
            elif last or i == opener or verb_second or before in _PREPOSITIONS or before in _SUBJECTS \
                    or before in _QUESTION_WORDS:
                pointer = True  # "in die sessie", "kan je dat", "loopt dat?"
            else:
                ambiguous = True
    if "est-ce" in text or "qu'est" in text:  # "qu'est-ce que": "ce" is part of the question word
        pointer = pointer and any(w in _POINTERS and w not in ("ce",) for w in words)
    summary = bool(_SUMMARY.search(text)) and len(_content(words)) <= 2
    return Signals(pointer, ambiguous, elliptic, summary, len(_content(words)))


def new_terms(question: str, previous_query: str) -> frozenset[str]:
    """The stems of the content words ``question`` adds to the conversation: "werk" in "En over werk?" after
    a question about onderwijs, "activiteit" in "Welke activiteiten doen ze samen?" after one about a project.
    A sentence the previous answer quoted that holds one of them answers what is new, so it may lead again."""
    return frozenset(analyze(" ".join(_content(tokens(question))))) - frozenset(analyze(previous_query))


_ORDINAL_NUMBERS = {
    **dict.fromkeys(("eerste", "first", "premier", "premiere"), 1),
    **dict.fromkeys(("tweede", "second", "deuxieme", "seconde"), 2),
    **dict.fromkeys(("derde", "third", "troisieme"), 3), **dict.fromkeys(("vierde", "fourth", "quatrieme"), 4),
    **dict.fromkeys(("vijfde", "fifth", "cinquieme"), 5), **dict.fromkeys(("zesde", "sixth", "sixieme"), 6),
    **dict.fromkeys(("zevende", "seventh", "septieme"), 7), **dict.fromkeys(("achtste", "eighth", "huitieme"), 8),
    **dict.fromkeys(("negende", "ninth", "neuvieme"), 9), **dict.fromkeys(("tiende", "tenth", "dixieme"), 10),
}


def ordinal(question: str) -> int | None:
    """The place a follow-up asks for in a numbered list or series the conversation showed: 2 for "En de
    tweede?", "Welke prioriteit komt op de tweede plaats?", "And the fourth?"; None for a question without an
    ordinal or one that does not depend on the conversation."""
    words = tokens(question)
    n = next((_ORDINAL_NUMBERS[w] for w in words if w in _ORDINAL_NUMBERS), None)
    if n is None:
        return None
    own = [w for w in _content(words) if w not in _ORDINAL_NUMBERS]
    return n if signals(question).strong or len(own) <= SHORT_CONTENT_WORDS else None


_ORDINAL_STEMS = frozenset(analyze(" ".join(_ORDINAL_NUMBERS)))


def asks_about_item(question: str, previous_query: str, most: int) -> bool:
    """Whether an ordinal follow-up asks something about the item rather than for the item itself: it adds more
    than ``most`` words of its own besides the ordinal ("Welk voorbeeld uit Mechelen geven ze bij die tweede?",
    not "Welke prioriteit komt op de tweede plaats?")."""
    return len(new_terms(question, previous_query) - _ORDINAL_STEMS) > most


def numbered(text: str, n: int) -> int | None:
    """Where the item numbered ``n`` of a list starts in ``text`` ("- 3 Integratie …", "2) Taalbeleid:",
    "4. Netwerking", or a section that opens with "2" on its own line); None when there is none."""
    m = re.search(rf"(?m)^[ \t]*(?:[-•*][ \t]*)?{n}[ \t]*[.)]?(?:[ \t]+|$)", text)
    return m.end() if m else None


# ---------------------------------------------------------------- completing an ellipsis

_WORD = re.compile(r"\S+")
_ORDINALS = frozenset("""
    eerste tweede derde vierde vijfde zesde zevende achtste negende tiende laatste volgende vorige
    first second third fourth fifth sixth seventh eighth ninth tenth last next previous
    premier premiere deuxieme troisieme quatrieme cinquieme dernier derniere suivant suivante
""".split())


def _bare(token: str) -> str:
    return fold(token.strip(".,;:!?¿¡()\"'«»“”’"))


def _shape(token: str) -> str:
    bare = token.strip(".,;:!?()\"'«»“”’")
    if _bare(bare) in _ORDINALS or bare[:1].isdigit():
        return "ordinal"
    return "name" if bare[:1].isupper() else "word"


def _strip_opener(question: str) -> str:
    text = question.strip().rstrip("?!. ").strip()
    m = _OPENER_PHRASES.match(fold(text))
    if m:
        return text[m.end():].strip()
    first = _WORD.match(text)
    if first and _bare(first.group(0)) in _OPENERS:
        return text[first.end():].strip()
    return text


def asks_anew(question: str) -> bool:
    """Whether an elliptic question goes on with a question of its own ("En wanneer is de lunch?").

    Such a question may be answerable alone, unlike "En over werk?", which only names a new topic.
    """
    if not signals(question).elliptic:
        return False
    words = tokens(_strip_opener(question))
    return bool(words) and words[0] in _QUESTION_WORDS


def complete(question: str, previous: str) -> str | None:
    """An elliptic question completed from the previous one, or None when its form does not allow it.

    "En over werk?" after "Wat zegt het memorandum over onderwijs?" becomes "Wat zegt het memorandum
    over werk?": the phrase that opens with the same preposition or article is replaced. Of several such
    phrases the one whose head has the same shape wins (a name for a name, an ordinal for an ordinal:
    "And the fourth?" replaces "the third", not "the VVSG's").
    """
    if not signals(question).elliptic:
        return None
    rest = _strip_opener(question)
    rest_words = rest.split()
    if not rest_words or len(rest_words) > 6:
        return None
    lead = _bare(rest_words[0])
    if lead not in _PREPOSITIONS and lead not in ("de", "het", "the", "le", "la", "les", "een", "a", "an"):
        return None
    new_head = next((w for w in rest_words[1:] if _bare(w) not in STOPWORDS), rest_words[-1])
    prev = list(_WORD.finditer(previous))
    best: tuple[int, int, int] | None = None  # (score, start index, end index) over word positions
    for i, m in enumerate(prev):
        if _bare(m.group(0)) != lead:
            continue
        j = i + 1
        while j < len(prev) and _bare(prev[j].group(0)) in STOPWORDS:
            j += 1
        if j >= len(prev):
            continue
        head = prev[j].group(0)
        end = j + 1
        # a name runs on over its capitalised words ("de stad Lier", "De Mensen Maken De Stad")
        while end < len(prev) and prev[end - 1].group(0)[-1:].isalnum() and prev[end].group(0)[:1].isupper():
            end += 1
        score = 2 if _shape(head) == _shape(new_head) else 0
        score += 1 if best is None else 0  # the first occurrence wins ties: it names the subject
        if best is None or score > best[0]:
            best = (score, i, end)
    if best is None:
        return None
    _, i, end = best
    start_char = prev[i].start()
    end_char = prev[end - 1].end()
    tail = previous[end_char:]
    trailing = re.match(r"[.,;:!?'’\"]*", previous[prev[end - 1].start():end_char][::-1])
    punct = previous[end_char - len(trailing.group(0)):end_char] if trailing and trailing.group(0) else ""
    return f"{previous[:start_char]}{rest}{punct}{tail}".strip()


def with_context(question: str, previous_query: str, max_chars: int = 600) -> str:
    """The text to search for a follow-up: the previous turn's search, then the question.

    The previous search already holds its own antecedent, so a chain of follow-ups keeps its topic; it
    is cut from the front (whole questions) to stay short.
    """
    parts = [p.strip() for p in re.split(r"(?<=[?!.])\s+", previous_query) if p.strip()]
    while len(parts) > 1 and len(" ".join(parts)) + len(question) > max_chars:
        parts.pop(0)
    joined = " ".join(parts + [question.strip()])
    return joined[-max_chars:] if len(joined) > max_chars else joined
