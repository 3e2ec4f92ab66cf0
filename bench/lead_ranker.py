"""A learned choice of the answer's lead sentence and of its followers (issue 19), measured as the product reads.

The sentence ranker (a conditional logit over all of a question's sentences, bench/calibrate.py) puts a sentence
whose quoted unit holds the gold string first for 0.58 of the answerable training questions (cross-validated), but
within its best eight for about nine in ten. This script tries to do better on what a person reads, without
touching the product:

* a **lead ranker** that re-reads the ranker's best ``TOP`` sentences, a conditional logit over them with the
  ranker's score and place, the ranker's signals, and each kind of fact crossed with the kind of unit and its
  topic (a person on a "Begeleiding:" line, a date on a short line: ``crossed``); fitted on the ranker's *inner*
  out-of-fold scores, as a shipped one would be (the ranker it re-reads never saw the question);
* the same with **late interaction** (``+li``): per sentence, the IDF-weighted, weakest and rarest-word MaxSim of
  the question's content words over the e5 model's own token vectors (assistant/answer/reader.py), and over the
  sentence with the one before it; the token vectors are encoded here once and cached;
* a **follower model** (``followers p>=t``): a logistic model of "this runner-up holds the gold and the lead does
  not", over its share against the lead's, its kind of fact, whether it sits next to the lead; a runner-up joins
  when its probability is at least t (instead of compose.FOLLOWER_RATIO's share rule).

Everything is applied to the evidence calibrate's models give on its nested 5-fold cross-validation of the
training questions (``calibrate.fit_all`` on the other folds), and the answer is composed by
``compose.compose``. Printed per variant: the lead sentence holds the gold; the answer states the fact; the fact
starts within the first 160 characters; the median and p90 length of the answers given. The follower model is
fitted on the other folds' evidence, which came from models that had seen the fold's questions (a small leak in
its favour; it does not win even so).

The candidates' signals and token vectors are computed once and kept under data/bench-lead/ (the index is
data/bench-calibrate/, as calibrate's); a rerun takes a few minutes.

    .venv/bin/python bench/lead_ranker.py                      # cross-validated, outer seed 13
    .venv/bin/python bench/lead_ranker.py --seeds 13,1,2
    .venv/bin/python bench/lead_ranker.py --held-out           # the final report only: never to choose

Result (docs/benchmarks.md, "A learned lead sentence"): no variant moves the fact into the first 160 characters
more often, or trades 'states the fact' against length better than compose's share rule, so the product keeps
the ranker and FOLLOWER_RATIO; nothing is written to assistant/answer/.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import calibrate as cal
import common
import numpy as np

from assistant.answer import compose as comp
from assistant.answer import reader
from assistant.answer.evidence import RANKER_FEATURES, Evidence
from assistant.evaluation import LEAD_CHARS, normalise

CACHE = common.REPO / "data" / "bench-lead"
TOP = 8  # the ranker's best sentences the lead ranker re-reads
FACTS = ("fact", "fact_density", "fact_number", "fact_person", "fact_date", "fact_place", "fact_contact",
         "fact_definition", "fact_name")
CONTEXT = ("heading", "item", "short", "rel_cos", "rel_lex", "first", "lead_in", "foreign", "lex_ctx", "cos_ctx")
COLUMN = {f: i for i, f in enumerate(RANKER_FEATURES)}
# Variants: (lead ranker: None or (C, with late interaction), followers: ("ratio", r) or ("model", t)).
Variant = tuple[tuple[float, bool] | None, tuple[str, float]]
VARIANTS: dict[str, Variant] = {
    "ranker, ratio 0.15 (shipped)": (None, ("ratio", 0.15)),
    "ranker, ratio 0.25": (None, ("ratio", 0.25)),
    "ranker, ratio 0.35": (None, ("ratio", 0.35)),
    "ranker, ratio 0.50": (None, ("ratio", 0.50)),
    "ranker, followers p>=0.10": (None, ("model", 0.10)),
    "ranker, followers p>=0.15": (None, ("model", 0.15)),
    "lead C=1, ratio 0.15": ((1.0, False), ("ratio", 0.15)),
    "lead C=0.1, ratio 0.15": ((0.1, False), ("ratio", 0.15)),
    "lead C=0.1, ratio 0.35": ((0.1, False), ("ratio", 0.35)),
    "lead+li C=1, ratio 0.15": ((1.0, True), ("ratio", 0.15)),
    "lead+li C=0.1, ratio 0.15": ((0.1, True), ("ratio", 0.15)),
    "lead+li C=0.1, ratio 0.35": ((0.1, True), ("ratio", 0.35)),
    "lead+li C=0.1, ratio 0.50": ((0.1, True), ("ratio", 0.50)),
    "lead+li C=0.1, followers p>=0.10": ((0.1, True), ("model", 0.10)),
    "lead+li C=0.1, followers p>=0.15": ((0.1, True), ("model", 0.15)),
}


def items_of(assistant: Any, paths: list[Path]) -> list[cal.Item]:
    """calibrate's items for ``paths``, kept on disk keyed by the model, the index version and the files."""
    key = hashlib.sha256(json.dumps([assistant.embedder.identity.fingerprint, assistant.reader.manifest.version_id,
                                     [(p.name, p.stat().st_mtime_ns) for p in paths]]).encode()).hexdigest()[:16]
    path = CACHE / f"items-{key}.pkl"
    if path.is_file():
        items: list[cal.Item] = pickle.loads(path.read_bytes())
        return items
    items = cal.collect(assistant, paths)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(items))
    return items


def token_vectors(assistant: Any, items: list[cal.Item]) -> dict[tuple[str, str], Any]:
    """Token vectors of every question ("query") and every sentence ("passage") of ``items``, cached under
    data/bench-lead/ (about a minute for the training questions on a quiet machine)."""
    path = CACHE / f"tokens-{assistant.embedder.identity.fingerprint}.pkl"
    cache: dict[tuple[str, str], Any] = pickle.loads(path.read_bytes()) if path.is_file() else {}
    wanted = [("query", it.q.question) for it in items] + [("passage", s.text) for it in items
                                                            for s in it.evidence_inputs[2]]
    todo = sorted(set(w for w in wanted if w not in cache))
    for kind in ("query", "passage"):
        texts = [t for k, t in todo if k == kind]
        for i in range(0, len(texts), 16):
            chunk = texts[i:i + 16]
            cache.update(zip(((kind, t) for t in chunk),
                             assistant.embedder.token_vectors(chunk, [kind] * len(chunk)), strict=True))
    if todo:
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(cache))
    return cache


LI = ("li_idf", "li_min", "li_rare", "li_idf_prev", "li_rel")


def late_interaction(items: list[cal.Item], tokens: dict[tuple[str, str], Any], index: Any) -> dict[int, np.ndarray]:
    """Per item (by id), per sentence: the ``LI`` signals (reader.word_scores over the question's content words,
    weighted by their IDF as reader.word_weights; ``li_idf_prev`` with the sentence before it in its passage)."""
    def toks(kind: str, text: str) -> reader.Tokens:
        v, o, start = tokens[(kind, text)]
        return reader.tokens_of(v, o, text, start)
    sentence_tokens: dict[str, reader.Tokens] = {}
    out: dict[int, np.ndarray] = {}
    for it in items:
        retrieval, sentences = it.evidence_inputs[0], it.evidence_inputs[2]
        q = toks("query", it.q.question)

        def idf(word: str, r: Any = retrieval) -> float:
            return float(max((r.idf.get(t, r.max_idf) for t in index.query_terms(word)), default=r.max_idf))
        weights = reader.word_weights(q, idf)
        signals = np.zeros((len(sentences), len(LI)))
        if len(weights) and weights.sum() > 0:
            rare = weights >= weights.max() - 1e-9
            scores = []
            for s in sentences:
                if s.text not in sentence_tokens:
                    sentence_tokens[s.text] = toks("passage", s.text)
                scores.append(reader.word_scores(q, sentence_tokens[s.text]))
            for j, sc in enumerate(scores):
                prev = scores[j - 1] if j and sentences[j - 1].passage_id == sentences[j].passage_id else sc
                signals[j, :4] = [weights @ sc / weights.sum(), sc.min(), sc[rare].min(),
                                  weights @ np.maximum(sc, prev) / weights.sum()]
            signals[:, 4] = signals[:, 0] - signals[:, 0].max()
        out[id(it)] = signals
    return out


class Reader:
    """What the lead ranker reads of a question's best sentences (``rows`` of its matrix, best first)."""

    li: dict[int, np.ndarray] = {}

    @classmethod
    def features(cls, it: cal.Item, rows: np.ndarray, scores: np.ndarray, with_li: bool) -> np.ndarray:
        m = it.evidence_inputs[5][rows]
        crossed = [m[:, COLUMN[a]] * m[:, COLUMN[b]] for a in FACTS for b in CONTEXT]
        parts = [scores - scores[0], 1.0 / (1.0 + np.arange(len(rows))), m, *crossed]
        if with_li:
            parts.append(cls.li[id(it)][rows])
        return np.column_stack(parts)


def _eligible_scores(it: cal.Item, ranker: dict[str, Any]) -> np.ndarray:
    matrix, eligible = it.evidence_inputs[5], it.evidence_inputs[7]
    return np.asarray(cal._logit(ranker, matrix[eligible])) if eligible.any() else np.zeros(0)




def fit_lead(items: list[cal.Item], c: float, with_li: bool, k: int = cal.FOLDS) -> dict[str, Any]:
    """The lead ranker for ``items``: fitted on the sentence ranker's out-of-fold scores (inner ``k`` folds), so it
    learns how far to trust a ranker that has not seen the question, as in use. Positives: the best ``TOP``
    sentences whose quoted unit holds a gold string (questions without one among them are left out)."""
    groups = []
    for f in cal.folds(items, k, seed=7):
        fs = set(int(i) for i in f)
        ranker = cal.fit_ranker([items[i] for i in range(len(items)) if i not in fs])
        for i in f:
            it = items[int(i)]
            s = _eligible_scores(it, ranker)
            if not it.q.answerable or not len(s):
                continue
            order = np.argsort(-s, kind="stable")[:TOP]
            rows = np.flatnonzero(it.evidence_inputs[7])[order]
            labels = it.labels[rows].astype(np.float64)
            if labels.any():
                groups.append((Reader.features(it, rows, s[order], with_li), labels))
    return cal.fit_conditional(groups, c)


def releaded(it: cal.Item, ev: Evidence, ranker: dict[str, Any], lead: dict[str, Any], with_li: bool) -> Evidence:
    """``ev`` with the ranker's best ``TOP`` re-ordered by the lead ranker; they share the ranker's mass among them
    as the lead ranker's softmax divides it (shares still sum to 1; a follower is still judged against the lead)."""
    if len(ev.candidates) < 2:
        return ev
    top = ev.candidates[:TOP]
    row_of = {s.id: i for i, s in enumerate(it.evidence_inputs[2])}
    rows = np.array([row_of[c.sentence.id] for c in top])
    scores = np.asarray(cal._logit(ranker, it.evidence_inputs[5][rows]))
    second = np.asarray(cal._logit(lead, Reader.features(it, rows, scores, with_li)))
    within = np.exp(second - second.max())
    within /= within.sum()
    mass = sum(c.share for c in top)
    order = np.argsort(-second, kind="stable")
    new = [dataclasses.replace(top[j], share=float(mass * within[j])) for j in order]
    return dataclasses.replace(ev, candidates=new + ev.candidates[TOP:])


def holds(it: cal.Item, ev: Evidence, j: int) -> bool:
    unit = normalise(comp.unit_text(ev.candidates[j].sentence, ev.sentences))
    return any(normalise(g) in unit for g in it.q.gold)


def follower_signals(ev: Evidence, j: int) -> list[float]:
    lead, c = ev.candidates[0], ev.candidates[j]
    at = {s.id: i for i, s in enumerate(ev.sentences)}
    return [np.log(c.share / lead.share + 1e-9), np.log(lead.share + 1e-9), c.fact, lead.fact,
            c.fact * (1 - min(lead.fact, 1.0)), c.features[COLUMN["fact_density"]],
            float(c.sentence.passage_id == lead.sentence.passage_id),
            float(abs(at[c.sentence.id] - at[lead.sentence.id]) <= 2), c.features[COLUMN["item"]],
            c.features[COLUMN["heading"]], c.features[COLUMN["rel_cos"]], c.features[COLUMN["rel_lex"]], float(j),
            float(ev.ask.checkable)]


def fit_followers(items: list[cal.Item], evs: list[tuple[bool, Evidence]]) -> Callable[[Evidence, int], float]:
    """P(runner-up ``j`` holds the gold and the lead does not), logistic (scikit-learn), on ``evs``."""
    from sklearn.linear_model import LogisticRegression

    x, y = [], []
    for it, (answered, ev) in zip(items, evs, strict=True):
        if not it.q.answerable or not answered or len(ev.candidates) < 2:
            continue
        lead_holds = holds(it, ev, 0)
        for j in range(1, min(TOP, len(ev.candidates))):
            x.append(follower_signals(ev, j))
            y.append(holds(it, ev, j) and not lead_holds)
    xa = np.array(x)
    mean, scale = xa.mean(axis=0), xa.std(axis=0) + 1e-9
    model = LogisticRegression(C=0.3, max_iter=2000).fit((xa - mean) / scale, np.array(y))
    return lambda ev, j: float(model.predict_proba((np.array([follower_signals(ev, j)]) - mean) / scale)[0, 1])


def with_followers(ev: Evidence, p: Callable[[Evidence, int], float], threshold: float) -> Evidence:
    """``ev`` whose runners-up join the lead when ``p`` gives them at least ``threshold``: as compose reads shares,
    the chosen ones get the lead's share and come first, the others none."""
    if len(ev.candidates) < 2:
        return ev
    lead = ev.candidates[0]
    joined = [j for j in range(1, min(TOP, len(ev.candidates))) if p(ev, j) >= threshold]
    chosen = [dataclasses.replace(ev.candidates[j], share=lead.share) for j in joined]
    rest = [dataclasses.replace(c, share=0.0) for j, c in enumerate(ev.candidates) if j and j not in joined]
    return dataclasses.replace(ev, candidates=[lead, *chosen, *rest])


def reading(items: list[cal.Item], evs: list[tuple[bool, Evidence]], ratio: float) -> dict[str, float]:
    """Lead sentence right, states the fact, fact in the first 160 characters (shares of answerable questions),
    median and p90 characters of the answers given to them."""
    saved = comp.FOLLOWER_RATIO
    comp.FOLLOWER_RATIO = ratio
    try:
        first = states = lead = 0
        lengths = []
        answerable = [i for i, it in enumerate(items) if it.q.answerable]
        for i in answerable:
            answered, ev = evs[i]
            if not answered or not ev.candidates:
                continue
            first += holds(items[i], ev, 0)
            text = comp.compose(ev, items[i].evidence_inputs[0].hits)[0]
            lengths.append(len(text))
            norm = normalise(text)
            at = [a for a in (norm.find(normalise(g)) for g in items[i].q.gold) if a >= 0]
            states += bool(at)
            lead += bool(at) and min(at) < LEAD_CHARS
    finally:
        comp.FOLLOWER_RATIO = saved
    n = len(answerable)
    return {"first": first / n, "states": states / n, "lead": lead / n,
            "median": float(np.median(lengths)) if lengths else 0.0,
            "p90": float(np.percentile(lengths, 90)) if lengths else 0.0, "answered": len(lengths)}


def memoised(fn: Callable[..., Any]) -> Callable[..., Any]:
    memo: dict[Any, Any] = {}

    def call(its: list[cal.Item], *args: Any) -> Any:
        key = (tuple(id(it) for it in its), args)
        if key not in memo:
            memo[key] = fn(its, *args)
        return memo[key]
    return call


def variants(items: list[cal.Item], base: list[tuple[bool, Evidence]], models: list[dict[str, Any]],
             leads: dict[tuple[float, bool], list[dict[str, Any]]], followers: dict[Any, Callable[..., float]],
             ) -> dict[str, dict[str, float]]:
    """Every variant on ``base`` (each item's evidence), ``models[i]`` (calibrate's fit item i is scored with),
    ``leads[(c, li)][i]`` (the lead ranker for item i) and ``followers[(lead key, i)]``."""
    out = {}
    for name, (lead, (rule, value)) in VARIANTS.items():
        evs = []
        for i, (it, (answered, ev)) in enumerate(zip(items, base, strict=True)):
            if lead is not None:
                ev = releaded(it, ev, models[i]["ranker"], leads[lead][i], lead[1])
            if rule == "model":
                ev = with_followers(ev, followers[(lead, i)], value)
            evs.append((answered, ev))
        out[name] = reading(items, evs, value if rule == "ratio" else comp.FOLLOWER_RATIO)
    return out


def cross_validate(items: list[cal.Item], seed: int) -> dict[str, dict[str, float]]:
    """Every variant on the same outer folds (calibrate's assignment with ``seed``)."""
    n = len(items)
    base: list[Any] = [None] * n
    models: list[Any] = [None] * n
    lead_keys = {lead for lead, _ in VARIANTS.values() if lead is not None}
    leads: dict[tuple[float, bool], list[Any]] = {k: [None] * n for k in lead_keys}
    folds = cal.folds(items, cal.FOLDS, seed=seed)
    for f in folds:
        fs = set(int(i) for i in f)
        train = [items[i] for i in range(n) if i not in fs]
        model = cal.fit_all(train, cal.FOLDS)
        fitted = {k: fit_lead(train, *k) for k in lead_keys}
        for i in f:
            base[int(i)] = cal.evidence_of(items[int(i)], model)
            models[int(i)] = model
            for k in lead_keys:
                leads[k][int(i)] = fitted[k]
    followers: dict[Any, Callable[..., float]] = {}
    for lead in {lead for lead, (rule, _) in VARIANTS.values() if rule == "model"}:
        evs = [(a, releaded(it, ev, models[i]["ranker"], leads[lead][i], lead[1]) if lead else ev)
               for i, (it, (a, ev)) in enumerate(zip(items, base, strict=True))]
        for f in folds:
            fs = set(int(i) for i in f)
            others = [i for i in range(n) if i not in fs]
            p = fit_followers([items[i] for i in others], [evs[i] for i in others])
            for i in f:
                followers[(lead, int(i))] = p
    return variants(items, base, models, leads, followers)


def held_out(items: list[cal.Item], held: list[cal.Item]) -> dict[str, dict[str, float]]:
    """Every variant on ``held``, all models fitted on all of ``items`` (the follower model on their
    cross-validated evidence)."""
    final = cal.fit_all(items, cal.FOLDS)
    lead_keys = {lead for lead, _ in VARIANTS.values() if lead is not None}
    fitted = {k: fit_lead(items, *k) for k in lead_keys}
    base = [cal.evidence_of(it, final) for it in held]
    train_base = [cal.evidence_of(it, final) for it in items]  # in-sample: only for the follower model's fit
    followers: dict[Any, Callable[..., float]] = {}
    for lead in {lead for lead, (rule, _) in VARIANTS.values() if rule == "model"}:
        evs = [(a, releaded(it, ev, final["ranker"], fitted[lead], lead[1]) if lead else ev)
               for it, (a, ev) in zip(items, train_base, strict=True)]
        p = fit_followers(items, evs)
        for i in range(len(held)):
            followers[(lead, i)] = p
    return variants(held, base, [final] * len(held), {k: [v] * len(held) for k, v in fitted.items()}, followers)


def line(name: str, r: dict[str, float]) -> str:
    return (f"| {name} | {r['first']:.3f} | {r['states']:.3f} | {r['lead']:.3f} | {r['median']:.0f} | "
            f"{r['p90']:.0f} | {r['answered']} |")


HEADER = ("| variant | lead sentence holds the gold | states the fact | fact in first 160 chars | median chars | "
          "p90 chars | answered |\n|---|---|---|---|---|---|---|")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="13", help="outer-fold seeds, comma-separated (calibrate uses 13)")
    parser.add_argument("--held-out", action="store_true",
                        help="also score the held-out questions (the final report only: never to choose)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    assistant, _ = common.real_assistant("calibrate", neutral=True)
    items = items_of(assistant, cal.training_sets())
    held = items_of(assistant, cal.test_sets()) if args.held_out else []
    Reader.li = late_interaction(items + held, token_vectors(assistant, items + held), assistant.reader)
    cal.fit_sentence_model = memoised(cal.fit_sentence_model)
    cal.fit_ranker = memoised(cal.fit_ranker)
    print(f"{len(items)} training questions, {sum(it.q.answerable for it in items)} answerable", file=sys.stderr)
    out: dict[str, Any] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        cv = cross_validate(items, seed)
        out[f"cv_seed_{seed}"] = cv
        print(f"\n### Cross-validated (5-fold, outer seed {seed}) on the training questions\n\n{HEADER}")
        for name, r in cv.items():
            print(line(name, r), flush=True)
    if held:
        test = held_out(items, held)
        out["held_out"] = test
        print(f"\n### Held-out (bench/questions/test_*.jsonl, {sum(it.q.answerable for it in held)} answerable; "
              f"models fitted on all training questions)\n\n{HEADER}")
        for name, r in test.items():
            print(line(name, r), flush=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
