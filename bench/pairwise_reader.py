"""Late interaction (question and sentence read together) as answerability signals: issue 19, item 7.

Measures the signals of ``assistant/answer/reader.py`` (MaxSim between the question's content words and the
tokens of its best sentences, over the e5 model's own token vectors) the way ``bench/calibrate.py``
measures the shipped gates: calibrate's nested cross-validation on the training questions, at several
outer-fold seeds and false-refusal costs, against the same gates without them ("baseline"), on the
same folds. Each variant adds its signals to the fact gate only.

The token vectors of every question and every sentence are encoded once and kept under
data/bench-calibrate/ (about a minute the first time); the signals are then computed per fold, from the
sentences the fold's sentence model likes best (what the product would read at question time: the
question and those sentences, one batch through the model).

Result (docs/benchmarks.md, "Late interaction"): no variant lifts the curve, so the product does not
compute these signals; the script stays so that a later reader (a fine-tuned head, a packaged
cross-encoder) can be measured the same way.

The held-out questions (bench/questions/test_*.jsonl) are scored only with ``--held-out``: they are for
the final report, never for choosing a variant (bench/questions/README.md).

    .venv/bin/python bench/pairwise_reader.py --seeds 13,1,2 --costs 1.5,2,3,4
    .venv/bin/python bench/pairwise_reader.py --only baseline,li --seeds 13,1,2,3,4 --costs 2,3
    .venv/bin/python bench/pairwise_reader.py --only baseline,li --held-out        # the final report only

This is an experiment harness: it changes calibrate's functions for its own run and never writes
assistant/answer/evidence_model.json (``bench/calibrate.py --write`` does, with the shipped feature set).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Callable
from typing import Any

import calibrate as cal
import common
import gate_signals as gs
import numpy as np

from assistant.answer import evidence, reader

# Variants: which reader signals join the fact gate, and how they are computed (top k sentences, vectors
# centred on the corpus's mean token vector or not).
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {"features": ()},
    "li": {"features": reader.FEATURES, "k": reader.TOP_K},
    "li_rare": {"features": ("li_rare",), "k": reader.TOP_K},
    "li_rare_k5": {"features": ("li_rare",), "k": 5},
    "li_rare_all": {"features": ("li_rare",), "k": 1000},  # every eligible sentence (too slow at question time)
    "li_min_all": {"features": ("li_min",), "k": 1000},
    "li_all": {"features": reader.FEATURES, "k": 1000},
    "li_centered": {"features": reader.FEATURES, "k": reader.TOP_K, "centered": True},
}


def token_cache(embedder: Any, texts: list[str], kind: str) -> list[Any]:
    """Token vectors of ``texts`` (``kind`` "query" or "passage"), kept under data/ between runs: encoding
    every sentence of every question's passages takes a minute or two on a busy machine."""
    path = common.REPO / "data" / "bench-calibrate" / f"reader-tokens-{embedder.identity.fingerprint}.pkl"
    cache: dict[tuple[str, str], Any] = pickle.loads(path.read_bytes()) if path.is_file() else {}
    todo = sorted({t for t in texts if (kind, t) not in cache})
    for i in range(0, len(todo), 16):
        chunk = todo[i:i + 16]
        cache.update(zip(((kind, t) for t in chunk), embedder.token_vectors(chunk, [kind] * len(chunk)), strict=True))
    if todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(cache))
    return [cache[(kind, t)] for t in texts]


def word_idf(retrieval: Any, index: Any) -> Callable[[str], float]:
    """A question word's weight: the highest IDF of its terms as the index analyses them (a word the corpus
    never uses weighs the most)."""
    def weight(word: str) -> float:
        return max((retrieval.idf.get(t, retrieval.max_idf) for t in index.query_terms(word)),
                   default=retrieval.max_idf)
    return weight


def encode_all(assistant: Any, items: list[cal.Item]) -> dict[str, Any]:
    """Token vectors of every question and every sentence the items hold (raw, and centred on the mean token
    vector of the corpus's sentences), through calibrate's cache under data/."""
    questions = sorted({it.q.question for it in items})
    sentences = {s.id: s.text for it in items for s in it.evidence_inputs[2]}
    ids = sorted(sentences)
    t0 = time.perf_counter()
    raw_q = dict(zip(questions, token_cache(assistant.embedder, questions, "query"), strict=True))
    raw_s = dict(zip(ids, token_cache(assistant.embedder, [sentences[j] for j in ids], "passage"), strict=True))
    print(f"token vectors of {len(questions)} questions and {len(ids)} sentences in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    all_tokens = np.vstack([v[o[:, 1] > o[:, 0]] for v, o, _ in raw_s.values()])
    center = all_tokens.mean(axis=0)
    out: dict[str, Any] = {}
    for name, c in (("raw", None), ("centered", center)):
        q = {t: reader.tokens_of(v, o, t, st, c) for t, (v, o, st) in raw_q.items()}
        s = {j: reader.tokens_of(v, o, sentences[j], st, c) for j, (v, o, st) in raw_s.items()}
        out[name] = (q, s)
    return out


def scores_for(tokens: dict[str, Any], items: list[cal.Item], index: Any) -> dict[str, dict[int, Any]]:
    """Per variant kind (raw / centred), per item: the word scores of each of its sentences and the question
    words' weights (IDF)."""
    out: dict[str, dict[int, Any]] = {}
    for name, (q, s) in tokens.items():
        per: dict[int, Any] = {}
        for it in items:
            qt = q[it.q.question]
            sentences = it.evidence_inputs[2]
            weight = word_idf(it.evidence_inputs[0], index)
            per[id(it)] = ([reader.word_scores(qt, s[x.id]) for x in sentences], reader.word_weights(qt, weight))
        out[name] = per
    return out


def reader_signals(it: cal.Item, probs: np.ndarray, per_item: dict[int, Any], k: int) -> dict[str, float]:
    """The signals from the ``k`` eligible sentences with the highest sentence-model probability."""
    scores, weights = per_item[id(it)]
    return reader.signals([scores[i] for i in reader.best_sentences(probs, it.evidence_inputs[7], k)], weights)


def memoise_fits() -> None:
    """The sentence model and the ranker do not depend on the variant or the cost: fit each training subset
    once per run (the same numbers, a fraction of the time)."""
    for fname in ("fit_sentence_model", "fit_ranker"):
        base = getattr(cal, fname)
        memo: dict[tuple[int, ...], Any] = {}

        def fit(its: list[cal.Item], _base: Callable[..., Any] = base, _memo: dict[Any, Any] = memo) -> Any:
            key = tuple(sorted(id(it) for it in its))
            if key not in _memo:
                _memo[key] = _base(its)
            return _memo[key]
        setattr(cal, fname, fit)


# The held-out sets of the kinds issue 8's and issue 19's checks have (near misses and off-topic questions).
HELD_OUT_CHECKED = ("test_nearmiss", "test_offtopic")


def install(name: str, ctx: dict[str, Any]) -> None:
    """Route calibrate's signals through variant ``name``: its reader signals join the fact gate."""
    base_signals, base_fit_all, base_decide = ctx["originals"]
    spec = VARIANTS[name]
    features = tuple(spec["features"])
    evidence.GATES["fact"] = ctx["fact_features"] + features
    per_item = ctx["scores"]["centered" if spec.get("centered") else "raw"]

    def signals_of(it: cal.Item, sentence_params: dict[str, Any]) -> tuple[dict[str, float], np.ndarray]:
        signals, probs = base_signals(it, sentence_params)
        if features:
            extra = reader_signals(it, probs, per_item, spec["k"]) if len(probs) else dict.fromkeys(features, 0.0)
            signals.update({f: extra[f] for f in features})
        return signals, probs

    cal.signals_of, cal.fit_all, cal.decide = signals_of, base_fit_all, base_decide
    cal.ANSWER_SIGNS.update({f: 1 for f in reader.FEATURES})


def timing(n: int) -> int:
    """p50 / p90 of ``reader.read`` on the first ``n`` training questions, each with the best TOP_K sentences
    of its best passage (the extra model call the signals cost at question time), after a warm-up."""
    assistant, _ = common.real_assistant("calibrate", neutral=True)
    questions = [q.question for path in cal.training_sets() for q in cal.read_questions(path)][:n]
    times, floor = [], []
    for i, question in enumerate(questions):
        retrieval, _ = assistant.explain(question, top_k=5)
        if not retrieval.hits:
            continue
        sentences = [s.text for s in assistant.reader.sentences([retrieval.hits[0].passage.id])][:reader.TOP_K]
        t0 = time.perf_counter()
        reader.read(assistant.embedder, question, sentences, lambda w: 1.0)
        t1 = time.perf_counter()
        assistant.embedder.embed_queries([question])  # the floor bench/latency.py compares against
        t2 = time.perf_counter()
        if i:  # the first call warms up
            times.append((t1 - t0) * 1000)
            floor.append((t2 - t1) * 1000)
    read50, floor50 = common.percentile(times, 0.5), common.percentile(floor, 0.5)
    print(f"reader.read (question + {reader.TOP_K} sentences, one batch), {len(times)} questions: "
          f"p50 {read50:.1f} ms, p90 {common.percentile(times, 0.9):.1f} ms; embed_queries([q]) p50 "
          f"{floor50:.1f} ms (ratio {read50 / floor50:.1f}); load {common.loadavg()[0]:.1f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="13,1,2", help="outer-fold seeds, comma-separated (calibrate uses 13)")
    parser.add_argument("--only", default="", help=f"variants, comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--costs", default="", help="false-refusal costs, comma-separated (default: calibrate's)")
    parser.add_argument("--held-out", action="store_true",
                        help="also score the held-out questions (the final report only: never to choose)")
    parser.add_argument("--timing", type=int, default=0, metavar="N",
                        help="only time what the product would add per question: the question and its best "
                             f"{reader.TOP_K} sentences through the model (N questions), and exit")
    args = parser.parse_args()
    if args.timing:
        return timing(args.timing)
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    seeds = [int(s) for s in args.seeds.split(",")]
    costs = [float(c) for c in args.costs.split(",") if c] or [cal.FALSE_REFUSAL_COST]

    assistant, _ = common.real_assistant("calibrate", neutral=True)
    items = cal.collect(assistant, cal.training_sets())
    held = cal.collect(assistant, cal.test_sets()) if args.held_out else []
    ctx: dict[str, Any] = {"originals": (cal.signals_of, cal.fit_all, cal.decide),
                           "fact_features": tuple(f for f in evidence.GATES["fact"] if not f.startswith("li_"))}
    ctx["scores"] = scores_for(encode_all(assistant, items + held), items + held, assistant.reader)
    memoise_fits()
    print("| variant | cost | outer seed | cross-validated (training) | held-out |")
    print("|---|---|---|---|---|")
    summary: dict[tuple[str, float], tuple[int, int, int, int]] = {}
    for name in names:
        install(name, ctx)
        for cost in costs:
            cal.FALSE_REFUSAL_COST = cost
            runs = []
            for seed in seeds:
                cv = gs.cross_validate_seeded(items, seed)
                if held:
                    final = cal.fit_all(items, cal.FOLDS)
                    test = cal.score(held, [cal.decide(it, final) for it in held])
                    kinds = [test[f"set:{k}"] for k in HELD_OUT_CHECKED if f"set:{k}" in test]
                    checked = f" ({sum(r['refused'] for r in kinds)} of {sum(r['unanswerable'] for r in kinds)} " \
                              "of the checked kinds) |"
                    print(gs.line(name, cost, seed, cv, test)[:-2] + checked, flush=True)
                else:
                    print(gs.line(name, cost, seed, cv, cv).rsplit("|", 2)[0] + "| (not run) |", flush=True)
                runs.append(cv)
            if len(seeds) > 1:
                print(gs.summed(name, cost, runs), flush=True)
            fr = sum(r["all"]["false_refusals"] for r in runs)
            n_ans = sum(r["all"]["answerable"] for r in runs)
            refused = sum(gs.checked_refusals(r)[0] for r in runs)
            n_una = sum(gs.checked_refusals(r)[1] for r in runs)
            summary[(name, cost)] = (fr, n_ans, refused, n_una)
    print("\nThe curve, summed over seeds (false refusals of answerable / refused of the checked kinds):")
    for name in names:
        cells = [f"{cost:g}: {fr / n:.1%} / {r / u:.1%}" for (nm, cost), (fr, n, r, u) in summary.items() if nm == name]
        print(f"  {name:12s} " + "   ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
