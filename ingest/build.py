"""Ingestion: discover -> load -> chunk -> embed -> write a new index version -> publish atomically.

Only new or changed documents (by content hash) are embedded; unchanged ones reuse their passages
and vectors from the published index. One ingest runs at a time per data directory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant import index as idx
from assistant.config import Settings
from assistant.errors import DocumentError, IndexFormatError, IndexNotFoundError, IndexWriteError, WegwijzerError
from assistant.hashing import file_sha256
from assistant.model.embedding import Embedder, embedder_for
from assistant.text.analysis import analyzer_config
from assistant.text.facts import encode_facts, facts_in
from assistant.text.sentences import SPLITTER_VERSION, split_sentences
from assistant.types import Page, Passage
from ingest.texts import t

from .budgets import Budgets, FailedDocuments, ReadDocument, read_isolated
from .catalog import AUDIENCE_ERROR, read_catalog_strict
from .chunking import ChunkerSettings
from .corpuspath import reading
from .loaders import discover

log = logging.getLogger(__name__)

# on_progress(stage, done, total): stage is "reading" (once, right before the corpus is read), "documents"
# or "passages"; the re-index job records it so every worker can show how far a re-index is.
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What an ingest did, in numbers; stored in the manifest and shown by the CLI and admin API."""

    version_id: str = ""
    corpus_dir: str = ""
    documents: int = 0
    documents_embedded: int = 0
    documents_reused: int = 0
    documents_removed: int = 0
    passages: int = 0
    passages_embedded: int = 0
    sentences: int = 0
    sentences_embedded: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    finished_at: float = 0.0
    ok: bool = True
    error: str = ""
    unchanged: bool = False  # nothing to do: the published version stays

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def embedding_text(title: str, section: str, text: str) -> str:
    """What the embedder sees: the passage with its document title as context.

    The section path is left out on purpose: headings are already at the top of the passages they
    open, and long section paths diluted the passage vector (hit@1 -4 points on the dev questions).
    """
    return f"{title}\n{text}"


def ingest(settings: Settings, corpus_dir: Path | None = None, embedder: Embedder | None = None,
           chunker: ChunkerSettings | None = None, progress: bool = False,
           analyzer: dict[str, Any] | None = None, on_progress: ProgressCallback | None = None,
           budgets: Budgets | None = None) -> IngestReport:
    """Index ``corpus_dir`` (default: the configured corpus) into a new published version.

    Each new or changed document is read within ``budgets`` (default: the settings'; ingest/budgets.py).
    """
    corpus_dir = Path(corpus_dir or settings.corpus_dir).resolve()
    chunker = chunker or ChunkerSettings()
    report = IngestReport(corpus_dir=str(corpus_dir))
    started = time.perf_counter()
    if not corpus_dir.is_dir():
        raise WegwijzerError(t("ingest.no_corpus", corpus=corpus_dir))
    store = idx.open_store(settings)
    with store.lock():
        try:
            _ingest_locked(settings, store, corpus_dir, embedder, chunker, progress, report,
                           analyzer or analyzer_config(), on_progress, budgets)
        except BaseException as exc:
            report.ok = False
            report.error = str(exc) or type(exc).__name__
            report.seconds = round(time.perf_counter() - started, 3)
            report.finished_at = time.time()
            store.write_last_ingest(report.to_dict())
            if isinstance(exc, OSError):
                raise IndexWriteError(t("ingest.write_failed", reason=exc.strerror or exc)) from exc
            raise
    report.seconds = round(time.perf_counter() - started, 3)
    report.finished_at = time.time()
    store.write_last_ingest(report.to_dict())
    return report


def _previous(store: idx.IndexStore, model: idx.ModelInfo, chunker: dict[str, Any]) -> idx.IndexReader | None:
    """The published version, if its passages, sentences and vectors can be reused for this model and chunker."""
    try:
        previous = store.open()
    except (IndexNotFoundError, IndexFormatError):
        return None
    m = previous.manifest
    if m.model != model or m.chunker != chunker:
        previous.close()
        return None
    return previous


# A document still being read after this long: the documents read before it are published first (ingest/budgets.py).
EARLY_PUBLISH_S = 5.0


def chunker_identity(chunker: ChunkerSettings) -> dict[str, Any]:
    """What decides how passages and sentences are cut: a change re-embeds every document."""
    return {**chunker.to_dict(), "sentences": SPLITTER_VERSION}


@dataclass
class _Batch:
    """The content of the version being built, with the texts still to embed."""

    passages: list[Passage] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    sentences: list[idx.SentenceRecord] = field(default_factory=list)
    sentence_vectors: list[np.ndarray] = field(default_factory=list)
    to_embed: list[tuple[int, str]] = field(default_factory=list)  # (passage id, text to embed)
    sentences_to_embed: list[tuple[int, str]] = field(default_factory=list)  # (sentence id, text)
    facts_changed: bool = False  # a reused sentence's facts read differently now (a better detector)

    def add_sentences(self, passage: Passage, vector_rows: np.ndarray | None,
                      old: list[idx.SentenceRecord] | None = None) -> None:
        """Sentences of ``passage``: reused ones with their vectors, or newly split ones to embed."""
        units = old if old is not None else [
            idx.SentenceRecord(id=0, passage_id=0, start=s.start, end=s.end, text=s.text, kind=s.kind,
                               block=s.block) for s in split_sentences(passage.text)]
        base = len(self.sentences)
        for k, s in enumerate(units):
            sid = base + k
            # Facts are re-read on every ingest: cheap, and a better detector reaches old documents too.
            facts = encode_facts(facts_in(s.text))
            if old is not None and facts != s.facts:
                self.facts_changed = True
            self.sentences.append(idx.SentenceRecord(id=sid, passage_id=passage.id, start=s.start, end=s.end,
                                                     text=s.text, kind=s.kind, block=s.block, facts=facts))
            if vector_rows is None:
                self.sentences_to_embed.append((sid, s.text))
        if vector_rows is not None:
            self.sentence_vectors.append(vector_rows)
        else:
            self.sentence_vectors.append(np.zeros((len(units), 0), dtype=np.float32))  # filled below


def _ingest_locked(settings: Settings, store: idx.IndexStore, corpus_dir: Path, embedder: Embedder | None,
                   chunker: ChunkerSettings, progress: bool, report: IngestReport, analyzer: dict[str, Any],
                   on_progress: ProgressCallback | None = None, budgets: Budgets | None = None) -> None:
    store.prune()  # leftovers of an interrupted ingest go first
    embedder = embedder or embedder_for(settings)
    model = idx.ModelInfo.of(embedder.identity)
    identity = chunker_identity(chunker)
    previous = _previous(store, model, identity)
    prev_docs = {d.source: d for d in previous.manifest.documents} if previous else {}

    if on_progress is not None:
        on_progress("reading", 0, 0)  # before the corpus is read: changes made until now are in this run
    catalog, problems = read_catalog_strict(corpus_dir)  # unreadable: stop, the audiences may be in it
    report.warnings.extend(problems)
    files, unsupported = discover(corpus_dir)
    report.skipped.extend({"source": s, "reason": r} for s, r in unsupported)

    budgets = budgets or Budgets.of(settings)
    failed = FailedDocuments.of(settings, budgets)
    failed.keep_only({source for _path, source in files})
    early = IngestReport()  # what versions published during the reading (below) embedded
    early_sources: set[str] = set()
    try:
        # 1. Hash every file (in corpus order): unchanged documents are reused, known failures skipped unread.
        outcome: dict[str, Any] = {}  # source -> "reuse" | ReadDocument | skip reason
        digests: dict[str, str] = {}
        to_read: list[tuple[tuple[int, int], str]] = []
        for done, (_path, source) in enumerate(files):
            if on_progress is not None:
                on_progress("documents", done, len(files))
            entry = catalog.get(source, {})
            if AUDIENCE_ERROR in entry:  # deny by default: never published for everyone by mistake
                outcome[source] = t("ingest.bad_audience", reason=entry[AUDIENCE_ERROR])
                continue
            try:
                # Read through a descriptor of the checked regular file: a link, FIFO or device put in its
                # place since discover() is refused here, never followed or opened (ingest/corpuspath.py).
                with reading(corpus_dir, source) as readable:
                    digest = file_sha256(readable)
                    size = readable.stat().st_size
            except DocumentError as exc:
                outcome[source] = exc.reason
                continue
            except OSError as exc:
                outcome[source] = t("ingest.unreadable", reason=exc.strerror)
                continue
            digests[source] = digest
            prev = prev_docs.get(source)
            if previous is not None and prev and prev.sha256 == digest and \
                    _without_audience(prev.catalog) == _without_audience(entry):
                # Only the audience changed (or nothing): the vectors stay, the new version carries the
                # audience in the document's entry and every passage's record.
                outcome[source] = "reuse"
                continue
            remembered = failed.reason(source, digest)
            if remembered is not None:
                log.info("skipped %s unread: it failed before with these contents (%s)", source, remembered)
                outcome[source] = remembered
                continue
            to_read.append((_read_cost(source, size), source))

        def publish_early() -> None:
            """A document takes long to read: publish the ones read so far now, so they need not wait for it."""
            nonlocal previous, prev_docs
            ready = [s for s, v in outcome.items() if isinstance(v, ReadDocument) and v.chunks]
            if not ready:
                return
            # Not read yet: the published content stays for now (or the document is not in this version yet).
            partial = {s: outcome.get(s, "reuse" if s in prev_docs else None) for _p, s in files}
            sub = IngestReport(corpus_dir=str(corpus_dir))
            documents, batch = _assemble(files, partial, previous, catalog, model.dim, sub)
            log.info("a document takes long to read: publishing the %d read so far first", len(ready))
            _embed_and_publish(store, embedder, model, identity, analyzer, documents, batch, previous, prev_docs,
                               sub, progress, None)
            early.passages_embedded += sub.passages_embedded
            early.sentences_embedded += sub.sentences_embedded
            early.version_id = sub.version_id
            if previous is not None:
                previous.close()
            previous = _previous(store, model, identity)
            prev_docs = {d.source: d for d in previous.manifest.documents} if previous else {}
            for s in ready:  # in the published version now: the final one reuses them
                outcome[s] = "reuse"
                early_sources.add(s)

        # 2. Read new and changed documents, cheapest first, each within its budgets (ingest/budgets.py):
        # a document that blows one is reported and skipped, the others are indexed in this same run; once a
        # document has taken EARLY_PUBLISH_S, those read before it are published without waiting for it.
        for _cost, source in sorted(to_read):
            entry = catalog.get(source, {})
            try:
                with reading(corpus_dir, source) as readable:
                    read = read_isolated(readable, source, chunker, budgets, title=entry.get("title") or "",
                                         on_slow=publish_early, slow_after_s=EARLY_PUBLISH_S)
            except DocumentError as exc:
                log.warning("skipped %s: %s", exc.source, exc.reason)
                outcome[source] = exc.reason
                failed.remember(source, digests[source], exc.reason)
                continue
            except OSError as exc:
                outcome[source] = t("ingest.unreadable", reason=exc.strerror)
                continue
            if not read.chunks:
                outcome[source] = t("ingest.nothing_to_index")
                failed.remember(source, digests[source], outcome[source])
                continue
            failed.forget(source)
            outcome[source] = read
        # 3. Assemble the version in corpus order (passage numbers as before, whatever order they were read in).
        documents, batch = _assemble(files, outcome, previous, catalog, model.dim, report)
        if not batch.passages:
            raise WegwijzerError(t("ingest.no_documents", corpus=corpus_dir, skipped=len(report.skipped)))
        if on_progress is not None:
            on_progress("documents", len(files), len(files))
        _embed_and_publish(store, embedder, model, identity, analyzer, documents, batch, previous, prev_docs,
                           report, progress, on_progress)
    finally:
        if previous is not None:
            previous.close()
        failed.save()
    if early_sources:  # count what the early version embedded as embedded by this ingest
        report.documents_embedded += len(early_sources)
        report.documents_reused -= len(early_sources)
        report.passages_embedded += early.passages_embedded
        report.sentences_embedded += early.sentences_embedded
        report.unchanged = False


def _assemble(files: list[tuple[Path, str]], outcome: dict[str, Any], previous: idx.IndexReader | None,
              catalog: dict[str, dict[str, Any]], dim: int,
              report: IngestReport) -> tuple[list[idx.DocumentEntry], _Batch]:
    """The documents and passages of a version, in corpus order; an outcome of None leaves a document out."""
    documents: list[idx.DocumentEntry] = []
    batch = _Batch()
    for _path, source in files:
        result = outcome.get(source)
        entry = catalog.get(source, {})
        audience = tuple(name for name in entry.get("audience", "").split(",") if name)
        if result is None:
            continue
        if result == "reuse":
            assert previous is not None
            _reuse(previous, source, batch)
            published = previous.manifest.document(source)
            assert published is not None
            documents.append(replace(published, catalog=entry, audience=audience))
            report.documents_reused += 1
            continue
        if isinstance(result, str):
            report.skipped.append({"source": source, "reason": result})
            continue
        assert isinstance(result, ReadDocument)
        title, chunks = result.title, result.chunks
        ocr_pages = {p.page for p in result.pages if p.ocr}
        for c in chunks:
            passage = Passage(id=len(batch.passages), source=source, title=title, page=c.page,
                              section=c.section, start=c.start, end=c.end, text=c.text,
                              ocr=c.page in ocr_pages if c.page is not None else bool(ocr_pages))
            batch.passages.append(passage)
            batch.to_embed.append((passage.id, embedding_text(title, c.section, c.text)))
            batch.add_sentences(passage, None)
        batch.vectors.append(np.zeros((len(chunks), dim), dtype=np.float32))  # filled below
        batch.pages.extend(result.pages)
        documents.append(idx.DocumentEntry(
            source=source, sha256=result.sha256, title=title, publisher=entry.get("publisher", ""),
            date=entry.get("date", ""), kind=entry.get("kind", ""), language=entry.get("language", "nl-BE"),
            pages=len(result.pages) if result.paged else None, passages=len(chunks), format=result.kind,
            ocr_pages=len(ocr_pages), catalog=entry, audience=audience))
        report.documents_embedded += 1
    return documents, batch


def _embed_and_publish(store: idx.IndexStore, embedder: Embedder, model: idx.ModelInfo, identity: dict[str, Any],
                       analyzer: dict[str, Any], documents: list[idx.DocumentEntry], batch: _Batch,
                       previous: idx.IndexReader | None, prev_docs: dict[str, idx.DocumentEntry],
                       report: IngestReport, progress: bool, on_progress: ProgressCallback | None) -> None:
    """Embed what is new in ``batch``, then write and publish the version (unless nothing changed)."""
    dim = model.dim
    matrix = np.vstack(batch.vectors).astype(np.float32)
    # Progress is counted in passages, as people think of them: a new passage is done once it and its sentences
    # are embedded. The sentences (about seven per passage) are embedded after the passages, so the count moves
    # with the share of all texts embedded, scaled to the number of passages.
    scale = _ProgressScale(on_progress, len(batch.to_embed), len(batch.to_embed) + len(batch.sentences_to_embed))
    if batch.to_embed:
        matrix[[i for i, _ in batch.to_embed]] = _embed(embedder, [t for _, t in batch.to_embed], progress,
                                                       t("cli.embedding_passages"), scale, 0)
    sentence_matrix = np.zeros((len(batch.sentences), dim), dtype=np.float32)
    row = 0
    for block in batch.sentence_vectors:
        if block.shape[1] == dim:
            sentence_matrix[row:row + len(block)] = block
        row += len(block)
    if batch.sentences_to_embed:
        sentence_matrix[[i for i, _ in batch.sentences_to_embed]] = _embed(
            embedder, [t for _, t in batch.sentences_to_embed], progress, t("cli.embedding_sentences"), scale,
            len(batch.to_embed))
    report.passages_embedded = len(batch.to_embed)
    report.sentences_embedded = len(batch.sentences_to_embed)
    report.documents = len(documents)
    report.passages = len(batch.passages)
    report.sentences = len(batch.sentences)
    report.documents_removed = len(set(prev_docs) - {d.source for d in documents})
    if previous is not None and not batch.to_embed and {d.source: d for d in documents} == prev_docs \
            and previous.manifest.analyzer == analyzer and not batch.facts_changed:
        # Nothing changed: keep the published version rather than churn a copy that every running
        # service would then reload.
        report.version_id = previous.version_id
        report.unchanged = True
        return
    version = store.write(idx.VersionContent(
        model=model, chunker=identity, documents=documents, passages=batch.passages, pages=batch.pages,
        vectors=matrix, sentences=batch.sentences, sentence_vectors=sentence_matrix, report=report.to_dict(),
        analyzer=analyzer))
    store.publish(version)
    report.version_id = version
    store.prune()
    log.info("published index %s: %d documents, %d passages (%d embedded)", version, report.documents,
             report.passages, report.passages_embedded)


# Cheap formats first: text is read in milliseconds, a PDF may need OCR. Smaller files first within a format.
_FORMAT_COST = {".txt": 0, ".md": 0, ".html": 1, ".htm": 1, ".docx": 2, ".odt": 2, ".pptx": 2, ".pdf": 3}


def _read_cost(source: str, size: int) -> tuple[int, int]:
    return _FORMAT_COST.get(Path(source).suffix.lower(), 4), size


def _reuse(previous: idx.IndexReader, source: str, batch: _Batch) -> None:
    """Copy an unchanged document's pages, passages, sentences and vectors from the published version."""
    found = previous.document(source)
    if found is None:
        return
    pages, old = found
    old_ids = [p.id for p in old]
    batch.vectors.append(previous.passage_vectors(old_ids))
    batch.pages.extend(pages)
    old_sentences = previous.sentences(old_ids) if len(old_ids) <= 500 else [
        s for i in range(0, len(old_ids), 500) for s in previous.sentences(old_ids[i:i + 500])]
    by_passage: dict[int, list[idx.SentenceRecord]] = {}
    for s in old_sentences:
        by_passage.setdefault(s.passage_id, []).append(s)
    for p in old:
        passage = replace(p, id=len(batch.passages))
        batch.passages.append(passage)
        sentences = by_passage.get(p.id, [])
        batch.add_sentences(passage, previous.sentence_vectors([s.id for s in sentences]), sentences)


@dataclass
class _ProgressScale:
    """Reports ``done`` of ``texts`` embedded texts as passages done out of ``passages``."""

    on_progress: ProgressCallback | None
    passages: int
    texts: int

    def __call__(self, done: int) -> None:
        if self.on_progress is not None and self.texts:
            self.on_progress("passages", self.passages * done // self.texts, self.passages)


def _embed(embedder: Embedder, texts: list[str], progress: bool, label: str, scale: _ProgressScale,
           offset: int = 0, batch: int = 32) -> np.ndarray:
    from tqdm import tqdm

    out = []
    with tqdm(total=len(texts), desc=label, unit="", disable=not progress) as bar:
        for i in range(0, len(texts), batch):
            scale(offset + i)
            out.append(embedder.embed_passages(texts[i:i + batch]))
            bar.update(len(texts[i:i + batch]))
    scale(offset + len(texts))
    return np.vstack(out)


def _without_audience(entry: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in entry.items() if k != "audience"}
