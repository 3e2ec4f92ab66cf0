"""What a person reads, through the public contract only, so that any checkout can be scored the same way.

    PYTHONPATH=<checkout> .venv/bin/python bench/reading_score.py    # run in <checkout>, on its own index
    .venv/bin/python bench/reading_score.py --sets train,dev          # the tuning sets, to choose a variant

For the held-out questions (bench/questions/test_*.jsonl) and the shared dev sets: the share of answerable
questions whose answer text states the fact (a gold string, normalised), the share whose fact starts within the
first 160 characters, the median length of the answers given, false refusals and refusals. It uses nothing but
``Assistant.ask`` and ``assistant.evaluation.read_questions``/``normalise``, which older versions have too: it is
how docs/benchmarks.md compares this session's answers with the code at its start.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from assistant import Assistant
from assistant.evaluation import normalise, read_questions

HERE = Path(__file__).resolve().parent
# single questions only: the conversation set test_followups.jsonl is bench/followups.py's
SETS = {"held-out": sorted(p for p in (HERE / "questions").glob("test_*.jsonl") if "followups" not in p.name),
        "dev": [HERE.parent.parent / "shared" / "eval" / "dev.jsonl",
                HERE.parent.parent / "shared" / "eval" / "dev_nearmiss.jsonl"],
        "train": sorted(p for p in (HERE / "questions").glob("train_*.jsonl") if "followups" not in p.name)}
LEAD = 160


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="held-out,dev",
                        help=f"comma-separated, of {', '.join(SETS)}; 'train' is our tuning set: use it (with dev) "
                             "to choose between variants, and held-out only to report the choice")
    names = parser.parse_args(argv).sets.split(",")
    assistant = Assistant.load(follow=False)
    for name in names:
        paths = SETS[name]
        questions = [q for p in paths if p.is_file() for q in read_questions(p)]
        states = lead = answerable = false_refusals = unanswerable = refused = 0
        lengths = []
        for q in questions:
            answer = assistant.ask(q.question)
            if answer.found:
                lengths.append(len(answer.text))
            if not q.gold:
                unanswerable += 1
                refused += not answer.found
                continue
            answerable += 1
            false_refusals += not answer.found
            text = normalise(answer.text) if answer.found else ""
            at = [i for i in (text.find(normalise(g)) for g in q.gold) if i >= 0]
            states += bool(at)
            lead += bool(at) and min(at) < LEAD
        print(f"{name}: states the fact {states / answerable:.2f}, fact in the first {LEAD} characters "
              f"{lead / answerable:.2f}, median answer {statistics.median(lengths):.0f} characters, false refusals "
              f"{false_refusals}/{answerable}, refused {refused}/{unanswerable}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
