"""Fit the sentence check (assistant/answer/verify.py) on hand-labelled claims, with nested cross-validation.

    .venv/bin/python bench/verify_calibrate.py            # print the cross-validated figures
    .venv/bin/python bench/verify_calibrate.py --write    # also write assistant/answer/verify_thresholds.json

The claims are ``bench/questions/verify_claims.jsonl`` (see bench/questions/README.md): sentences
written against one passage of the shipped corpus each, labelled supported, contradicted or
unsupported, with the kind of change (negation, antonym, role, quantity, date, place, missing
content, paraphrase, ...). Each claim is measured as the verifier measures a generated sentence that
cites that passage (:meth:`assistant.answer.verify.Verifier.measure`), and the decision
(:meth:`~assistant.answer.verify.Verifier.judge`) has these free parts:

* thresholds: ``min_cosine``, ``min_overlap``, ``max_unmatched`` (rarest lacking word);
* which meaning checks count: negation added, dropped or of unmentioned words, antonyms, roles, binding,
  quantities.

Nested cross-validation grouped by passage (a passage's claims are never on both sides): in each of
5 outer folds, 4 inner folds over the training passages choose which checks count (all of them, or
all but one: the set with the least held-out cost, all on a tie), then the thresholds are fitted on
all training passages (the grid point of least cost, a wrongly kept sentence weighing twice) and the
outer test passages are judged. The figures
reported are these held-out verdicts, pooled, with 95% Wilson intervals. The thresholds written are
chosen the same way on all claims. English claims are judged as the verifier judges a foreign answer
(meaning and facts only) and reported apart: the set holds too few to fit on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

OUT = common.REPO / "assistant" / "verify_thresholds.json"
CLAIMS = common.REPO / "bench" / "questions" / "verify_claims.jsonl"
COMMAND = "python bench/verify_calibrate.py"
COSINES = np.round(np.arange(0.80, 0.951, 0.01), 3)
OVERLAPS = np.round(np.arange(0.20, 0.651, 0.05), 2)
UNMATCHED = (0.6, 0.7, 0.8, 0.9, 0.95, 1.0)  # 1.0: off
CHECKS = ("negation_added", "negation_dropped", "negation_unmentioned", "antonym", "role", "binding", "quantity")
WRONG_KEEP_WEIGHT = 2.0
OUTER, INNER = 5, 4


def load_claims(reader: Any, path: Path = CLAIMS) -> list[dict[str, Any]]:
    """The labelled claims with the id of their passage in this index (found by source and opening words)."""
    passages = reader.passages(list(range(reader.passage_count)))
    by_start = {(p.source, " ".join(p.text.split())): p.id for p in passages}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        hits = [pid for (source, text), pid in by_start.items()
                if source == row["source"] and text.startswith(row["passage_start"])]
        if len(hits) != 1:
            raise SystemExit(f"{path.name} {row['id']}: {len(hits)} passages of {row['source']} open with "
                             f"{row['passage_start']!r}; re-ingest the shipped corpus or fix the row")
        row["pid"] = hits[0]
    return rows


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for k successes in n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


class Table:
    """The signals of every claim as arrays, and the decision over them, vectorised."""

    def __init__(self, signals: list[Any]) -> None:
        self.cos = np.array([s.cosine for s in signals])
        self.lex = np.array([s.overlap for s in signals])
        self.unm = np.array([s.unmatched for s in signals])
        self.facts_ok = np.array([not s.facts and not s.opening for s in signals])
        self.flags = {"negation_added": np.array([s.negation_added > 0 for s in signals]),
                      "negation_dropped": np.array([s.negation_dropped > 0 for s in signals]),
                      "negation_unmentioned": np.array([s.negation_unmentioned > 0 for s in signals]),
                      "antonym": np.array([bool(s.antonyms) for s in signals]),
                      "role": np.array([bool(s.roles) for s in signals]),
                      "binding": np.array([bool(s.binding) for s in signals]),
                      "quantity": np.array([bool(s.quantities) for s in signals])}

    def base(self, checks: tuple[str, ...], rows: np.ndarray) -> np.ndarray:
        ok = self.facts_ok[rows].copy()
        for c in checks:
            ok &= ~self.flags[c][rows]
        return ok

    def keep(self, rows: np.ndarray, checks: tuple[str, ...], tc: float, tl: float, tu: float) -> np.ndarray:
        return self.base(checks, rows) & (self.cos[rows] >= tc) & (self.lex[rows] >= tl) & (self.unm[rows] <= tu)

    def fit(self, rows: np.ndarray, label: np.ndarray, checks: tuple[str, ...]) -> tuple[float, tuple[Any, ...]]:
        """The grid point of least cost on ``rows`` (of equally good ones, the middle)."""
        base = self.base(checks, rows)
        cos, lex, unm = self.cos[rows], self.lex[rows], self.unm[rows]
        y = label[rows]
        # keep[c, l, u, row], built by broadcasting; small (16 x 10 x 6 x ~400)
        k = (base[None, None, None, :] & (cos[None, :] >= COSINES[:, None])[:, None, None, :]
             & (lex[None, :] >= OVERLAPS[:, None])[None, :, None, :]
             & (unm[None, :] <= np.array(UNMATCHED)[:, None])[None, None, :, :])
        cost = WRONG_KEEP_WEIGHT * (k & ~y).sum(-1) + (~k & y).sum(-1)
        least = cost.min()
        best = sorted(zip(*np.nonzero(cost == least), strict=True))
        c, o, u = best[len(best) // 2]
        return float(least), (float(COSINES[c]), float(OVERLAPS[o]), float(UNMATCHED[u]))

    def choose(self, rows: np.ndarray, label: np.ndarray, groups: np.ndarray, seed: int,
               subsets: list[tuple[str, ...]]) -> tuple[tuple[str, ...], tuple[Any, ...], dict[str, float]]:
        """Inner cross-validation picks the checks; the thresholds are then fitted on all of ``rows``."""
        folds = fold_of(groups[rows], INNER, seed)
        scores: dict[str, float] = {}
        for checks in subsets:
            total = 0.0
            for k in range(INNER):
                train, test = rows[folds != k], rows[folds == k]
                _, params = self.fit(train, label, checks)
                kept = self.keep(test, checks, *params)
                total += WRONG_KEEP_WEIGHT * float(np.sum(kept & ~label[test])) + float(np.sum(~kept & label[test]))
            scores["+".join(checks) or "none"] = total
        best = min(subsets, key=lambda c: (scores["+".join(c) or "none"], -len(c)))
        return best, self.fit(rows, label, best)[1], scores


def fold_of(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number per row, whole groups (passages) to a fold, shuffled with ``seed``."""
    unique = sorted(set(groups.tolist()))
    random.Random(seed).shuffle(unique)
    where = {g: i % k for i, g in enumerate(unique)}
    return np.array([where[g] for g in groups.tolist()])


def rates(kept: np.ndarray, label: np.ndarray, kinds: list[str]) -> dict[str, Any]:
    neg, pos = ~label, label
    out: dict[str, Any] = {}
    for name, mask, wrong in (("kept_unsupported", neg, kept), ("removed_supported", pos, ~kept)):
        k, n = int(np.sum(wrong & mask)), int(np.sum(mask))
        lo, hi = wilson(k, n)
        out[name] = {"k": k, "n": n, "rate": k / n if n else 0.0, "ci": [lo, hi]}
    per_kind: dict[str, Any] = {}
    for kind in sorted(set(kinds)):
        m = np.array([x == kind for x in kinds])
        for name, mask, wrong in (("kept_unsupported", neg & m, kept), ("removed_supported", pos & m, ~kept)):
            n = int(np.sum(mask))
            if n:
                k = int(np.sum(wrong & mask))
                per_kind.setdefault(kind, {})[name] = {"k": k, "n": n, "rate": k / n, "ci": list(wilson(k, n))}
    out["per_kind"] = per_kind
    return out


def nested(table: Table, label: np.ndarray, groups: np.ndarray, kinds: list[str], seed: int,
           subsets: list[tuple[str, ...]]) -> dict[str, Any]:
    rows = np.arange(len(label))
    outer = fold_of(groups, OUTER, seed)
    kept = np.zeros(len(label), dtype=bool)
    folds = []
    for k in range(OUTER):
        train, test = rows[outer != k], rows[outer == k]
        checks, params, _ = table.choose(train, label, groups, seed + 1 + k, subsets)
        kept[test] = table.keep(test, checks, *params)
        folds.append({"fold": k, "checks": list(checks), "min_cosine": params[0], "min_overlap": params[1],
                      "max_unmatched": params[2], "test_claims": int(len(test))})
    return {"folds": folds, **rates(kept, label, kinds), "kept": kept}


def pct(r: dict[str, Any]) -> str:
    return f"{r['rate']:.1%} ({r['k']}/{r['n']}; 95% CI {r['ci'][0]:.1%}–{r['ci'][1]:.1%})"


def to_markdown(result: dict[str, Any]) -> str:
    """The section of docs/benchmarks.md: held-out error rates of the fitted check, overall and per kind."""
    cv, old = result["cross_validated"], result["words_and_meaning_only"]
    kinds = cv["per_kind"]
    lines = [
        f"`{COMMAND}`: {result['claims']} hand-written Dutch claims over {result['passages']} passages of the "
        f"shipped corpus (`bench/questions/verify_claims.jsonl`: {result['supported']} supported, "
        f"{result['contradicted']} contradicted, {result['unsupported']} unsupported), each judged as "
        "`assistant/answer/verify.py` judges a generated sentence citing that passage. Nested cross-validation grouped "
        f"by passage: {OUTER} outer folds report, {INNER} inner folds choose which meaning checks count, the "
        "thresholds are fitted on the outer training passages (a wrongly kept sentence weighs twice). Rates are "
        "the pooled held-out verdicts with 95% Wilson intervals. Target: ≤ 2% of contradicted or unsupported "
        "claims kept, ≤ 5% of supported ones removed.", "",
        common.md_table(["check (held-out, `" + COMMAND + "`)", "contradicted or unsupported kept",
                         "supported removed"], [
            ["facts, words, meaning and the meaning checks of `assistant/answer/polarity.py`",
             pct(cv["kept_unsupported"]), pct(cv["removed_supported"])],
            ["facts, words and meaning only (the check before issue 22), same folds",
             pct(old["kept_unsupported"]), pct(old["removed_supported"])]]),
        "", f"Per kind of claim (`{COMMAND}`, held-out):", "",
        common.md_table(["kind of claim", "contradicted or unsupported kept", "supported removed"], [
            [kind, pct(v["kept_unsupported"]) if "kept_unsupported" in v else "–",
             pct(v["removed_supported"]) if "removed_supported" in v else "–"]
            for kind, v in sorted(kinds.items(), key=lambda kv: ("removed_supported" in kv[1], kv[0]))]),
        "", f"Fitted on all claims (`{COMMAND} --write`, in `assistant/answer/verify_thresholds.json`): checks "
        f"{', '.join(result['checks']) or 'none'}; cosine ≥ {result['min_cosine']:.2f}, word overlap ≥ "
        f"{result['min_overlap']:.2f}, rarest lacking word ≤ {result['max_unmatched']:.2f}. Outer folds chose "
        "(checks, cosine / overlap / rarest lacking word): "
        + "; ".join(f"{'+'.join(f['checks'])}, {f['min_cosine']:.2f}/{f['min_overlap']:.2f}/"
                    f"{f['max_unmatched']:.2f}" for f in cv["folds"]) + ".",
        "", f"English claims, judged as a foreign answer (meaning and facts; too few to fit on): "
        f"{result['english']['kept_unsupported']['k']}/{result['english']['kept_unsupported']['n']} contradicted "
        f"kept, {result['english']['removed_supported']['k']}/{result['english']['removed_supported']['n']} "
        f"supported removed. Every sentence of the corpus (six words or more) copied verbatim and citing its own "
        f"passage, which the rules were not written against: {result['verbatim']['kept']}/{result['verbatim']['n']} "
        f"kept by the fitted check. Measuring a claim takes {result['ms_per_claim']:.0f} ms (embedding included, "
        "2 shared cores).",
        "", "**The target is not met.** What stands in the way: " + result["closing_note"] + " " + OBSTACLES,
    ]
    return "\n".join(lines)


OBSTACLES = (
    "(1) Role and binding swaps between things the passage names both ('Het project IncluCities wordt geleid door "
    "MigrationWork', 'Welcome in Mechelen is een groep nieuwkomers die activiteiten voor Mechelaars organiseert') "
    "use only the passage's words, so facts, words and cosine pass them; telling who does what needs a parse or an "
    "entailment model. (2) Opposites outside the hand-kept lexicon ('beperkt zich tot de gemeentegrenzen' for 'gaat "
    "verder dan de gemeentegrenzen', 'al volledig onder controle' for 'worstelen nog') are not seen. (3) What "
    "neither the meaning checks nor the facts catch is left to the cosine and word-overlap thresholds, and e5-small "
    "puts short supported paraphrases (0.88–0.92) among invented sentences on the same topic (0.86–0.97): "
    "thresholds high enough to remove those also remove about one supported paraphrase in eight. (4) No Dutch or "
    "multilingual entailment (NLI) model that ships its weights in a package was found in the package lists, and "
    "none may be downloaded at run time. Read the figures with one caveat: the lexicons and rules of "
    "`assistant/answer/polarity.py` were written while reading this set's errors; only the choice of checks and the "
    "thresholds are cross-validated, so the rules' share of the held-out figures is optimistic for new text.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(common.REPO)}")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--errors", action="store_true", help="list the claims the held-out check gets wrong")
    args = parser.parse_args(argv)

    from assistant import Assistant
    from assistant.answer.verify import Verifier

    assistant = Assistant.load(follow=False)
    reader = assistant.reader
    rows = load_claims(reader)
    verifier = Verifier(reader, assistant.embedder)
    started = time.perf_counter()
    vectors = verifier._embed([r["claim"] for r in rows])
    signals = [verifier.measure(r["claim"], v, [r["pid"]]) for r, v in zip(rows, vectors, strict=True)]
    ms = 1000 * (time.perf_counter() - started) / len(rows)
    dutch = [i for i, r in enumerate(rows) if r["lang"] == "nl"]
    nl = [rows[i] for i in dutch]
    table = Table([signals[i] for i in dutch])
    label = np.array([r["label"] == "supported" for r in nl])
    groups = np.array([r["pid"] for r in nl])
    kinds = [r["kind"] for r in nl]
    # all checks, or all but one: few candidates, so that choosing among them does not fit noise
    subsets = [CHECKS, *itertools.combinations(CHECKS, len(CHECKS) - 1)]
    cv = nested(table, label, groups, kinds, args.seed, subsets)
    old_fixed = Table([signals[i] for i in dutch])
    old_fixed.unm[:] = 0.0
    old = nested(old_fixed, label, groups, kinds, args.seed, [()])
    checks, params, scores = table.choose(np.arange(len(nl)), label, groups, args.seed, subsets)
    english = [i for i, r in enumerate(rows) if r["lang"] != "nl"]
    fitted = Verifier(reader, assistant.embedder, min_cosine=params[0], min_overlap=params[1],
                      max_unmatched=params[2], checks=frozenset(checks))
    en_kept = np.array([fitted.judge(signals[i], foreign=True).supported for i in english])
    en_label = np.array([rows[i]["label"] == "supported" for i in english])
    # every sentence of the corpus, verbatim against its own passage: a check for false alarms the set did not shape
    own = [(pid, s.text) for pid in range(reader.passage_count) for s in reader.sentences([pid])
           if s.kind in ("sentence", "item") and len(s.text.split()) >= 6]
    own_vectors = fitted._embed([t for _, t in own])
    verbatim = [fitted.judge(fitted.measure(t, v, [pid])) for (pid, t), v in zip(own, own_vectors, strict=True)]
    kept_neg, removed_pos = cv["kept_unsupported"]["rate"], cv["removed_supported"]["rate"]
    met = kept_neg <= 0.02 and removed_pos <= 0.05
    result: dict[str, Any] = {
        "min_cosine": params[0], "min_overlap": params[1], "max_unmatched": params[2],
        "checks": list(checks), "claims": len(nl), "passages": len(set(groups.tolist())),
        "supported": int(label.sum()), "contradicted": sum(r["label"] == "contradicted" for r in nl),
        "unsupported": sum(r["label"] == "unsupported" for r in nl),
        "cross_validated": {k: v for k, v in cv.items() if k != "kept"},
        "words_and_meaning_only": {k: v for k, v in old.items() if k != "kept"},
        "inner_scores_on_all": scores,
        "english": rates(en_kept, en_label, ["en"] * len(english)),
        "ms_per_claim": ms, "target_met": met,
        "verbatim": {"n": len(verbatim), "kept": sum(v.supported for v in verbatim),
                     "removed_by": sorted({v.reason for v in verbatim if not v.supported})},
        "meta": {"index_version": reader.version_id, "seed": args.seed, "data": str(CLAIMS.relative_to(common.REPO)),
                 "wrong_keep_weight": WRONG_KEEP_WEIGHT},
    }
    result["closing_note"] = closing_note(result, nl, cv["kept"], label)
    print(f"{len(nl)} Dutch claims ({int(label.sum())} supported) over {result['passages']} passages; "
          f"{ms:.0f} ms per claim")
    for f in cv["folds"]:
        print(f"  outer fold {f['fold']}: checks {'+'.join(f['checks']) or 'none'}, cos >= {f['min_cosine']:.2f}, "
              f"overlap >= {f['min_overlap']:.2f}, unmatched <= {f['max_unmatched']:.2f}")
    print(f"held-out: contradicted/unsupported kept {pct(cv['kept_unsupported'])}, supported removed "
          f"{pct(cv['removed_supported'])}")
    print(f"words and meaning only: kept {pct(old['kept_unsupported'])}, removed {pct(old['removed_supported'])}")
    for kind, v in sorted(cv["per_kind"].items()):
        print(f"  {kind:18s} " + "  ".join(f"{name} {pct(r)}" for name, r in v.items()))
    print(f"fitted on all: {result['checks']}, {params}; English: {result['english']['kept_unsupported']['k']} "
          f"kept of {result['english']['kept_unsupported']['n']}, {result['english']['removed_supported']['k']} "
          f"removed of {result['english']['removed_supported']['n']}")
    print(f"target met: {met}; verbatim corpus sentences kept {result['verbatim']['kept']}/{result['verbatim']['n']}")
    if args.errors:
        for name, flag in [*table.flags.items(), ("facts", ~table.facts_ok)]:
            others = np.zeros(len(label), dtype=bool)
            for o, f in table.flags.items():
                if o != name:
                    others |= f
            others |= ~table.facts_ok if name != "facts" else False
            print(f"{name:17s} fires on {int(np.sum(flag & ~label))} negatives ({int(np.sum(flag & ~label & ~others))} "
                  f"only it) and {int(np.sum(flag & label))} supported")
        for r, s, k, y in zip(nl, [signals[i] for i in dutch], cv["kept"], label, strict=True):
            if k != y:
                verdict = "KEPT" if k else "REMOVED"
                print(f"{verdict:8s} {r['id']} {r['label']:12s} {r['kind']:12s} cos {s.cosine:.3f} lex "
                      f"{s.overlap:.2f} unm {s.unmatched:.2f} bind {list(s.binding)} qty {list(s.quantities)} "
                      f"neg {s.negation_added}/{s.negation_dropped}/{s.negation_unmentioned} ant {list(s.antonyms)} "
                      f"roles {list(s.roles)} facts {list(s.facts)} opening {s.opening!r}: {r['claim']}")
    if args.write:
        OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {OUT.relative_to(common.REPO)}")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def closing_note(result: dict[str, Any], rows: list[dict[str, Any]], kept: np.ndarray, label: np.ndarray) -> str:
    """Which kinds of claim the held-out check still gets wrong, most first (generated from the figures)."""
    wrong_keep: dict[str, int] = {}
    wrong_remove: dict[str, int] = {}
    for r, k, y in zip(rows, kept, label, strict=True):
        if k and not y:
            wrong_keep[r["kind"]] = wrong_keep.get(r["kind"], 0) + 1
        elif y and not k:
            wrong_remove[r["kind"]] = wrong_remove.get(r["kind"], 0) + 1
    if result["target_met"]:
        return "nothing on this set; the set is small, see the intervals."

    def most(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])) or "none"

    return (f"the held-out check keeps contradicted or unsupported claims of these kinds: {most(wrong_keep)}; "
            f"and removes supported claims of these kinds: {most(wrong_remove)}.")


if __name__ == "__main__":
    sys.exit(main())
