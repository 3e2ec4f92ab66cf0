"""Is a written sentence supported by the passage it cites? The check behind every generated answer.

A language model's answer is split into sentences, each carrying ``[n]`` markers. A sentence stays
only if the passages it cites support it, judged with the signals the extractive answer's sentence
evidence is built from (:mod:`assistant.answer.evidence`): the index's sentence vectors, the lexical analyser's
terms with their IDF weights and its loose prefix match, and the facts a sentence states:

* **meaning**: the cosine of the sentence's vector (the index's embedding model) with the cited
  passages' sentence vectors, with pairs of neighbouring sentences (a written sentence often joins two)
  and with the whole passage; the best of these must reach ``MIN_COSINE``;
* **words**: the IDF-weighted share of the sentence's analysed terms found in the cited passages (as
  the lexical index analyses them; a shared six-letter prefix counts, for Dutch word forms) must reach
  ``MIN_OVERLAP``; a word the corpus never uses weighs as much as its rarest word. Answers in English
  or French share few words with Dutch passages, so for them only meaning and facts count;
* **facts**: every number, e-mail address, web address and name in the sentence, and "gratis", must
  occur in the cited passages (a number word also as its digits: "vier" for "4"). These are found
  token by token, not with :func:`assistant.text.facts.facts_in`, because a check needs the exact tokens
  ("Hilde De Pessemier" must match as written), not the kind of fact.

The two thresholds are fitted by ``bench/verify_calibrate.py`` with cross-validation on claims made from
the corpus's sentences and written to ``verify_thresholds.json`` next to this module (see
docs/benchmarks.md); nothing here is tuned to a question. Sentences in English or French meet the Dutch
passages at lower cosines; their threshold (``MIN_COSINE_FOREIGN``) is an estimate from a dozen
hand-translated sentences, not a fit, because the corpus holds no translations to fit it on.

Words and meaning do not see a sentence that says the opposite of its passage with the passage's own
words ("zelden aanwezig" for "regelmatig aanwezig", "ambtenaren" for "inwoners"). So a claim must
also pass the signals of :mod:`assistant.answer.polarity`, measured against the cited passages and against
the passage sentences that match it best (the two nearest by cosine and the one sharing most words):

* **negation**: no negation added to a word the passages state plainly, none dropped from a word the
  best-matching sentences negate, none of a word the passages never use;
* **antonyms**: no word whose opposite, not itself, is what the passages say;
* **roles**: no person, body or level of government the passages do not name where they name others;
* **binding**: a name the claim ties to a role, place or other name is not tied to something else in
  the passages;
* **quantities**: what the claim counts, the passages count with the same number;
* **content**: no single content word the passages lack that is rarer than ``MAX_UNMATCHED`` (the
  IDF of the rarest such word, over the corpus's highest IDF).

Which of these count, and their thresholds, are fitted with the others on the labelled claims of
``bench/questions/verify_claims.jsonl`` by ``bench/verify_calibrate.py`` (nested cross-validation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer.evidence import PREFIX as EVIDENCE_PREFIX
from assistant.answer.polarity import antonym_flips, binding_flips, missing_roles, negation_flips, quantity_flips
from assistant.index.protocol import IndexReader, SentenceRecord
from assistant.model.embedding import Embedder
from assistant.text.analysis import STOPWORDS, fold, words
from assistant.text.sentences import split_sentences

PREFIX = EVIDENCE_PREFIX  # a shared six-letter prefix counts, as in the extractive evidence
THRESHOLDS_PATH = Path(__file__).with_name("verify_thresholds.json")
_fitted = json.loads(THRESHOLDS_PATH.read_text(encoding="utf-8"))
MIN_COSINE = float(_fitted["min_cosine"])
MIN_OVERLAP = float(_fitted["min_overlap"])
MAX_UNMATCHED = float(_fitted.get("max_unmatched", 1.0))
# The meaning signals the fit kept (see bench/verify_calibrate.py): a name here removes the claim when it fires.
CHECKS = frozenset(_fitted.get("checks", ("negation_added", "negation_dropped", "negation_unmentioned", "antonym",
                                          "role", "binding", "quantity")))
MIN_COSINE_FOREIGN = 0.88  # kept 9 of 12 hand-translated English and French sentences of the corpus

# Words a written answer uses to say where a fact comes from, not what it is ("volgens de tekst",
# "de toolkit raadt aan", "het document vermeldt"): not counted as the sentence's content.
SOURCE_WORDS = ("volgens document documenten tekst bron bronnen passage vermeldt vermelden vermeld "
                "zegt stelt beschrijft noemt aangeeft raadt aanbevolen")
# A [n] marker, or several: "[1]", "[1, 2]", "[1][3]".
MARKERS = re.compile(r"\s*\[(\d{1,2}(?:\s*[,;]\s*\d{1,2})*)\]")
_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"(?<![\w@./-])([A-ZÀ-Ý][\w'’&-]*[\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s\])]+", re.I)
_NUMBER_WORDS = {
    "twee": "2", "drie": "3", "vier": "4", "vijf": "5", "zes": "6", "zeven": "7", "acht": "8", "negen": "9",
    "tien": "10", "elf": "11", "twaalf": "12", "twintig": "20", "dertig": "30", "veertig": "40", "vijftig": "50",
    "honderd": "100", "duizend": "1000",
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "fifty": "50", "hundred": "100",
    "deux": "2", "trois": "3", "quatre": "4", "cinq": "5", "sept": "7", "huit": "8", "neuf": "9", "dix": "10",
    "douze": "12", "vingt": "20", "cinquante": "50", "cent": "100",
}
_FREE = ("gratis", "kosteloos", "free of charge", "gratuit", "gratuite")
# Capitalised words that name nothing: sentence openers and function words in the three languages.
_NOT_NAMES = frozenset("""
    de het een in op voor met dit deze die dat er wij we ze zij hij je u ook en of maar als bij van tot na om
    volgens daarnaast daarom verder ten eerst eerste tweede derde zo dan toen waar wie wat welke hoe wanneer
    the a an this these those we they it in on for with also according there he she its their
    le la les un une des du de et en il elle ils elles ce cette selon dans pour avec aussi
""".split())


@dataclass(frozen=True)
class Claim:
    """One sentence of a written answer: its text without markers, and the passage numbers it cites."""

    text: str
    cites: tuple[int, ...]
    marked: str  # the sentence as written, markers included
    line: int  # which line (paragraph) of the answer it stands in


@dataclass(frozen=True)
class Support:
    """The verdict on one claim against the passages it cites."""

    supported: bool
    # "" when supported; else no_citation, unknown_citation, facts, negation, antonym, role, binding,
    # quantity, meaning, words or content
    reason: str
    cosine: float = 0.0
    overlap: float = 0.0
    missing: tuple[str, ...] = ()  # facts of the claim the passages do not hold, or its flipped words


@dataclass(frozen=True)
class Signals:
    """What :class:`Verifier` measures of one claim against its cited passages; :meth:`Verifier.judge` decides."""

    cosine: float
    overlap: float
    facts: tuple[str, ...]  # numbers, names, contacts the passages lack
    opening: str  # the capitalised opening word, if the passages never use it (a name, in Dutch)
    negation_added: int  # claim negates words the passages state plainly
    negation_dropped: int  # claim (without any negator) repeats words the best sentences negate
    negation_unmentioned: int  # claim negates words the passages never use
    antonyms: tuple[str, ...]
    roles: tuple[str, ...]
    binding: tuple[str, ...]  # name ~ thing pairs the claim ties that the passages tie otherwise
    quantities: tuple[str, ...]  # "12 landen" where the passages count "landen" otherwise
    unmatched: float  # IDF of the rarest claim term the passages lack, over the corpus's highest IDF


def claims(text: str) -> list[Claim]:
    """The sentences of a written answer with their markers; a marker that opens a sentence closes the one before."""
    out: list[Claim] = []
    for line_no, line in enumerate(text.splitlines()):
        pending: list[Claim] = []
        for s in split_sentences(line):
            piece = s.text
            lead = re.match(r"^(?:\s*\[\d{1,2}(?:\s*[,;]\s*\d{1,2})*\])+", piece)
            if lead and pending:  # "Zin. [1] Volgende zin." -> "[1]" belongs to "Zin."
                prev = pending[-1]
                numbers = _numbers(lead.group(0))
                pending[-1] = Claim(prev.text, tuple(dict.fromkeys(prev.cites + numbers)),
                                    f"{prev.marked} {lead.group(0).strip()}", line_no)
                piece = piece[lead.end():].strip()
            if not piece or not re.search(r"\w", MARKERS.sub("", piece)):
                continue
            cites = _numbers(" ".join(m.group(0) for m in MARKERS.finditer(piece)))
            bare = " ".join(MARKERS.sub("", piece).split())
            bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
            pending.append(Claim(bare, cites, piece, line_no))
        out.extend(pending)
    return out


def _numbers(markers: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(n) for n in re.findall(r"\d{1,2}", markers)))


def _words(text: str) -> set[str]:
    return set(words(text))


def required_facts(sentence: str) -> list[str]:
    """What must occur in the cited passages for ``sentence`` to be supported: numbers, contacts, names."""
    out: list[str] = []
    for m in _EMAIL.finditer(sentence):
        out.append(m.group(0))
    for m in _URL.finditer(sentence):
        out.append(m.group(0).rstrip(".,;"))
    contact_spans = [m.span() for p in (_EMAIL, _URL) for m in p.finditer(sentence)]

    def in_contact(pos: int) -> bool:
        return any(a <= pos < b for a, b in contact_spans)

    for m in _NUMBER_TOKEN.finditer(sentence):
        if not in_contact(m.start()):
            out.append(m.group(0))
    for w in re.findall(r"[\w]+", fold(sentence)):
        if w in _NUMBER_WORDS:
            out.append(w)
    first = re.match(r"\W*[\w'’&-]+", sentence)
    first_end = first.end() if first else 0
    for m in _CAPITALISED.finditer(sentence):
        word = m.group(1)
        if in_contact(m.start()) or fold(word) in _NOT_NAMES:
            continue
        if m.start() < first_end and not word.isupper():
            continue  # the capital that opens a sentence names nothing
        out.append(word)
    # "free" is an amount too: a sentence that says so needs a passage that does
    folded = fold(sentence)
    out.extend(w for w in _FREE if re.search(rf"\b{w}\b", folded))
    return list(dict.fromkeys(out))


def _present(fact: str, passage_text: str, passage_words: set[str], passage_numbers: set[str]) -> bool:
    folded = fold(fact)
    if folded in _FREE:  # "gratis" in the passage supports "free of charge" in an English answer
        return any(re.search(rf"\b{w}\b", passage_text) for w in _FREE)
    if _NUMBER_TOKEN.fullmatch(fact):
        return fact in passage_numbers or fact.replace(",", ".") in passage_numbers
    if folded in _NUMBER_WORDS:
        return folded in passage_words or _NUMBER_WORDS[folded] in passage_numbers
    if " " in folded or "@" in folded or "." in folded or "/" in folded:
        return folded in passage_text
    if folded in passage_words or folded.replace("’", "'").replace("'", "") in passage_words:
        return True
    if len(folded) >= 5 and any(w.startswith(folded) and len(w) == len(folded) + 1 for w in passage_words):
        return True  # "Brussel" in a passage that writes "Brussels"
    parts = [p for p in re.split(r"[-'’]", folded) if p]  # "NT2-aanbod" for "NT2 aanbod"
    return len(parts) > 1 and all(p in passage_words for p in parts)


class Verifier:
    """Checks claims against passages of one index version with its embedding model."""

    def __init__(self, reader: IndexReader, embedder: Embedder, min_cosine: float = MIN_COSINE,
                 min_overlap: float = MIN_OVERLAP, min_cosine_foreign: float = MIN_COSINE_FOREIGN,
                 max_unmatched: float = MAX_UNMATCHED, checks: frozenset[str] = CHECKS) -> None:
        self.reader = reader
        self.embedder = embedder
        self.min_cosine = min_cosine
        self.min_overlap = min_overlap
        self.min_cosine_foreign = min_cosine_foreign
        self.max_unmatched = max_unmatched
        self.checks = checks
        self._meta: frozenset[str] | None = None

    def check(self, items: Sequence[Claim], passages: dict[int, int], foreign: bool = False) -> list[Support]:
        """A verdict per claim; ``passages`` maps a marker number to the passage id it stands for."""
        vectors = self._embed([c.text for c in items])
        return [self._one(c, v, passages, foreign) for c, v in zip(items, vectors, strict=True)]

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.asarray(self.embedder.embed_passages(texts), dtype=np.float32)

    def _one(self, claim: Claim, vector: np.ndarray, passages: dict[int, int], foreign: bool) -> Support:
        if not claim.cites:
            return Support(False, "no_citation")
        ids = [passages[n] for n in claim.cites if n in passages]
        if not ids or len(ids) < len(claim.cites):
            return Support(False, "unknown_citation")
        return self.judge(self.measure(claim.text, vector, ids), foreign)

    def measure(self, text: str, vector: np.ndarray, passage_ids: list[int]) -> Signals:
        """Every signal of one claim (its text and vector) against the passages it cites."""
        found = self.reader.passages(passage_ids)
        passage = "\n".join(p.text for p in found)
        sentences = self.reader.sentences(passage_ids)
        aligned = self._aligned(text, vector, sentences)
        added, dropped, unmentioned = negation_flips(text, passage, aligned)
        return Signals(cosine=self.cosine(vector, passage_ids), overlap=self.overlap(text, passage_ids),
                       facts=tuple(self.missing_facts(text, passage_ids)), opening=_opening_name(text, passage),
                       negation_added=added,
                       negation_dropped=dropped, negation_unmentioned=unmentioned,
                       antonyms=tuple(antonym_flips(text, passage, aligned)),
                       roles=tuple(missing_roles(text, passage)),
                       binding=tuple(binding_flips(text, [s.text for s in sentences] or [passage])),
                       quantities=tuple(quantity_flips(text, passage)),
                       unmatched=self.unmatched(text, passage_ids))

    def judge(self, s: Signals, foreign: bool = False) -> Support:
        """The verdict: facts first, then what the words say, then how close the meaning and words are."""
        def no(reason: str, missing: tuple[str, ...] = ()) -> Support:
            return Support(False, reason, s.cosine, s.overlap, missing)

        if s.facts:
            return no("facts", s.facts)
        if s.opening and not foreign:  # an English or French opening word is not in a Dutch passage
            return no("facts", (s.opening,))
        if "negation_added" in self.checks and s.negation_added or \
                "negation_dropped" in self.checks and s.negation_dropped or \
                "negation_unmentioned" in self.checks and s.negation_unmentioned:
            return no("negation")
        if "antonym" in self.checks and s.antonyms:
            return no("antonym", s.antonyms)
        if "role" in self.checks and s.roles:
            return no("role", s.roles)
        if "binding" in self.checks and s.binding:
            return no("binding", s.binding)
        if "quantity" in self.checks and s.quantities:
            return no("quantity", s.quantities)
        if s.cosine < (self.min_cosine_foreign if foreign else self.min_cosine):
            return no("meaning")
        if not foreign and s.overlap < self.min_overlap:
            return no("words")
        if not foreign and s.unmatched > self.max_unmatched:
            return no("content")
        return Support(True, "", s.cosine, s.overlap)

    def _aligned(self, text: str, vector: np.ndarray, sentences: Sequence[SentenceRecord]) -> str:
        """The passage sentences a claim most likely restates: the two nearest by cosine, the one sharing most terms."""
        if not sentences:
            return ""
        sv = np.asarray(self.reader.sentence_vectors([s.id for s in sentences]), dtype=np.float32)
        picked = [int(i) for i in np.argsort(-(sv @ vector))[:2]]
        terms = set(self.reader.query_terms(text))
        shared = [len(terms & set(s.terms)) for s in sentences]
        picked.append(int(np.argmax(shared)))
        return "\n".join(sentences[i].text for i in dict.fromkeys(picked))

    def cosine(self, vector: np.ndarray, passage_ids: list[int]) -> float:
        """Best cosine with a sentence, two neighbouring sentences, or a whole cited passage."""
        sentences = self.reader.sentences(passage_ids)
        best = float(np.max(self.reader.passage_vectors(passage_ids) @ vector, initial=-1.0))
        if sentences:
            sv = np.asarray(self.reader.sentence_vectors([s.id for s in sentences]), dtype=np.float32)
            best = max(best, float(np.max(sv @ vector)))
            same = np.array([a.passage_id == b.passage_id for a, b in zip(sentences, sentences[1:], strict=False)])
            if same.any():
                pairs = (sv[:-1] + sv[1:])[same]
                pairs /= np.linalg.norm(pairs, axis=1, keepdims=True) + 1e-9
                best = max(best, float(np.max(pairs @ vector)))
        return best

    def _terms(self, text: str, passage_ids: list[int]) -> tuple[list[str], set[str]]:
        """The sentence's terms that say something (not how it cites: "volgens de toolkit"), and the
        passages' terms, their document titles included (a sentence may name the document it cites)."""
        if self._meta is None:
            self._meta = frozenset(self.reader.query_terms(" ".join(SOURCE_WORDS)))
        terms = [t for t in self.reader.query_terms(text) if t not in self._meta]
        present: set[str] = set().union(*self.reader.passage_terms(passage_ids))
        for p in self.reader.passages(passage_ids):
            present.update(self.reader.query_terms(p.title))
        return terms, present

    def overlap(self, text: str, passage_ids: list[int]) -> float:
        """IDF-weighted share of the sentence's terms in the cited passages (loose prefixes count)."""
        terms, present = self._terms(text, passage_ids)
        if not terms:
            return 1.0
        prefixes = {p[:PREFIX] for p in present if len(p) >= PREFIX}
        idf = self.reader.idf(terms)
        total = found = 0.0
        for term in terms:
            weight = idf.get(term, self.reader.max_idf)
            total += weight
            if term in present or (len(term) >= PREFIX and term[:PREFIX] in prefixes):
                found += weight
        return found / total if total else 1.0

    def unmatched(self, text: str, passage_ids: list[int]) -> float:
        """IDF of the rarest of the sentence's terms that the cited passages lack, over the corpus's highest IDF."""
        terms, present = self._terms(text, passage_ids)
        prefixes = {p[:PREFIX] for p in present if len(p) >= PREFIX}
        idf = self.reader.idf(terms)
        lacking = [idf.get(t, self.reader.max_idf) for t in terms
                   if t not in present and not (len(t) >= PREFIX and t[:PREFIX] in prefixes)]
        return max(lacking, default=0.0) / (self.reader.max_idf or 1.0)

    def missing_facts(self, text: str, passage_ids: list[int]) -> list[str]:
        return missing_facts(self.reader, text, passage_ids)


def _opening_name(text: str, passage: str) -> str:
    """The capitalised word that opens ``text`` if the passage never uses it: a name ("Leuven heeft ..."),
    since a common word that opens a restating sentence nearly always occurs in what it restates."""
    first = re.match(r"\W*([A-ZÀ-Ý][\w'’-]*)", text)
    if not first:
        return ""
    word = fold(first.group(1))
    if len(word) < 4 or word in _NOT_NAMES or word in STOPWORDS:
        return ""
    present = {w[:PREFIX] for w in _words(passage)}
    return "" if word[:PREFIX] in present else first.group(1)


def missing_facts(reader: IndexReader, text: str, passage_ids: Sequence[int]) -> list[str]:
    """The numbers, contacts and names of ``text`` that none of the passages holds."""
    joined = "\n".join(p.text + "\n" + p.section + "\n" + p.title for p in reader.passages(list(passage_ids)))
    folded = " ".join(fold(joined).split())
    present = _words(joined)
    numbers = set(_NUMBER_TOKEN.findall(joined)) | {n.replace(",", ".") for n in _NUMBER_TOKEN.findall(joined)}
    return [f for f in required_facts(text) if not _present(f, folded, present, numbers)]
