"""Text analysis for the lexical index, tuned for Dutch.

Folding (lower case, accents off), a Dutch Snowball stemmer, stop words, and compound splitting
against the corpus vocabulary ("correspondentietesten" -> "correspondentie" + "testen"), because
Dutch glues words together where English would write them apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)

# Dutch function words plus the most common English and French ones, so that a question in any of
# the three languages is not matched on "the", "de" or "les".
STOPWORDS = frozenset(
    """
    aan al alle alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een eens en er
    ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in is ja je jij jou jouw jullie
    kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat onder ons ook op over
    reeds te tegen toch toen tot u uit uw van veel voor want waren was wat we wel welk welke werd wezen wie wij
    wil worden wordt zal ze zelf zich zij zijn zo zonder zou zouden waar wanneer waarom hoeveel sinds kunt
    zit zitten gaat gaan word hoort onze ons daarvan hierbij
    a an and are as at be by can do does for from has have how i if in into is it its of on or that the their
    there these they this to was were what when where which who whom why will with you your did
    au aux avec ce ces dans de des du elle en et est il ils je la le les leur lui mais me même mes moi
    ne nos notre nous on ou par pas pour qu que quel quelle quelles quels qui sa se ses son sont sur ta te
    tes toi ton tu un une vos votre vous y d l s c n est-ce
    """.split()
)

# Snowball's "dutch_porter" (the original Dutch Porter stemmer) with two spelling rules in front, not
# Snowball's newer "dutch": that one conflates words it should keep apart (gemeente -> "meen", gezin and
# zin -> "zin", begeleiding and beleid -> "beleid"). Plain dutch_porter misses two regular Dutch endings
# that questions and documents use interchangeably, so "+nl" adds them: a plural in -ies loses its s
# (acties -> actie, organisaties -> organisatie) and a verb in -dt loses its t (begeleidt -> begeleid).
# Measured against both Snowball variants on the question sets by bench/stemmers.py (docs/benchmarks.md).
DEFAULT_STEMMER = "dutch_porter+nl"
# What an index records about the analyser that built its lexical side; a query must use the same.
ANALYZER_VERSION = 2
_stemmers: dict[str, Stemmer.Stemmer] = {}

# Function words that tell the three languages of our users apart in a short question.
_LANGUAGE_MARKERS = {
    "nl": frozenset("de het een van voor wat wie hoe welke waar wanneer waarom zijn is er met op ons onze wij we "
                    "kan kunnen moet bij naar ook niet hoeveel welk geeft".split()),
    "en": frozenset("the a an of for what who how which where when why is are do does can with on our we to "
                    "in by get and".split()),
    "fr": frozenset("le la les un une des du de pour que qui quoi quel quelle quels quelles comment où "
                    "quand est sont avec sur nous en au aux qu est-ce".split()),
}


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table that works out each character's folding once, on first sight."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Lower-case and strip accents: 'financiële' -> 'financiele', 'Gaëlle' -> 'gaelle'.

    Passages and their sentences are folded again for every question that retrieves them, so both the
    per-character work and whole texts are cached.
    """
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def words(text: str) -> list[str]:
    """Folded word tokens; hyphenated words yield the whole and its parts."""
    out: list[str] = []
    for match in _WORD.finditer(fold(text)):
        token = match.group(0)
        if "-" in token or "'" in token:
            parts = [p for p in re.split(r"[-']", token) if p]
            out.append(token.replace("'", ""))
            out.extend(parts)
        else:
            out.append(token)
    return out


def analyzer_config(stemmer: str = DEFAULT_STEMMER) -> dict[str, object]:
    """The analyser's identity, as stored in an index manifest."""
    return {"name": "nl-folded-stemmed-decompounded", "version": ANALYZER_VERSION, "stemmer": stemmer}


def _dutch_endings(word: str) -> str:
    """The two spelling rules of ``+nl`` (see DEFAULT_STEMMER)."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-1]
    if len(word) > 4 and word.endswith("dt"):
        return word[:-1]
    return word


@lru_cache(maxsize=400_000)
def stem(word: str, stemmer: str = DEFAULT_STEMMER) -> str:
    """Snowball stem of a folded word (Dutch by default); ``name+nl`` applies the Dutch ending rules first."""
    name, _, rules = stemmer.partition("+")
    if rules == "nl":
        word = _dutch_endings(word)
    algo = _stemmers.get(name)
    if algo is None:
        algo = _stemmers[name] = Stemmer.Stemmer(name)
    return str(algo.stemWord(word))


def detect_language(text: str) -> str:
    """'nl', 'en' or 'fr' by function-word counts; Dutch wins ties (it is the corpus language)."""
    tokens = re.findall(r"[^\W\d_]+", fold(text))
    counts = {lang: sum(1 for w in tokens if w in markers) for lang, markers in _LANGUAGE_MARKERS.items()}
    best = max(counts, key=lambda k: (counts[k], k == "nl"))
    return best if counts[best] > counts["nl"] else "nl"


def content_words(text: str) -> list[str]:
    """Folded tokens without stop words or one-letter noise."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


class Decompounder:
    """Splits Dutch compounds into two known parts, using the vocabulary of the corpus itself.

    A split is accepted when both parts are known words of at least four letters, optionally joined
    by the linking morphemes 's' or 'en' ("arbeidsmarkt" -> "arbeid" + "markt").
    """

    MIN_PART = 4
    LINKS = ("", "s", "en", "e")

    def __init__(self, vocabulary: Iterable[str], stemmer: str = DEFAULT_STEMMER) -> None:
        self.vocabulary = frozenset(w for w in vocabulary if len(w) >= self.MIN_PART)
        self.stemmer = stemmer

    def split(self, word: str) -> list[str]:
        if len(word) < 2 * self.MIN_PART or not word.isalpha():
            return []
        best: list[str] = []
        for i in range(self.MIN_PART, len(word) - self.MIN_PART + 1):
            head, tail = word[:i], word[i:]
            if tail not in self.vocabulary and stem(tail, self.stemmer) not in self.vocabulary:
                continue
            for link in self.LINKS:
                if link and not head.endswith(link):
                    continue
                base = head[: len(head) - len(link)] if link else head
                if len(base) >= self.MIN_PART and (base in self.vocabulary or
                                                   stem(base, self.stemmer) in self.vocabulary):
                    candidate = [base, tail]
                    # prefer the split with the longest tail: heads are more often modifiers
                    if not best or len(tail) > len(best[1]):
                        best = candidate
                    break
        return best


def analyze(text: str, decompounder: Decompounder | None = None, stemmer: str | None = None) -> list[str]:
    """Index/query terms: stems of content words, plus stems of compound parts."""
    algo = stemmer or (decompounder.stemmer if decompounder is not None else DEFAULT_STEMMER)
    terms: list[str] = []
    for w in content_words(text):
        terms.append(stem(w, algo))
        if decompounder is not None:
            for part in decompounder.split(w):
                if part not in STOPWORDS:
                    terms.append(stem(part, algo))
    return terms
