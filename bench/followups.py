"""Follow-up questions: is the expected passage the first citation of the later turns of a conversation?

    .venv/bin/python bench/followups.py                       # in-process Assistant on the data directory
    .venv/bin/python bench/followups.py --url http://127.0.0.1:8000   # over the API of a running service
    .venv/bin/python bench/followups.py --write               # also update the section in docs/benchmarks.md
    .venv/bin/python bench/followups.py --set bench/questions/train_followups.jsonl  # tuning set, like the default
    .venv/bin/python bench/followups.py --set bench/questions/test_followups.jsonl   # held-out set: final report only

Runs bench/questions/followups.jsonl: every case is one conversation; each later turn counts as a
follow-up, except the last turn of a ``topic_change`` case, which counts as a change of topic (it must
be answered without the old topic). A turn is a hit when the text of its first citation contains one of
the turn's gold strings (whitespace collapsed, casefolded: the rule of ``assistant.evaluation``). The same
later turns asked without their conversation are the baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common

SET = common.REPO / "bench" / "questions" / "followups.jsonl"
OUT = common.REPO / "docs" / "benchmarks.md"
START, END = "<!-- followups:start -->", "<!-- followups:end -->"

Ask = Callable[[str, str | None], dict[str, Any]]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def first_citation_hit(answer: dict[str, Any], gold: list[str]) -> bool:
    cited = answer.get("citations") or []
    if not cited:
        return False
    text = _norm(cited[0].get("text", ""))
    return any(_norm(g) in text for g in gold)


LEAD_CHARS = 160
_QUOTE = re.compile(r"([^\[\]\n]+?)\s*\[\d+\]")


def quoted(text: str) -> set[str]:
    """The sentences an answer quotes (the text before each [n] marker), normalised."""
    return {_norm(m.group(1)).lstrip("- ") for m in _QUOTE.finditer(text) if len(m.group(1).strip()) > 12}


def reading(answer: dict[str, Any], gold: list[str], previous: str) -> dict[str, bool]:
    """Does the answer text state the gold fact, does it start within the first 160 characters, does the
    answer quote again a sentence the previous answer quoted, and is one of those repeats not the asked fact
    (it drags the previous answer along)?"""
    text = _norm(answer.get("text", "")) if answer.get("found") else ""
    at = [text.find(_norm(g)) for g in gold]
    hits = [a for a in at if a >= 0]
    again = quoted(answer.get("text", "")) & quoted(previous)
    return {"states": bool(hits), "leads": bool(hits) and min(hits) < LEAD_CHARS, "repeats": bool(again),
            "drags": any(not any(_norm(g) in sentence for g in gold) for sentence in again)}


def in_process() -> Ask:
    from assistant import Assistant

    assistant = Assistant.load(follow=False)
    assistant.ask("opwarmen")

    def ask(question: str, conversation: str | None) -> dict[str, Any]:
        answer = assistant.ask(question, conversation=conversation)
        data = answer.to_dict()
        if conversation:
            turn = assistant.history(conversation)
            data["how"] = turn.last.how if turn and turn.last else ""
        return data

    return ask


def over_http(url: str) -> Ask:
    import httpx

    client = httpx.Client(base_url=url, timeout=60)

    def ask(question: str, conversation: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"question": question}
        if conversation:
            body["conversation_id"] = conversation
        response = client.post("/api/ask", json=body)
        response.raise_for_status()
        return dict(response.json())

    return ask


def run(ask: Ask, cases: list[dict[str, Any]]) -> dict[str, Any]:
    from assistant.stores.conversation import new_conversation_id

    rows = []
    for case in cases:
        conversation = new_conversation_id()
        turns = case["turns"]
        previous = ""
        for i, turn in enumerate(turns):
            started = time.perf_counter()
            answer = ask(turn["question"], conversation)
            ms = (time.perf_counter() - started) * 1000
            conversation = answer.get("conversation_id") or conversation
            before, previous = previous, answer.get("text", "") if answer.get("found") else ""
            if i == 0:
                continue
            kind = "topic_change" if case["kind"] == "topic_change" and i == len(turns) - 1 else "followup"
            alone = ask(turn["question"], None)
            rows.append({"id": case["id"], "turn": i + 1, "lang": case["lang"], "kind": kind,
                         "question": turn["question"], "hit": first_citation_hit(answer, turn["gold"]),
                         "alone_hit": first_citation_hit(alone, turn["gold"]), "found": answer.get("found"),
                         "how": answer.get("how", ""), "ms": ms, **reading(answer, turn["gold"], before),
                         "first": (answer.get("citations") or [{}])[0].get("text", "")[:80]})
    summary: dict[str, Any] = {}
    for kind in ("followup", "topic_change"):
        mine = [r for r in rows if r["kind"] == kind]
        summary[kind] = {"turns": len(mine), "hits": sum(r["hit"] for r in mine),
                         "states": sum(r["states"] for r in mine), "leads": sum(r["leads"] for r in mine),
                         "repeats": sum(r["repeats"] for r in mine), "drags": sum(r["drags"] for r in mine),
                         "alone_hits": sum(r["alone_hit"] for r in mine),
                         "how": dict(Counter(r["how"] for r in mine if r["how"]))}
    return {"rows": rows, "summary": summary}


def markdown(result: dict[str, Any], command: str) -> str:
    s = result["summary"]
    lines = [START, "## Follow-up questions", "",
             f"`{command}`: the {sum(v['turns'] for v in s.values())} later turns of the "
             "conversations in `bench/questions/followups.jsonl`, asked in their conversation (no language "
             "model). A turn counts when its first citation holds the turn's gold phrase. *Alone* is the same "
             "question asked without its conversation.", "",
             common.md_table(["turns", "count", "first citation right", "text states the fact",
                              "fact in first 160 chars", "quotes the previous answer again",
                              "of which not the asked fact", "alone",
                              "searched with context"],
                             [[k.replace("_", " "), v["turns"], f"{v['hits']} ({v['hits'] / max(v['turns'], 1):.0%})",
                               v["states"], v["leads"], v["repeats"], v["drags"],
                               f"{v['alone_hits']} ({v['alone_hits'] / max(v['turns'], 1):.0%})",
                               ", ".join(f"{how} {n}" for how, n in sorted(v["how"].items())) or "-"]
                              for k, v in s.items()]), ""]
    misses = [f"{r['id']}/{r['turn']}" for r in result["rows"] if not r["hit"]]
    lines += [f"Misses: {', '.join(misses) if misses else 'none'}. The follow-up set was used to develop the "
              "follow-up rules (no fitted number; see `assistant/answer/followup.py`), so these are development "
              "figures, not held-out ones.", END]
    return "\n".join(lines)


def write_section(section: str, path: Path = OUT) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        marker = "\n## Run times"
        block = "\n" + section + "\n"
        text = text.replace(marker, block + marker, 1) if marker in text else text + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="ask a running service over POST /api/ask instead of in-process")
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--write", action="store_true", help="update the section in docs/benchmarks.md")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per turn")
    args = parser.parse_args(argv)
    cases = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    ask = over_http(args.url) if args.url else in_process()
    result = run(ask, cases)
    for r in result["rows"]:
        if args.verbose or not r["hit"]:
            print(f"{'ok  ' if r['hit'] else 'MISS'} {r['id']}/{r['turn']} {r['kind']:<12} {r['how']:<9} "
                  f"alone={'ok' if r['alone_hit'] else '--'} {r['question']}  ->  {r['first']!r}")
    for kind, v in result["summary"].items():
        print(f"{kind}: {v['hits']}/{v['turns']} first citation right (alone: {v['alone_hits']}); text states the "
              f"fact {v['states']}, in the first 160 chars {v['leads']}, quotes the previous answer again "
              f"{v['repeats']} (not the asked fact: {v['drags']}); {v['how']}")
    command = "python bench/followups.py" + (f" --url {args.url}" if args.url else "")
    if args.write:
        write_section(markdown(result, command))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
