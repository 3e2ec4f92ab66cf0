"""Retrieval quality: Wegwijzer against baselines built in the same run from common parts.

Systems, all on the same corpus files and the same multilingual-e5-small model (with its
``query: ``/``passage: `` prompts):

* **wegwijzer** -- ``Assistant.ask`` through the public contract, on an index built here by ``ingest()``.
* **lc-dense** -- LangChain ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``
  chunks, embedded with the same model, exact cosine search.
* **lc-bm25** -- BM25 alone (``rank_bm25.BM25Okapi``) over the same chunks, lower-cased word tokens.
* **lc-hybrid** -- the "common pipeline": lc-dense and lc-bm25 fused by reciprocal rank (k=60).

Metrics over answerable questions: hit@1, hit@5, MRR, and hit within the first 1500 characters of
cited text (``assistant.evaluation.first_hit(max_chars=1500)``: bigger passages cannot buy recall).
Abstention accuracy on unanswerable questions only for Wegwijzer (the baselines always answer).
Question sets are reported separately: the shared dev set and bench/extra_questions.jsonl.

    .venv/bin/python bench/quality.py [--json-out FILE]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import common
import numpy as np

TOP_K = 5
RRF_K = 60


def _answer(question: str, chunks: list[dict[str, Any]], order: list[int], scores: np.ndarray) -> Any:
    from assistant.types import Answer, Citation

    cites = tuple(
        Citation(n=i + 1, text=chunks[j]["text"], title=chunks[j]["source"], source=chunks[j]["source"], page=None,
                 section="", score=float(scores[j]), passage_id=j, start=chunks[j]["start"],
                 end=chunks[j]["start"] + len(chunks[j]["text"]))
        for i, j in enumerate(order[:TOP_K])
    )
    return Answer(question=question, found=True, text="", citations=cites)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class Baselines:
    """LangChain chunks of the corpus with dense, BM25 and RRF-fused search."""

    def __init__(self, embedder: Any) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter
        from rank_bm25 import BM25Okapi

        from ingest.loaders import discover, load_document

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        self.chunks: list[dict[str, Any]] = []
        files, _ = discover(common.CORPUS)
        for path, source in files:
            doc = load_document(path, source)
            for d in splitter.create_documents([doc.text]):
                self.chunks.append({"source": source, "start": d.metadata["start_index"], "text": d.page_content})
        self.embedder = embedder
        t0 = time.perf_counter()
        self.vectors = embedder.embed_passages([c["text"] for c in self.chunks])
        self.embed_s = time.perf_counter() - t0
        self.bm25 = BM25Okapi([_tokens(c["text"]) for c in self.chunks])

    def _dense(self, question: str) -> np.ndarray:
        return self.vectors @ self.embedder.embed_queries([question])[0]

    def _bm25(self, question: str) -> np.ndarray:
        return np.asarray(self.bm25.get_scores(_tokens(question)), dtype=np.float64)

    def dense(self, question: str) -> Any:
        s = self._dense(question)
        return _answer(question, self.chunks, list(np.argsort(-s, kind="stable")), s)

    def lexical(self, question: str) -> Any:
        s = self._bm25(question)
        return _answer(question, self.chunks, list(np.argsort(-s, kind="stable")), s)

    def hybrid(self, question: str) -> Any:
        fused = np.zeros(len(self.chunks))
        for s in (self._dense(question), self._bm25(question)):
            for rank, j in enumerate(np.argsort(-s, kind="stable")):
                fused[j] += 1.0 / (RRF_K + rank + 1)
        return _answer(question, self.chunks, list(np.argsort(-fused, kind="stable")), fused)


def run() -> dict[str, Any]:
    from assistant import Assistant
    from assistant.config import Settings
    from assistant.evaluation import evaluate, read_questions
    from ingest.build import ingest

    embedder, load_s = common.real_embedder()
    sets = {"dev": read_questions(common.DEV_SET), "extra": read_questions(common.EXTRA_SET)}
    with common.temp_data_dir() as data:
        settings = Settings(data_dir=data, corpus_dir=common.CORPUS)
        report = ingest(settings, embedder=embedder)
        assistant = Assistant.load(settings=settings, embedder=embedder)
        assistant.ask("opwarmen")
        passages = assistant.reader.passages(range(assistant.reader.passage_count))  # passage sizes for the table
        ours_sizes = [len(p.text) for p in passages]
        base = Baselines(embedder)
        systems = {
            "wegwijzer": lambda q: assistant.ask(q, top_k=TOP_K),
            "lc-dense": base.dense,
            "lc-bm25": base.lexical,
            "lc-hybrid": base.hybrid,
        }
        results: dict[str, Any] = {}
        for set_name, questions in sets.items():
            results[set_name] = {}
            for name, ask in systems.items():
                # Wegwijzer is also asked every question mid-conversation (turn 2 to 4 after other questions):
                # a question that stands on its own must get the same verdict as when asked alone.
                r = evaluate(ask, questions, ask_in=(lambda q, c: assistant.ask(q, top_k=TOP_K, conversation=c))
                             if name == "wegwijzer" else None)
                if name != "wegwijzer":
                    r.pop("questions")
                results[set_name][name] = r
                a = r["answerable"]["all"]
                print(f"{set_name:<6}{name:<11} hit@1 {a['hit@1']:.2f}  hit@5 {a['hit@5']:.2f}  MRR {a['mrr']:.2f}  "
                      f"hit≤1500 {a['hit@1500chars']:.2f}"
                      + (f"  abstention {r['abstention']['accuracy']:.2f} ({r['abstention']['n']})  "
                         f"false abstentions {r['false_abstentions']}" if name == "wegwijzer" else ""),
                      flush=True)
    lc_sizes = [len(c["text"]) for c in base.chunks]
    return {
        "sets": {k: {"path": str(p), "questions": len(sets[k]), "answerable": sum(q.answerable for q in sets[k])}
                 for k, p in (("dev", common.DEV_SET), ("extra", common.EXTRA_SET))},
        "results": results,
        "passages": {"wegwijzer": {"n": len(ours_sizes), "mean_chars": round(float(np.mean(ours_sizes))),
                                   "max_chars": max(ours_sizes)},
                     "langchain": {"n": len(lc_sizes), "mean_chars": round(float(np.mean(lc_sizes))),
                                   "max_chars": max(lc_sizes)}},
        "model_load_s": round(load_s, 2), "ingest_s": report.seconds, "baseline_embed_s": round(base.embed_s, 2),
        "loadavg_end": common.loadavg(),
    }


LABELS = {"wegwijzer": "**Wegwijzer** (`Assistant.ask`)", "lc-dense": "LangChain 1000/200 + e5, exact search",
          "lc-bm25": "LangChain 1000/200 + BM25 alone", "lc-hybrid": "LangChain 1000/200 + e5 + BM25, RRF"}


def to_markdown(r: dict[str, Any]) -> str:
    from assistant.evaluation import misses_of

    out = []
    for set_name, systems in r["results"].items():
        meta = r["sets"][set_name]
        out += [f"**{set_name}** — `{Path(meta['path']).name}`: {meta['questions']} questions, "
                f"{meta['answerable']} answerable.", ""]
        rows = []
        for name, res in systems.items():
            a = res["answerable"]["all"]
            ab = res["abstention"]
            rows.append([LABELS[name], f"{a['hit@1']:.2f}", f"{a['hit@5']:.2f}", f"{a['mrr']:.2f}",
                         f"{a['hit@1500chars']:.2f}",
                         f"{ab['accuracy']:.2f} of {ab['n']}; {res['false_abstentions']} answerable abstained"
                         if name == "wegwijzer" else "— (never abstains)",
                         f"{res['latency_ms']['p50']:.0f}"])
        out.append(common.md_table(["system", "hit@1", "hit@5", "MRR", "hit ≤1500 chars", "abstention",
                                    "p50 ms"], rows))
        kinds = [k for k in systems["wegwijzer"]["answerable"] if k != "all"]
        krows = [[k, systems["wegwijzer"]["answerable"][k]["n"]]
                 + [f"{systems[s]['answerable'][k]['hit@1']:.2f}" for s in systems] for k in kinds]
        out += ["", "hit@1 by question kind:", "", common.md_table(["kind", "n", *systems], krows), ""]
        ours = systems["wegwijzer"]
        reading = ours["reading"]["all"]
        mid = ours.get("mid_conversation") or {}
        if reading.get("fact_in_lead") is not None:
            out += ["What a person reads (Wegwijzer): the answer text states the fact "
                    f"{reading['states_fact']:.2f}; the fact starts within the first 160 characters "
                    f"{reading['fact_in_lead']:.2f}; median found answer {reading['median_chars']:.0f} characters"
                    + (f"; asked as turn 2 to 4 of a conversation, {mid['changed']} of {mid['n']} questions change "
                       "verdict (refused / states the fact / answers without it) against asked alone"
                       + (f" ({', '.join(c['id'] for c in mid['changes'])})" if mid.get("changes") else "")
                       if mid else "") + ".", ""]
        misses = misses_of(systems["wegwijzer"])
        out += [f"Wegwijzer misses at rank 1 / wrong abstentions: {', '.join(misses) or 'none'}.", ""]
    p = r["passages"]
    out.append(f"Passages: Wegwijzer {p['wegwijzer']['n']} (mean {p['wegwijzer']['mean_chars']} chars, max "
               f"{p['wegwijzer']['max_chars']}); LangChain {p['langchain']['n']} chunks (mean "
               f"{p['langchain']['mean_chars']}, max {p['langchain']['max_chars']}). Latency p50 is per question, "
               "query embedding included.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    result = run()
    print(to_markdown(result))
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
