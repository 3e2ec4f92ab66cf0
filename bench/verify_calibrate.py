"""Fit the verification thresholds (assistant/verify.py) on sentences of the corpus, with cross-validation.

    .venv/bin/python bench/verify_calibrate.py            # print the cross-validated figures
    .venv/bin/python bench/verify_calibrate.py --write    # also write assistant/verify_thresholds.json

What a model writes is mostly a passage's sentence shortened, or two of its sentences joined; what it
makes up is mostly a sentence about a neighbouring topic. So, for every passage P of the shipped corpus:

* **supported** claims cite P and are made from P's own sentences: a sentence with a third of its words
  (not its names or numbers) left out, and two neighbouring sentences joined, each shortened;
* **unsupported** claims cite P but come from the passage nearest to P (same topic, other facts),
  shortened the same way.

The fact check (names and numbers must be in P) runs first, as in the verifier; the thresholds are
fitted for what it lets through.

Each claim gets the two signals the verifier uses (best cosine, word overlap). The thresholds
(MIN_COSINE, MIN_OVERLAP) are chosen on a grid to minimise wrong keeps (weighted twice: a kept
unsupported sentence misleads) plus wrong removals, in 5-fold cross-validation grouped by passage; the
figures reported are the held-out ones, and the final thresholds are fitted on all claims.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import common
import numpy as np

OUT = common.REPO / "assistant" / "verify_thresholds.json"
COSINES = np.round(np.arange(0.80, 0.96, 0.005), 3)
OVERLAPS = np.round(np.arange(0.2, 0.85, 0.05), 2)
WRONG_KEEP_WEIGHT = 2.0
FOLDS = 5


def shorten(text: str, rng: random.Random, keep: float = 0.67) -> str:
    """Leave out about a third of the words, never a name or a number (a model keeps those)."""
    words = text.split()
    if len(words) <= 6:
        return text
    kept = [w for i, w in enumerate(words) if i == 0 or w[:1].isupper() or any(ch.isdigit() for ch in w)
            or rng.random() < keep]
    return " ".join(kept)


# How written answers open a sentence: they name the source, or frame the fact. Both sides get them.
FRAMES = ("Volgens het document", "De tekst vermeldt dat", "In de documenten staat dat", "Het document zegt dat",
          "Volgens {title}", "{title} vermeldt dat")


def framed(text: str, title: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return text
    frame = rng.choice(FRAMES).format(title=title)
    return f"{frame} {text[:1].lower() + text[1:] if frame.endswith('dat') else text}"


def claims(reader: Any, rng: random.Random) -> list[dict[str, Any]]:
    ids = list(range(reader.passage_count))
    vectors = reader.passage_vectors(ids)
    out = []
    for pid in ids:
        own = [s for s in reader.sentences([pid]) if s.kind in ("sentence", "item") and len(s.text.split()) >= 6]
        if not own:
            continue
        sims = vectors @ vectors[pid]
        sims[pid] = -1
        neighbour = int(np.argmax(sims))
        other = [s for s in reader.sentences([neighbour]) if s.kind in ("sentence", "item")
                 and len(s.text.split()) >= 6]
        title = reader.passages([pid])[0].title
        for s in rng.sample(own, min(3, len(own))):
            out.append({"pid": pid, "text": framed(shorten(s.text, rng), title, rng), "supported": True})
        pairs = list(zip(own, own[1:], strict=False))
        if pairs:
            a, b = rng.choice(pairs)
            out.append({"pid": pid, "text": framed(shorten(a.text, rng).rstrip(".") + " en " + shorten(b.text, rng),
                                                   title, rng), "supported": True})
        for s in rng.sample(other, min(3, len(other))):
            if s.text in reader.passages([pid])[0].text:
                continue  # the same sentence in both passages is support, not a counterexample
            out.append({"pid": pid, "text": framed(shorten(s.text, rng), title, rng), "supported": False})
    return out


def cost(cos: np.ndarray, lex: np.ndarray, label: np.ndarray, tc: float, tl: float) -> float:
    keep = (cos >= tc) & (lex >= tl)  # claims whose facts the passage lacks come in with cos = -1 (removed)
    wrong_keep = float(np.sum(keep & ~label))
    wrong_remove = float(np.sum(~keep & label))
    return WRONG_KEEP_WEIGHT * wrong_keep + wrong_remove


def fit(cos: np.ndarray, lex: np.ndarray, label: np.ndarray) -> tuple[float, float]:
    """The grid point of least cost; of equally good ones, the middle (robust to both kinds of error)."""
    grid = [(cost(cos, lex, label, tc, tl), float(tc), float(tl)) for tc in COSINES for tl in OVERLAPS]
    least = min(g[0] for g in grid)
    best = sorted((tc, tl) for c, tc, tl in grid if c == least)
    return best[len(best) // 2]


def rates(cos: np.ndarray, lex: np.ndarray, label: np.ndarray, tc: float, tl: float) -> dict[str, float]:
    keep = (cos >= tc) & (lex >= tl)
    return {"kept_unsupported": float(np.mean(keep[~label])) if (~label).any() else 0.0,
            "removed_supported": float(np.mean(~keep[label])) if label.any() else 0.0,
            "accuracy": float(np.mean(keep == label))}


def to_markdown(result: dict[str, Any]) -> str:
    """The section of docs/benchmarks.md: held-out error rates of the fitted thresholds."""
    cv, alone = result["cross_validated"], result["cosine_only"]
    return "\n".join([
        f"`python bench/verify_calibrate.py`: {result['claims']} claims made from {result['passages']} passages of "
        f"the shipped corpus ({result['supported']} supported: a passage's own sentences shortened or joined; "
        f"{result['unsupported']} unsupported: sentences of the nearest other passage), checked as "
        "`assistant/verify.py` checks a sentence written by a language model. Thresholds chosen on a grid with "
        "5-fold cross-validation grouped by passage; a wrongly kept sentence weighs twice.", "",
        common.md_table(["thresholds", "unsupported kept", "supported removed", "accuracy"], [
            [f"cosine and word overlap (on all claims: ≥ {result['min_cosine']:.3f}, "
             f"≥ {result['min_overlap']:.2f}), held-out",
             f"{cv['kept_unsupported']:.1%}", f"{cv['removed_supported']:.1%}", f"{cv['accuracy']:.1%}"],
            ["cosine alone (no word overlap), fitted and measured on all claims", f"{alone['kept_unsupported']:.1%}",
             f"{alone['removed_supported']:.1%}", f"{alone['accuracy']:.1%}"]]),
        "", "These are claims made from the corpus, not sentences a model wrote; `make llm-smoke` below shows "
        "the check on a real model's output."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(common.REPO)}")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    from assistant import Assistant
    from assistant.verify import Verifier

    assistant = Assistant.load(follow=False)
    reader = assistant.reader
    rng = random.Random(args.seed)
    data = claims(reader, rng)
    verifier = Verifier(reader, assistant.embedder)
    vectors = verifier._embed([c["text"] for c in data])
    cos = np.array([verifier.cosine(v, [c["pid"]]) for c, v in zip(data, vectors, strict=True)])
    lex = np.array([verifier.overlap(c["text"], [c["pid"]]) for c in data])
    facts_ok = np.array([not verifier.missing_facts(c["text"], [c["pid"]]) for c in data])
    print(f"the fact check alone removes {np.mean(~facts_ok[~np.array([c['supported'] for c in data])]):.1%} of the "
          f"unsupported claims and {np.mean(~facts_ok[np.array([c['supported'] for c in data])]):.1%} of the supported")
    cos = np.where(facts_ok, cos, -1.0)  # removed whatever the thresholds: the thresholds judge the rest
    label = np.array([c["supported"] for c in data])
    pids = sorted({c["pid"] for c in data})
    rng.shuffle(pids)
    fold_of = {pid: i % FOLDS for i, pid in enumerate(pids)}
    folds = np.array([fold_of[c["pid"]] for c in data])
    held_out = []
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        tc, tl = fit(cos[train], lex[train], label[train])
        held_out.append({"fold": k, "min_cosine": tc, "min_overlap": tl, **rates(cos[test], lex[test], label[test],
                                                                               tc, tl)})
    tc, tl = fit(cos, lex, label)
    cv = {key: float(np.mean([f[key] for f in held_out])) for key in ("kept_unsupported", "removed_supported",
                                                                         "accuracy")}
    result = {"min_cosine": tc, "min_overlap": tl, "claims": len(data), "supported": int(label.sum()),
              "unsupported": int((~label).sum()), "passages": len(pids), "cross_validated": cv, "folds": held_out,
              "on_all_claims": rates(cos, lex, label, tc, tl),
              "cosine_only": rates(cos, np.ones_like(lex), label, *fit(cos, np.ones_like(lex), label)),
              "meta": {"index_version": reader.version_id, "seed": args.seed, "data": "shipped corpus, "
                       "claims made by bench/verify_calibrate.py", "wrong_keep_weight": WRONG_KEEP_WEIGHT}}
    print(f"{len(data)} claims ({int(label.sum())} supported, {int((~label).sum())} not) from {len(pids)} passages")
    for f in held_out:
        print(f"  fold {f['fold']}: cos >= {f['min_cosine']:.3f}, overlap >= {f['min_overlap']:.2f}: "
              f"kept unsupported {f['kept_unsupported']:.1%}, removed supported {f['removed_supported']:.1%}")
    print(f"cross-validated: kept unsupported {cv['kept_unsupported']:.1%}, removed supported "
          f"{cv['removed_supported']:.1%}, accuracy {cv['accuracy']:.1%}")
    print(f"fitted on all: MIN_COSINE {tc:.3f}, MIN_OVERLAP {tl:.2f}; cosine alone would give "
          f"{result['cosine_only']}")
    if args.write:
        OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {OUT.relative_to(common.REPO)}")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
