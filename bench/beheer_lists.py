"""Cost of the admin page's lists: unanswered questions grouped and counted, and the feedback list.

    .venv/bin/python bench/beheer_lists.py [--sizes 1000,5000] [--rounds 5]

Fills a throw-away feedback database (the real SQLite ``FeedbackStore``) with refused questions: mostly
distinct ones built from Dutch words, a fifth of them asked again word for word, a tenth with a typo.
Prints, per size, the median milliseconds of ``FeedbackStore.unanswered()`` (the SELECT and the
grouping, what ``GET /beheer/api/unanswered`` does) and of ``recent_feedback(1000)``, and how many
groups came out. ``unanswered()`` reads at most the 5000 most recent refused questions, so sizes above
that cost the same as 5000.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.stores.feedback import FeedbackStore  # noqa: E402

ASKS = ["Waar vind ik", "Hoe vraag ik", "Wie betaalt", "Wanneer start", "Hoeveel kost", "Wat is"]
THINGS = ["een premie", "de subsidie", "het inburgeringstraject", "een taalcursus", "de huurwaarborg",
          "het leefloon", "een tolk", "de kinderopvang", "een sportkamp", "het buurtwerk", "de woonbegeleiding",
          "een vrijwilligersverzekering", "het jeugdwerk", "een parkeerkaart", "de bibliotheekpas"]
FOR = ["nieuwkomers", "senioren", "jongeren", "alleenstaande ouders", "studenten", "werkzoekenden",
       "vluchtelingen", "verenigingen", "scholen", "buurtbewoners"]
PLACES = ["Aalst", "Genk", "Mechelen", "Lokeren", "Tienen", "Ieper", "Geel", "Lier", "Ninove", "Tielt",
          "Mol", "Dilbeek", "Heist", "Bilzen", "Wetteren", "Zele", "Hamme", "Boom", "Diest", "Eeklo"]


def questions(n: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    for _ in range(n):
        roll = rng.random()
        if out and roll < 0.2:
            out.append(rng.choice(out))  # asked again, word for word
        elif out and roll < 0.3:
            q = list(rng.choice(out))
            i = rng.randrange(1, len(q) - 2)
            q[i], q[i + 1] = q[i + 1], q[i]  # a typo
            out.append("".join(q))
        else:
            out.append(f"{rng.choice(ASKS)} {rng.choice(THINGS)} voor {rng.choice(FOR)} in {rng.choice(PLACES)}?")
    return out


def median_ms(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(sizes: list[int], rounds: int) -> list[dict[str, float]]:
    rng = random.Random(10)
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = FeedbackStore(Path(tmp) / "feedback.sqlite3")
            for i, q in enumerate(questions(size, rng)):
                store.record_answer(f"a{i}", "web", q, False, [])
                if i % 10 == 0:  # every tenth answer also gets a vote
                    store.add_feedback(f"a{i}", "web", i % 20 == 0, comment="bench", user_ref=f"u{i}")
            groups = len(store.unanswered(limit=10**9))
            unanswered = median_ms(lambda s=store: s.unanswered(), rounds)
            feedback = median_ms(lambda s=store: s.recent_feedback(1000), rounds)
            store.close()
        row = {"refused": size, "groups": groups, "unanswered_ms": round(unanswered, 1),
               "feedback_ms": round(feedback, 1)}
        print(f"{size:>6} refused questions -> {groups:>5} groups: unanswered() {row['unanswered_ms']} ms, "
              f"recent_feedback(1000) {row['feedback_ms']} ms (median of {rounds})", flush=True)
        results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="comma-separated numbers of refused questions")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    results = run([int(s) for s in args.sizes.split(",") if s.strip()], args.rounds)
    if args.json_out:
        args.json_out.write_text(json.dumps({"results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
