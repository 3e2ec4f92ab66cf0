"""Fit the evidence models (assistant/answer/evidence_model.json) on labelled questions, with cross-validation.

The models assistant/answer/evidence.py describes:

1. the sentence model (logistic): does this sentence state the asked fact (it contains a gold string)?
2. the sentence ranker (conditional logit: a softmax over each answerable question's sentences): which
   of this question's sentences states it?
3. the answerability gates (logistic): do the best sentences answer the question at all?

The data are the *training* question sets: ../shared/eval/dev.jsonl and dev_nearmiss.jsonl,
bench/extra_questions.jsonl and bench/questions/train_*.jsonl. The figures reported as
"cross-validated" come from grouped k-fold cross-validation (all sentences of a question in one fold),
nested so that the decision thresholds, too, are chosen on the training folds only. Our own held-out
sets (bench/questions/test_*.jsonl) are never used for fitting; they are reported separately. The
figures on the training questions themselves are labelled "in-sample" and are not evidence of quality.

    .venv/bin/python bench/calibrate.py            # report only
    .venv/bin/python bench/calibrate.py --write    # also write assistant/answer/evidence_model.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common
import numpy as np

from assistant.answer.compose import compose, unit_text
from assistant.answer.evidence import (
    ANSWER_FEATURES,
    ANSWER_SIGNS,
    GATES,
    MODEL_PATH,
    RANKER_FEATURES,
    SENTENCE_FEATURES,
    Evidence,
    LinearModel,
    answer_signals,
    eligible_mask,
    focus_found,
    rank_candidates,
    sentence_part,
    sentence_signals,
)
from assistant.evaluation import LEAD_CHARS, Question, normalise, read_questions
from assistant.text.facts import ask_of

SHARED = common.REPO.parent / "shared" / "eval"
# What a false refusal costs against letting an unanswerable question through, per question rate: a
# policy officer who gets "not in the documents" for a question the documents answer loses trust too,
# but a confident wrong answer is worse (it gets copied into a council note), hence below 1 per
# question count at the usual 40:25 mix.
FALSE_REFUSAL_COST = 2.0
FOLDS = 5
C = 1.0


def training_sets() -> list[Path]:
    sets = [SHARED / "dev.jsonl", SHARED / "dev_nearmiss.jsonl", common.EXTRA_SET]
    sets += common.question_files("train")
    return [p for p in sets if p.is_file()]


def test_sets() -> list[Path]:
    return common.question_files("test")


@dataclass
class Item:
    """One labelled question with the signals of all its candidate sentences."""

    q: Question
    set: str
    evidence_inputs: Any  # (retrieval, sentences, hits, ranks, matrix, facts, eligible)
    labels: np.ndarray  # per sentence: contains a gold string
    retrieved_gold: bool  # a retrieved passage holds a gold string


def collect(assistant: Any, paths: list[Path]) -> list[Item]:
    items = []
    for path in paths:
        for q in read_questions(path):
            retrieval, _ = assistant.explain(q.question, top_k=5)
            ask = ask_of(q.question)
            sentences, hits, ranks, matrix, facts = sentence_signals(retrieval, assistant.reader, ask)
            gold = [normalise(g) for g in q.gold]
            labels = np.array([any(g in normalise(unit_text(s, sentences)) for g in gold) for s in sentences],
                              dtype=bool)
            in_passages = any(any(g in normalise(h.passage.text) for g in gold) for h in retrieval.hits)
            eligible = eligible_mask(sentences, facts)
            found = focus_found(retrieval, assistant.reader, ask)
            items.append(Item(q, path.stem, (retrieval, ask, sentences, hits, ranks, matrix, facts, eligible, found),
                              labels, in_passages))
    return items


def _fit(x: np.ndarray, y: np.ndarray, balanced: bool = False, signs: list[int] | None = None) -> dict[str, Any]:
    """L2-regularised logistic regression on standardised signals.

    With ``signs``, each weight is held to its sign (+1 / -1 / 0 = free): a monotone model, fitted with
    scipy's L-BFGS-B under bounds (scikit-learn's LogisticRegression has no sign constraints).
    """
    from scipy.optimize import minimize

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    z = (x - mean) / scale
    yv = y.astype(np.float64)
    if balanced:
        pos = max(1.0, yv.sum())
        neg = max(1.0, len(yv) - yv.sum())
        sample = np.where(yv > 0, len(yv) / (2 * pos), len(yv) / (2 * neg))
    else:
        sample = np.ones(len(yv))
    n_feat = z.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:n_feat], theta[n_feat]
        margin = z @ w + b
        p = 1 / (1 + np.exp(-np.clip(margin, -30, 30)))
        eps = 1e-12
        value = -np.sum(sample * (yv * np.log(p + eps) + (1 - yv) * np.log(1 - p + eps))) + 0.5 / C * (w @ w)
        g = sample * (p - yv)
        return float(value), np.concatenate([z.T @ g + w / C, [g.sum()]])

    bounds = [(0, None) if s > 0 else (None, 0) if s < 0 else (None, None) for s in (signs or [0] * n_feat)]
    result = minimize(loss, np.zeros(n_feat + 1), jac=True, method="L-BFGS-B", bounds=bounds + [(None, None)])
    return {"mean": mean.tolist(), "scale": scale.tolist(), "weights": result.x[:n_feat].tolist(),
            "intercept": float(result.x[n_feat])}


def _logit(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    return ((x - np.asarray(params["mean"])) / np.asarray(params["scale"])) @ np.asarray(params["weights"]) + \
        params["intercept"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def fit_sentence_model(items: list[Item]) -> dict[str, Any]:
    """P(this sentence states the answer): positives are gold sentences of answerable questions; every other
    sentence is a negative, including all sentences retrieved for unanswerable questions (topical sentences
    that do not answer are exactly what the model must learn to tell apart)."""
    rows = [(sentence_part(it.evidence_inputs[5])[it.evidence_inputs[7]], it.labels[it.evidence_inputs[7]])
            for it in items if (it.q.answerable and it.labels.any()) or not it.q.answerable]
    x = np.vstack([r[0] for r in rows])
    y = np.concatenate([r[1] for r in rows])
    return _fit(x, y)


def evidence_of(it: Item, model: dict[str, Any]) -> tuple[bool, Evidence]:
    """(answered, evidence) as Assistant.ask weighs it, with calibrate's fitted ``model``."""
    retrieval, ask, sentences, hits, ranks, matrix, facts, eligible, _ = it.evidence_inputs
    if not sentences:
        return False, Evidence(ask, [], [], False, 0.0, {})
    signals, probs = signals_of(it, model["sentence"])
    group = group_of(it)
    answered = bool(eligible.any()) and all(
        gate_probability(model["gates"][g], g, signals) >= model["thresholds"][g][group] for g in GATES)
    ranker = LinearModel.from_dict({"features": RANKER_FEATURES, **model["ranker"]})
    cands = rank_candidates(ranker, sentences, hits, ranks, matrix, probs, facts, eligible)
    return answered, Evidence(ask, cands, sentences, answered, 0.0, {}, frozenset(retrieval.terms))


def fit_ranker(items: list[Item]) -> dict[str, Any]:
    """The sentence ranker: a conditional logit over the eligible sentences of each answerable question whose
    gold sentence was retrieved, L2-regularised like the other models. Its scores are only compared within a
    question, so it has no intercept and learns nothing from how questions differ from each other."""
    groups = []
    for it in items:
        matrix, eligible = it.evidence_inputs[5], it.evidence_inputs[7]
        if it.q.answerable and (it.labels & eligible).any():
            groups.append((matrix[eligible], it.labels[eligible].astype(np.float64)))
    return fit_conditional(groups, C)


def fit_conditional(groups: list[tuple[np.ndarray, np.ndarray]], c: float) -> dict[str, Any]:
    """A conditional logit (softmax within each group of rows), L2 ``c`` on standardised signals, no intercept;
    a group's targets are its gold rows (several gold rows share the mass)."""
    from scipy.optimize import minimize

    x = np.vstack([g[0] for g in groups])
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    standard = [((m - mean) / scale, y / y.sum()) for m, y in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.5 / c * (w @ w), w / c
        for z, target in standard:
            scores = z @ w
            p = np.exp(scores - scores.max())
            p /= p.sum()
            value -= float(target @ np.log(p + 1e-12))
            grad = grad + z.T @ (p - target)
        return value, grad

    result = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return {"mean": mean.tolist(), "scale": scale.tolist(), "weights": result.x.tolist(), "intercept": 0.0}


OFFTOPIC_SETS = {"dev", "extra_questions", "train_offtopic", "test_offtopic"}


def offtopic(it: Item) -> bool:
    """Unanswerable because the corpus is not about it at all (the kind dev.jsonl's unanswerables are)."""
    return not it.q.answerable and it.set in OFFTOPIC_SETS


def gate_label(it: Item, gate: str) -> bool:
    """The topic gate passes answerable questions and near misses (they are about the corpus); the fact gate
    passes only answerable ones."""
    return it.q.answerable or (gate == "topic" and not offtopic(it))


def signals_of(it: Item, sentence_params: dict[str, Any]) -> tuple[dict[str, float], np.ndarray]:
    retrieval, ask, sentences, hits, ranks, matrix, facts, eligible, found = it.evidence_inputs
    if not sentences:
        return {f: 0.0 for f in ANSWER_FEATURES}, np.zeros(0)
    logits = _logit(sentence_params, sentence_part(matrix))
    probs = _sigmoid(logits)
    return answer_signals(retrieval, ask, probs, logits, facts, eligible, matrix, found), probs


def answer_row(it: Item, sentence_params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    signals, probs = signals_of(it, sentence_params)
    return np.array([signals[f] for f in ANSWER_FEATURES]), probs


def fit_gate(items: list[Item], gate: str, signals: list[dict[str, float]]) -> dict[str, Any]:
    """One gate's logistic model on answer signals (computed with out-of-fold sentence models: no leakage)."""
    features = GATES[gate]
    x = np.array([[sig[f] for f in features] for sig in signals])
    y = np.array([gate_label(it, gate) for it in items])
    return _fit(x, y, balanced=True, signs=[ANSWER_SIGNS[f] for f in features])


def gate_probability(params: dict[str, Any], gate: str, signals: dict[str, float]) -> float:
    x = np.array([[signals[f] for f in GATES[gate]]])
    return float(_sigmoid(_logit(params, x))[0])


def group_of(it: Item) -> str:
    return "nl" if it.q.lang == "nl" else "foreign"


def choose_thresholds(probs: dict[str, np.ndarray], items: list[Item]) -> dict[str, dict[str, float]]:
    """Per language group, the pair of gate thresholds with the lowest cost on (out-of-fold) probabilities:
    the share of unanswerable questions let through plus FALSE_REFUSAL_COST times the share of answerable
    ones refused. A question is answered when it passes both gates."""
    out: dict[str, dict[str, float]] = {g: {} for g in GATES}
    for group in ("nl", "foreign"):
        idx = np.array([i for i, it in enumerate(items) if group_of(it) == group])
        answerable = np.array([items[i].q.answerable for i in idx])
        if not len(idx) or answerable.all() or not answerable.any():
            for g in GATES:
                out[g][group] = 0.5
            continue
        topic, fact = probs["topic"][idx], probs["fact"][idx]
        grid_t = np.unique(np.quantile(topic, np.linspace(0, 1, 41)))
        grid_f = np.unique(np.quantile(fact, np.linspace(0, 1, 41)))
        best = (float("inf"), 0.0, 0.0)
        for tt in np.concatenate([[0.0], grid_t]):
            for tf in np.concatenate([[0.0], grid_f]):
                answered = (topic >= tt) & (fact >= tf)
                cost = np.mean(answered[~answerable]) + FALSE_REFUSAL_COST * np.mean(~answered[answerable])
                if cost < best[0] - 1e-12:
                    best = (cost, float(tt), float(tf))
        # each threshold halfway to the next lower probability: less brittle than the exact value
        for g, thr, values in (("topic", best[1], topic), ("fact", best[2], fact)):
            lower = values[values < thr]
            out[g][group] = float((thr + lower.max()) / 2) if len(lower) else thr
    return out


def folds(items: list[Item], k: int, seed: int = 13) -> list[np.ndarray]:
    """Question-level folds, stratified by (answerable, language group)."""
    rng = np.random.default_rng(seed)
    buckets: dict[tuple[bool, str], list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        buckets[(it.q.answerable, group_of(it))].append(i)
    assignment = np.zeros(len(items), dtype=int)
    offset = 0
    for key in sorted(buckets):
        members = rng.permutation(buckets[key])
        for j, i in enumerate(members):
            assignment[i] = (j + offset) % k
        offset += len(members)
    return [np.where(assignment == f)[0] for f in range(k)]


def fit_all(items: list[Item], k: int = FOLDS) -> dict[str, Any]:
    """Sentence model, gates (on signals from out-of-fold sentence models) and thresholds (on out-of-fold gate
    probabilities)."""
    inner = folds(items, k, seed=7)
    oof_sentence: dict[int, dict[str, Any]] = {}
    for f in inner:
        fs = set(int(i) for i in f)
        params = fit_sentence_model([items[i] for i in range(len(items)) if i not in fs])
        for i in f:
            oof_sentence[int(i)] = params
    signals = [signals_of(it, oof_sentence[i])[0] for i, it in enumerate(items)]
    sentence_params = fit_sentence_model(items)
    gates = {g: fit_gate(items, g, signals) for g in GATES}
    oof: dict[str, np.ndarray] = {g: np.zeros(len(items)) for g in GATES}
    for f in inner:
        fs = set(int(i) for i in f)
        train = [i for i in range(len(items)) if i not in fs]
        for g in GATES:
            params = fit_gate([items[i] for i in train], g, [signals[i] for i in train])
            for i in f:
                oof[g][i] = gate_probability(params, g, signals[i])
    return {"sentence": sentence_params, "ranker": fit_ranker(items), "gates": gates,
            "thresholds": choose_thresholds(oof, items)}


def decide(it: Item, model: dict[str, Any]) -> tuple[bool, str]:
    """Apply a fitted model to one item: (answered, answer text)."""
    answered, evidence = evidence_of(it, model)
    if not evidence.sentences:
        return False, ""
    text, _, _ = compose(evidence, it.evidence_inputs[0].hits)
    return answered, text  # the text a person reads, as Assistant.ask composes it


def score(items: list[Item], outcomes: list[tuple[bool, str]]) -> dict[str, Any]:
    """Refusals, false refusals and 'the text states the fact', overall, by set and by language."""
    def block(sel: list[int]) -> dict[str, Any]:
        ans = [i for i in sel if items[i].q.answerable]
        una = [i for i in sel if not items[i].q.answerable]
        states = [i for i in ans if outcomes[i][0] and any(normalise(g) in normalise(outcomes[i][1])
                                                          for g in items[i].q.gold)]
        def lead(i: int) -> bool:
            text = normalise(outcomes[i][1])
            return any(0 <= text.find(normalise(g)) < LEAD_CHARS for g in items[i].q.gold)
        found = sorted(len(outcomes[i][1]) for i in sel if outcomes[i][0])
        return {"answerable": len(ans), "unanswerable": len(una),
                "states_fact": len(states) / len(ans) if ans else None,
                "fact_in_lead": sum(1 for i in states if lead(i)) / len(ans) if ans else None,
                "median_chars": float(np.median(found)) if found else None,
                "false_refusals": sum(1 for i in ans if not outcomes[i][0]),
                "refused": sum(1 for i in una if not outcomes[i][0]),
                "retrieved": sum(1 for i in ans if items[i].retrieved_gold)}
    everything = list(range(len(items)))
    out: dict[str, Any] = {"all": block(everything)}
    for name in sorted({it.set for it in items}):
        out[f"set:{name}"] = block([i for i in everything if items[i].set == name])
    for lang in sorted({it.q.lang for it in items}):
        out[f"lang:{lang}"] = block([i for i in everything if items[i].q.lang == lang])
    return out


def cross_validate(items: list[Item], k: int = FOLDS) -> tuple[dict[str, Any], list[tuple[bool, str]]]:
    outcomes: list[tuple[bool, str]] = [(False, "")] * len(items)
    for f in folds(items, k):
        fs = set(int(i) for i in f)
        train = [items[i] for i in range(len(items)) if i not in fs]
        model = fit_all(train, k)
        for i in f:
            outcomes[i] = decide(items[i], model)
    return score(items, outcomes), outcomes


def table(title: str, result: dict[str, Any]) -> str:
    lines = [f"### {title}", "", "| group | answerable | states the fact | fact in first 160 chars | median chars "
             "(found) | false refusals | unanswerable | refused |", "|---|---|---|---|---|---|---|---|"]
    for name, r in result.items():
        states = "" if r["states_fact"] is None else f"{r['states_fact']:.2f}"
        lead = "" if r.get("fact_in_lead") is None else f"{r['fact_in_lead']:.2f}"
        chars = "" if r.get("median_chars") is None else f"{r['median_chars']:.0f}"
        lines.append(f"| {name} | {r['answerable']} | {states} | {lead} | {chars} | {r['false_refusals']} | "
                     f"{r['unanswerable']} | {r['refused']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write assistant/answer/evidence_model.json")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--cost", type=float, default=None,
                        help="weight of a false refusal against an answered unanswerable question")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    if args.cost is not None:  # for trying the trade-off; the default stays the constant above
        globals()["FALSE_REFUSAL_COST"] = args.cost

    assistant, settings = common.real_assistant("calibrate", neutral=True)
    train_paths, test_paths = training_sets(), test_sets()
    print("training sets:", ", ".join(p.name for p in train_paths), file=sys.stderr)
    items = collect(assistant, train_paths)
    held_out = collect(assistant, test_paths) if test_paths else []

    cv, outcomes = cross_validate(items, args.folds)
    final = fit_all(items, args.folds)
    in_sample = score(items, [decide(it, final) for it in items])
    test = score(held_out, [decide(it, final) for it in held_out]) if held_out else {}

    print(table(f"Cross-validated ({args.folds}-fold, nested thresholds) on the training questions", cv))
    print()
    if test:
        print(table("Held-out (bench/questions/test_*.jsonl, never fitted on)", test))
        print()
    print(table("In-sample (the training questions themselves; not evidence of quality)", in_sample))
    print("\nthresholds:", final["thresholds"])
    if args.show_errors:
        for it, (answered, text) in zip(items, outcomes, strict=True):
            states = any(normalise(g) in normalise(text) for g in it.q.gold)
            wrong = (it.q.answerable and (not answered or not states)) \
                or (not it.q.answerable and answered)
            if wrong:
                print(f"  {it.q.id:>5} {'ANS' if it.q.answerable else 'UNA'} answered={answered} "
                      f"retrieved={it.retrieved_gold} {it.q.question[:70]!r} -> {text[:120]!r}")
    meta = {
        "fitted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "training_sets": [p.name for p in train_paths],
        "questions": len(items),
        "model": assistant.embedder.identity.name, "fingerprint": assistant.embedder.identity.fingerprint,
        "false_refusal_cost": globals()["FALSE_REFUSAL_COST"], "folds": args.folds,
        "cross_validated": cv, "held_out": test,
    }
    if args.write:
        document = {
            "sentence": {"features": list(SENTENCE_FEATURES), **final["sentence"]},
            "ranker": {"features": list(RANKER_FEATURES), **final["ranker"]},
            "gates": {g: {"features": list(GATES[g]), **final["gates"][g], "thresholds": final["thresholds"][g]}
                      for g in GATES},
            "meta": meta,
        }
        MODEL_PATH.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_PATH}", file=sys.stderr)
    if args.json_out:
        args.json_out.write_text(json.dumps({"cv": cv, "held_out": test, "in_sample": in_sample}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
