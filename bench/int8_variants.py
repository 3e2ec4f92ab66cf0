"""int8 recipes for the question embedding, against fp32: speed, cosine and the answers users read.

The passages stay fp32 (the index and the calibrated evidence models are unchanged); only the question goes
through an int8 model, as the issue's "int8 where it keeps the quality figures" would use it. Recipes are ONNX
Runtime's dynamic quantisation of the fp32 export (``onnxruntime.quantization.quantize_dynamic``, MatMul with
constant weights only), on different sets of the encoder's linear layers:

* ``avx2``: the shipped ``onnx-int8`` file (sentence-transformers' export, optimum's avx2 config, every MatMul);
* ``all``: every linear layer (attention projections and feed-forward), int8 weights per channel;
* ``ffn``: the feed-forward layers only (two thirds of the encoder's multiply-adds), per channel;
* ``ffn-up``: the feed-forward up-projection only, per channel.

For each: one question on one thread (p50 over the questions, three rounds), cosine to the fp32 vectors, and
through ``Assistant.ask`` on the shipped corpus hit@1, hit@5, states-the-fact, refusals and false refusals, on
the dev sets and on bench/questions/train_*. The held-out sets (test_*) only with ``--held-out``, for a final
report: they must not choose the recipe (bench/questions/README.md).

    .venv/bin/python bench/int8_variants.py [--recipes avx2,all,ffn,ffn-up] [--held-out] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import common

RECIPES = ("avx2", "all", "ffn", "ffn-up")


def _layers(model_file: Path, recipe: str) -> list[str]:
    import onnx

    names = [n.name for n in onnx.load(str(model_file), load_external_data=False).graph.node if n.op_type == "MatMul"]
    up = [n for n in names if "/intermediate/dense/" in n]
    down = [n for n in names if "/output/dense/" in n and "/attention/" not in n]
    projections = [n for n in names if any(f"/{p}/MatMul" in n for p in ("query", "key", "value"))
                   or "/attention/output/dense/" in n]
    return {"all": up + down + projections, "ffn": up + down, "ffn-up": up}[recipe]


def _quantise(onnx_dir: Path, work: Path, recipe: str) -> Path:
    """A copy of the export's directory whose ``onnx-int8`` file is the recipe's model."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from assistant.model import embedding

    target = work / recipe
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(onnx_dir, target, symlinks=True, ignore=shutil.ignore_patterns("*.onnx"))
    (target / "onnx" / "model.onnx").symlink_to(onnx_dir / "onnx" / "model.onnx")
    int8 = target / embedding.ONNX_FILES["onnx-int8"]
    if recipe == "avx2":
        int8.symlink_to(onnx_dir / embedding.ONNX_FILES["onnx-int8"])
    else:
        quantize_dynamic(str(onnx_dir / "onnx" / "model.onnx"), str(int8), op_types_to_quantize=["MatMul"],
                         nodes_to_quantize=_layers(onnx_dir / "onnx" / "model.onnx", recipe), per_channel=True,
                         weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True})
    return target


def _reading(assistant: Any, paths: list[Path]) -> dict[str, Any]:
    from assistant.evaluation import evaluate, read_questions

    result = evaluate(assistant.ask, [q for p in paths for q in read_questions(p)])
    ranking, reading = result["answerable"]["all"], result["reading"]["all"]
    return {"hit@1": round(ranking["hit@1"], 3), "hit@5": round(ranking["hit@5"], 3),
            "states_fact": round(reading["states_fact"], 3), "refused": reading["refused"],
            "unanswerable": reading["unanswerable"], "false_refusals": reading["false_refusals"],
            "answerable": reading["answerable"]}


def run(recipes: list[str], held_out: bool, rounds: int = 3) -> dict[str, Any]:
    from assistant import Assistant
    from assistant.config import DEFAULT_MODEL
    from assistant.model.embedding import SentenceTransformerEmbedder, onnx_dir_for, resolve_model
    from assistant.model.modelpack import model_fingerprint

    base, settings = common.real_assistant("int8")
    source = Path(resolve_model(DEFAULT_MODEL, common.SHARED_MODELS))
    onnx_dir = onnx_dir_for(Path(DEFAULT_MODEL).name, model_fingerprint(source), common.SHARED_MODELS)
    sets = {"dev": [common.DEV_SET, common.DEV_SET.with_name("dev_nearmiss.jsonl")],
            "train": common.question_files("train")}
    if held_out:
        sets["held-out"] = common.question_files("test")
    from assistant.evaluation import read_questions

    texts = [q.question for paths in sets.values() for p in paths for q in read_questions(p)]
    work = settings.data_dir / "int8-variants"
    work.mkdir(parents=True, exist_ok=True)
    rows, reference = [], None
    for recipe in ["fp32", *recipes]:
        directory = onnx_dir if recipe == "fp32" else _quantise(onnx_dir, work, recipe)
        backend = "onnx" if recipe == "fp32" else "onnx-int8"
        embedder = SentenceTransformerEmbedder(directory, threads=1, backend=backend)
        embedder.identity = base.embedder.identity  # questions only: the fp32 index must accept them
        vectors = embedder.embed_queries(texts)
        reference = vectors if reference is None else reference
        cosines = (vectors * reference).sum(axis=1)
        times = []
        for _ in range(rounds):
            for text in texts[:80]:
                t0 = time.perf_counter()
                embedder.embed_queries([text])
                times.append(time.perf_counter() - t0)
        assistant = Assistant(settings, base.store, embedder, follow=False)
        row = {"recipe": recipe, "query_p50_ms": common.ms(common.percentile(times, 0.5)),
               "cos_min": round(float(cosines.min()), 5), "cos_mean": round(float(cosines.mean()), 5),
               **{name: _reading(assistant, paths) for name, paths in sets.items()}}
        assistant.close()
        print(row, flush=True)
        rows.append(row)
    base.close()
    return {"machine": common.machine(), "rows": rows, "loadavg_end": common.loadavg()}


def to_markdown(r: dict[str, Any]) -> str:
    sets = [k for k in r["rows"][0] if isinstance(r["rows"][0][k], dict)]
    header = ["recipe", "1 question p50 ms", "cos min / mean"] + [
        f"{s} {m}" for s in sets for m in ("hit@1", "hit@5", "states", "refused", "false ref.")]
    rows = []
    for x in r["rows"]:
        cells = [x["recipe"], f"{x['query_p50_ms']:.1f}", f"{x['cos_min']:.4f} / {x['cos_mean']:.4f}"]
        for s in sets:
            q = x[s]
            cells += [f"{q['hit@1']:.3f}", f"{q['hit@5']:.3f}", f"{q['states_fact']:.3f}",
                      f"{q['refused']}/{q['unanswerable']}", f"{q['false_refusals']}/{q['answerable']}"]
        rows.append(cells)
    return common.md_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--held-out", action="store_true", help="also the test_* sets (final reports only)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    recipes = [r for r in args.recipes.split(",") if r]
    unknown = set(recipes) - set(RECIPES)
    if unknown:
        parser.error(f"unknown recipe(s): {', '.join(sorted(unknown))}")
    result = run(recipes, args.held_out)
    print(to_markdown(result))
    common.write_json(result, args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
