"""Verify the labelled question sets in this folder against the corpus as the indexer reads it.

Checks, for every file:

* each line is a JSON object with the schema of ``../shared/eval/dev.jsonl`` (``id, lang, kind, question,
  gold``), or for the multi-turn files (``followups.jsonl``, ``train_followups.jsonl``, ``test_followups.jsonl``)
  ``id, lang, kind, turns: [{question, gold}, ...]``;
* ids are unique across all files and carry the file's prefix (ta, tf, tn, tm, to, sa, sf, sn, sm, so, f, tc, sc);
* kinds and gold fit the file: answerable files have ``lookup``/``paraphrase`` (Dutch) or ``crosslingual``
  (English, French) and at least one gold string; near-miss and off-topic files have ``unanswerable`` and
  no gold;
* every gold string occurs, after collapsing whitespace and casefolding (the rule of
  ``assistant.evaluation``), in the reading text of at least one passage: the corpus loaded with
  ``ingest.loaders.load_document`` and cut with ``ingest.chunking.chunk_pages``, so Markdown markup is
  gone exactly as in the index.

Flags (to be fixed, not errors of form):

* a gold string found in more than ``WEAK_PASSAGES`` passages is weak: a citation containing it need
  not answer the question;
* a gold string of more than ``LONG_GOLD_WORDS`` words is long (gold should name the fact, not quote
  the paragraph);
* two questions whose word sets have a Jaccard similarity above ``NEAR_DUP`` are near-duplicates, within
  our files (train against test above all) and against the shared dev sets and
  ``bench/extra_questions.jsonl``;
* a gold string of a held-out (``test_*``, ``test_followups.jsonl`` included) file that contains, or is
  contained in, a gold string of a set used for tuning (our ``train_*`` files, ``train_followups.jsonl`` included,
  ``followups.jsonl``, the shared dev set,
  ``bench/extra_questions.jsonl``) is a leak: the held-out fact was asked during tuning. Pairs known to
  be different facts despite the overlap are listed in ``DISTINCT_FACTS``.

It also prints how the questions of each file spread over question words (hoeveel, wanneer, wie, waar,
welke, ...), so the balance between answerable and unanswerable sets stays visible.

    python bench/questions/check.py [-q]

Exit status 0 when there is nothing to report, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere; the packages live in the repository root
    sys.path.insert(0, str(REPO))

CORPUS = REPO / "corpus"
REFERENCE_SETS = (
    REPO.parent / "shared" / "eval" / "dev.jsonl",
    REPO.parent / "shared" / "eval" / "dev_nearmiss.jsonl",
    REPO / "bench" / "extra_questions.jsonl",
)

# file name -> (id prefix, answerable?)
QUESTION_FILES = {
    "train_answerable.jsonl": ("ta", True),
    "train_answerable_facts.jsonl": ("tf", True),
    "train_nearmiss.jsonl": ("tn", False),
    "train_nearmiss_names.jsonl": ("tm", False),
    "train_offtopic.jsonl": ("to", False),
    "test_answerable.jsonl": ("sa", True),
    "test_answerable_facts.jsonl": ("sf", True),
    "test_nearmiss.jsonl": ("sn", False),
    "test_nearmiss_names.jsonl": ("sm", False),
    "test_offtopic.jsonl": ("so", False),
}
# multi-turn file name -> id prefix; test_followups.jsonl is held out like the other test_* files,
# train_followups.jsonl is for tuning follow-up handling like followups.jsonl
FOLLOWUP_FILES = {
    "followups.jsonl": "f",
    "train_followups.jsonl": "tc",
    "test_followups.jsonl": "sc",
}
LANGS = {"nl", "en", "fr"}
# (held-out id, tuning id) whose gold strings overlap although they ask different facts.
DISTINCT_FACTS = {
    ("sa32", "d14"): "the website www.migrationwork.org, not the name of the consultancy MigrationWork",
    ("sf13", "d21"): "on which other market Ghent and Mechelen test, not how to test landlords",
    ("sf14", "x09"): "where bridge-figure programmes arise, not how schools and welfare organisations cooperate",
}
# First matching pattern names the question word; order matters ("hoeveel kost" before "hoeveel", "welke
# functie" before "welke"). Persons, functions and organisations count as "wie", numbered actions as
# "welk nummer". A rough listing for balance, not a check.
QUESTION_WORDS = (
    ("hoeveel kost/bedrag", r"\b(hoeveel kost|welk bedrag|how much|combien co[uû]t|quel (est le )?montant)"),
    ("hoeveel", r"\b(hoeveel|how many|combien)\b"),
    ("wanneer/hoe laat", r"\b(wanneer|hoe laat|hoe lang|welke? (jaar|datum|dag)|when|what time|until when|"
                         r"since when|(what|which) (year|date|day)|quand|jusqu'[àa] quand|depuis quand|"
                         r"[àa] quelle heure|quel jour|en quelle ann[ée]e)\b"),
    ("contact", r"(e-?mail|telefoon|phone|t[ée]l[ée]phone|website|site web|contacteren|contactperso|"
                r"personnes? de contact|social media)"),
    ("welk nummer", r"(actienummer|welk nummer|action number|quel num[ée]ro|welke acties? van het plan)"),
    ("waar", r"\b(waar|(in|voor) welke (stad|gemeente|straat|zaal|regio)|welke stad|op welk adres|welk gebouw|"
             r"where|at which address|(in )?which (city|room|regions?)|o[uù]|dans quelle (ville|salle))\b"),
    ("wie", r"\b(wie|wiens|door wie|who|qui)\b|\b(welke?|which|quelle) (organisatie|organisation|functie|vereniging|"
            r"medewerker|projectmanager|onderzoekster|research centre|agentschap|est la fonction)|"
            r"van welke vereniging|met welk agentschap"),
    ("welke/which", r"\b(welke?|which|quel(le)?s?)\b"),
    ("hoe/how", r"\b(hoe|how|comment)\b"),
    ("wat/what", r"\b(wat|waarop|what|qu'est-ce|que)\b"),
    ("waarom, ja/nee", r"^(waarom|why|pourquoi|moet|moeten|kan|kunnen|is|zijn|bestaan|est-ce)\b"),
)
WEAK_PASSAGES = 2
LONG_GOLD_WORDS = 10
NEAR_DUP = 0.6


def norm(text: str) -> str:
    """Whitespace collapsed and casefolded, as ``assistant.evaluation`` compares gold with citations."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", text.casefold()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def question_word(question: str) -> str:
    """The kind of question by its question word, for the balance listing (not a check)."""
    q = question.casefold()
    for label, pattern in QUESTION_WORDS:
        if re.search(pattern, q):
            return label
    return "other"


@dataclass(frozen=True)
class Passage:
    source: str
    index: int
    text: str  # normalised reading text

    @property
    def label(self) -> str:
        return f"{self.source}[{self.index}]"


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def corpus_passages() -> list[Passage]:
    """Every passage of the shipped corpus, with the text the index stores for it."""
    from ingest.chunking import chunk_pages
    from ingest.loaders import discover, load_document

    files, _skipped = discover(CORPUS)
    out: list[Passage] = []
    for path, source in files:
        doc = load_document(path, source)
        for i, chunk in enumerate(chunk_pages(doc.pages)):
            out.append(Passage(source, i, norm(chunk.text)))
    return out


def read_jsonl(path: Path, report: Report) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            report.errors.append(f"{path.name}:{n}: not JSON ({exc})")
            continue
        if not isinstance(row, dict):
            report.errors.append(f"{path.name}:{n}: not a JSON object")
            continue
        rows.append(row)
    return rows


def _gold_list(where: str, gold: Any, want_gold: bool, report: Report) -> list[str]:
    if not isinstance(gold, list) or not all(isinstance(g, str) and g.strip() for g in gold):
        report.errors.append(f"{where}: gold must be a list of non-empty strings")
        return []
    if want_gold and not gold:
        report.errors.append(f"{where}: answerable but no gold")
    if not want_gold and gold:
        report.errors.append(f"{where}: unanswerable but has gold {gold}")
    return list(gold)


def check_question_row(name: str, row: dict[str, Any], prefix: str, answerable: bool, report: Report) -> None:
    rid = row.get("id", "?")
    where = f"{name} {rid}"
    if set(row) != {"id", "lang", "kind", "question", "gold"}:
        report.errors.append(f"{where}: keys {sorted(row)} != id, lang, kind, question, gold")
    if not (isinstance(rid, str) and re.fullmatch(rf"{prefix}\d{{2,3}}", rid)):
        report.errors.append(f"{where}: id must be '{prefix}' + digits")
    lang, kind = row.get("lang"), row.get("kind")
    if lang not in LANGS:
        report.errors.append(f"{where}: lang {lang!r} not in {sorted(LANGS)}")
    if answerable:
        allowed = {"lookup", "paraphrase"} if lang == "nl" else {"crosslingual"}
    else:
        allowed = {"unanswerable"}
    if kind not in allowed:
        report.errors.append(f"{where}: kind {kind!r} not allowed here (expected one of {sorted(allowed)})")
    if not (isinstance(row.get("question"), str) and row["question"].strip()):
        report.errors.append(f"{where}: empty question")
    _gold_list(where, row.get("gold"), answerable, report)


def check_followup_row(name: str, row: dict[str, Any], prefix: str, report: Report) -> None:
    rid = row.get("id", "?")
    where = f"{name} {rid}"
    if set(row) != {"id", "lang", "kind", "turns"}:
        report.errors.append(f"{where}: keys {sorted(row)} != id, lang, kind, turns")
    if not (isinstance(rid, str) and re.fullmatch(rf"{prefix}\d{{2,3}}", rid)):
        report.errors.append(f"{where}: id must be '{prefix}' + digits")
    if row.get("lang") not in LANGS:
        report.errors.append(f"{where}: lang {row.get('lang')!r} not in {sorted(LANGS)}")
    if row.get("kind") not in ("followup", "topic_change"):
        report.errors.append(f"{where}: kind must be followup or topic_change")
    turns = row.get("turns")
    if not isinstance(turns, list) or not 2 <= len(turns) <= 3:
        report.errors.append(f"{where}: turns must be a list of two or three turns")
        return
    for t, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict) or set(turn) != {"question", "gold"}:
            report.errors.append(f"{where} turn {t}: keys must be question, gold")
            continue
        if not (isinstance(turn["question"], str) and turn["question"].strip()):
            report.errors.append(f"{where} turn {t}: empty question")
        _gold_list(f"{where} turn {t}", turn["gold"], True, report)


@dataclass(frozen=True)
class Item:
    """One question (or one turn) with where it comes from, for the gold and duplicate checks."""

    label: str
    file: str
    question: str
    gold: tuple[str, ...]


def items_of(name: str, rows: list[dict[str, Any]]) -> list[Item]:
    out = []
    for row in rows:
        if name in FOLLOWUP_FILES:
            for t, turn in enumerate(row.get("turns") or [], start=1):
                if isinstance(turn, dict):
                    out.append(Item(f"{row.get('id')}/{t}", name, str(turn.get("question", "")),
                                    tuple(turn.get("gold") or ())))
        else:
            out.append(Item(str(row.get("id")), name, str(row.get("question", "")), tuple(row.get("gold") or ())))
    return out


def check_gold(items: list[Item], passages: list[Passage], report: Report) -> Counter[str]:
    """Locate every gold string; returns, per document, how many questions have gold in it."""
    per_doc: Counter[str] = Counter()
    for item in items:
        docs_of_item: set[str] = set()
        for gold in item.gold:
            hits = [p for p in passages if norm(gold) in p.text]
            docs = sorted({p.source for p in hits})
            docs_of_item.update(docs)
            report.lines.append(f"  {item.label:<8} {gold!r} -> "
                                + (", ".join(p.label for p in hits) if hits else "NOT FOUND"))
            if not hits:
                report.errors.append(f"{item.file} {item.label}: gold {gold!r} is in no passage")
            elif len(hits) > WEAK_PASSAGES:
                report.flags.append(f"WEAK {item.label}: gold {gold!r} is in {len(hits)} passages "
                                    f"({', '.join(p.label for p in hits)})")
            if len(gold.split()) > LONG_GOLD_WORDS:
                report.flags.append(f"LONG {item.label}: gold {gold!r} has {len(gold.split())} words")
        for doc in docs_of_item:
            per_doc[doc] += 1
    return per_doc


def check_near_duplicates(ours: list[Item], reference: list[Item], report: Report) -> None:
    bags = [(item, words(item.question)) for item in ours]
    for (a, wa), (b, wb) in combinations(bags, 2):
        if a.label.split("/")[0] == b.label.split("/")[0]:
            continue  # turns of one conversation may repeat each other's words
        score = jaccard(wa, wb)
        if score > NEAR_DUP:
            report.flags.append(f"NEAR-DUP {a.label} ~ {b.label} (Jaccard {score:.2f}): "
                                f"{a.question!r} / {b.question!r}")
    for item, wa in bags:
        for ref in reference:
            score = jaccard(wa, words(ref.question))
            if score > NEAR_DUP:
                report.flags.append(f"NEAR-DUP {item.label} ~ {ref.file}:{ref.label} (Jaccard {score:.2f}): "
                                    f"{item.question!r} / {ref.question!r}")
            elif norm(item.question) == norm(ref.question):
                report.flags.append(f"COPY {item.label} = {ref.file}:{ref.label}")


def is_held_out(item: Item) -> bool:
    """Whether the question belongs to a held-out set (run only for the final report)."""
    return item.file.startswith("test_")


def check_leaks(ours: list[Item], reference: list[Item], report: Report) -> None:
    """Flag held-out gold that overlaps gold of a set used for tuning (the fact was already asked there)."""
    tuning = [item for item in ours if not is_held_out(item)] + reference
    for item in filter(is_held_out, ours):
        for gold in item.gold:
            g = norm(gold)
            for other in tuning:
                if (item.label, other.label.split("/")[0]) in DISTINCT_FACTS:
                    continue
                for other_gold in other.gold:
                    h = norm(other_gold)
                    if g in h or h in g:
                        report.flags.append(f"LEAK {item.label}: gold {gold!r} overlaps {other.file}:{other.label} "
                                            f"gold {other_gold!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="leave out the per-gold listing")
    args = parser.parse_args(argv)

    report = Report()
    passages = corpus_passages()
    ours: list[Item] = []
    seen_ids: dict[str, str] = {}
    counts: list[str] = []
    for name in [*QUESTION_FILES, *FOLLOWUP_FILES]:
        path = HERE / name
        if not path.exists():
            report.errors.append(f"{name}: missing")
            continue
        rows = read_jsonl(path, report)
        for row in rows:
            if name in FOLLOWUP_FILES:
                check_followup_row(name, row, FOLLOWUP_FILES[name], report)
            else:
                prefix, answerable = QUESTION_FILES[name]
                check_question_row(name, row, prefix, answerable, report)
            rid = str(row.get("id"))
            if rid in seen_ids:
                report.errors.append(f"{name} {rid}: id also used in {seen_ids[rid]}")
            seen_ids[rid] = name
        langs = Counter(str(r.get("lang")) for r in rows)
        kinds = Counter(str(r.get("kind")) for r in rows)
        turns = Counter(len(r.get("turns") or []) for r in rows) if name in FOLLOWUP_FILES else None
        words_of_file = Counter(question_word(str(r.get("question", ""))) for r in rows
                                if name not in FOLLOWUP_FILES)
        counts.append(f"  {name:<30} {len(rows):>3}  "
                      + " ".join(f"{k} {v}" for k, v in sorted(langs.items())) + "  |  "
                      + " ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
                      + ("  |  " + " ".join(f"{k} turns: {v}" for k, v in sorted(turns.items())) if turns else "")
                      + ("\n  " + " " * 30 + "      " + ", ".join(f"{k} {v}" for k, v in words_of_file.most_common())
                         if words_of_file else ""))
        ours.extend(items_of(name, rows))

    reference: list[Item] = []
    for path in REFERENCE_SETS:
        if path.exists():
            reference.extend(Item(str(r.get("id")), path.name, str(r.get("question", "")), tuple(r.get("gold") or ()))
                             for r in read_jsonl(path, report))
        else:
            print(f"note: reference set {path} not found; near-duplicates against it not checked")

    per_doc = check_gold(ours, passages, report)
    check_near_duplicates(ours, reference, report)
    check_leaks(ours, reference, report)

    print(f"corpus: {len({p.source for p in passages})} documents, {len(passages)} passages")
    print("files (questions, languages | kinds; below: question words):")
    print("\n".join(counts))
    print("questions (and follow-up turns) with gold in each document:")
    for doc, n in sorted(per_doc.items()):
        print(f"  {doc:<58} {n}")
    if not args.quiet:
        print("gold strings -> passages containing them:")
        print("\n".join(report.lines))
    for title, entries in (("ERRORS", report.errors), ("FLAGS", report.flags)):
        if entries:
            print(f"{title} ({len(entries)}):")
            print("\n".join(f"  {e}" for e in entries))
    print(f"summary: {len(ours)} questions and turns, {sum(len(i.gold) for i in ours)} gold strings, "
          f"{len(report.errors)} errors, {len(report.flags)} flags")
    return 1 if report.errors or report.flags else 0


if __name__ == "__main__":
    sys.exit(main())
