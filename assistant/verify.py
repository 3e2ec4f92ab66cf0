"""Is a written sentence supported by the passage it cites? The check behind every generated answer.

A language model's answer is split into sentences, each carrying ``[n]`` markers. A sentence stays
only if the passages it cites support it, judged with the signals the extractive answer's sentence
evidence is built from (:mod:`assistant.evidence`): the index's sentence vectors, the lexical analyser's
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
  token by token, not with :func:`assistant.facts.facts_in`, because a check needs the exact tokens
  ("Hilde De Pessemier" must match as written), not the kind of fact.

The two thresholds are fitted by ``bench/verify_calibrate.py`` with cross-validation on claims made from
the corpus's sentences and written to ``verify_thresholds.json`` next to this module (see
docs/benchmarks.md); nothing here is tuned to a question. Sentences in English or French meet the Dutch
passages at lower cosines; their threshold (``MIN_COSINE_FOREIGN``) is an estimate from a dozen
hand-translated sentences, not a fit, because the corpus holds no translations to fit it on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .analysis import fold, words
from .embedding import Embedder
from .evidence import PREFIX as EVIDENCE_PREFIX
from .index.protocol import IndexReader
from .sentences import split_sentences

PREFIX = EVIDENCE_PREFIX  # a shared six-letter prefix counts, as in the extractive evidence
THRESHOLDS_PATH = Path(__file__).with_name("verify_thresholds.json")
_fitted = json.loads(THRESHOLDS_PATH.read_text(encoding="utf-8"))
MIN_COSINE = float(_fitted["min_cosine"])
MIN_OVERLAP = float(_fitted["min_overlap"])
MIN_COSINE_FOREIGN = 0.88  # kept 9 of 12 hand-translated English and French sentences of the corpus

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
    reason: str  # "" when supported; else no_citation, unknown_citation, meaning, words or facts
    cosine: float = 0.0
    overlap: float = 0.0
    missing: tuple[str, ...] = ()  # facts of the claim the passages do not hold


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
    parts = [p for p in re.split(r"[-'’]", folded) if p]  # "NT2-aanbod" for "NT2 aanbod"
    return len(parts) > 1 and all(p in passage_words for p in parts)


class Verifier:
    """Checks claims against passages of one index version with its embedding model."""

    def __init__(self, reader: IndexReader, embedder: Embedder, min_cosine: float = MIN_COSINE,
                 min_overlap: float = MIN_OVERLAP, min_cosine_foreign: float = MIN_COSINE_FOREIGN) -> None:
        self.reader = reader
        self.embedder = embedder
        self.min_cosine = min_cosine
        self.min_overlap = min_overlap
        self.min_cosine_foreign = min_cosine_foreign

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
        cosine = self.cosine(vector, ids)
        overlap = self.overlap(claim.text, ids)
        missing = self.missing_facts(claim.text, ids)
        if missing:
            return Support(False, "facts", cosine, overlap, tuple(missing))
        if cosine < (self.min_cosine_foreign if foreign else self.min_cosine):
            return Support(False, "meaning", cosine, overlap)
        if not foreign and overlap < self.min_overlap:
            return Support(False, "words", cosine, overlap)
        return Support(True, "", cosine, overlap)

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

    def overlap(self, text: str, passage_ids: list[int]) -> float:
        """IDF-weighted share of the sentence's terms in the cited passages (loose prefixes count)."""
        terms = self.reader.query_terms(text)
        if not terms:
            return 1.0
        present: set[str] = set().union(*self.reader.passage_terms(passage_ids))
        prefixes = {p[:PREFIX] for p in present if len(p) >= PREFIX}
        idf = self.reader.idf(terms)
        total = found = 0.0
        for term in terms:
            weight = idf.get(term, self.reader.max_idf)
            total += weight
            if term in present or (len(term) >= PREFIX and term[:PREFIX] in prefixes):
                found += weight
        return found / total if total else 1.0

    def missing_facts(self, text: str, passage_ids: list[int]) -> list[str]:
        return missing_facts(self.reader, text, passage_ids)


def missing_facts(reader: IndexReader, text: str, passage_ids: Sequence[int]) -> list[str]:
    """The numbers, contacts and names of ``text`` that none of the passages holds."""
    joined = "\n".join(p.text + "\n" + p.section + "\n" + p.title for p in reader.passages(list(passage_ids)))
    folded = " ".join(fold(joined).split())
    present = _words(joined)
    numbers = set(_NUMBER_TOKEN.findall(joined)) | {n.replace(",", ".") for n in _NUMBER_TOKEN.findall(joined)}
    return [f for f in required_facts(text) if not _present(f, folded, present, numbers)]
