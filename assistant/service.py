"""The assistant: open the published index, answer questions with cited sentences, follow new versions.

``Assistant.ask`` is the public contract used by the CLI, the web service and the Telegram bot.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import index as idx
from .compose import compose, not_found
from .config import Settings, get_settings
from .embedding import Embedder, embedder_for
from .errors import IndexNotFoundError, InvalidQuestionError, WegwijzerError
from .evidence import Evidence, EvidenceModel, weigh
from .messages import t
from .retrieval import Retrieval, Retriever
from .types import Answer, DocumentInfo, Page, Passage

log = logging.getLogger(__name__)


@dataclass
class _State:
    reader: idx.IndexReader
    retriever: Retriever


class Assistant:
    """Answers questions from the published index version; follows newer versions as they are published.

    A watcher thread checks the store every ``follow_interval_s`` and loads a new version beside the one
    in service, so an idle process is as current as a busy one and no question waits for a switch.
    """

    def __init__(self, settings: Settings, store: idx.IndexStore, embedder: Embedder,
                 follow: bool = True, follow_interval_s: float = 0.5,
                 evidence_model: EvidenceModel | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.model = evidence_model or EvidenceModel.load()
        self._lock = threading.Lock()
        self._failed: str | None = None
        self._state = self._open(None)
        self._stop = threading.Event()
        self._interval = follow_interval_s
        self._watcher: threading.Thread | None = None
        if follow:
            self._watcher = threading.Thread(target=self._follow, name="wegwijzer-index-follow", daemon=True)
            self._watcher.start()

    @classmethod
    def load(cls, index_dir: Path | str | None = None, settings: Settings | None = None,
             embedder: Embedder | None = None, follow: bool = True,
             evidence_model: EvidenceModel | None = None) -> Assistant:
        """Open the published index (default: the data directory's) and the model that must query it."""
        settings = settings or get_settings()
        if index_dir is not None:
            store: idx.IndexStore = idx.FileIndexStore(Path(index_dir))
        else:
            store = idx.open_store(settings)
        if store.current_version() is None:  # say so before spending seconds on the model
            raise IndexNotFoundError(t("index.missing") + f" ({store.describe()}; run `wegwijzer ingest`)")
        if embedder is None:
            embedder = embedder_for(settings)
        return cls(settings, store, embedder, follow=follow, evidence_model=evidence_model)

    def _open(self, version: str | None) -> _State:
        reader = self.store.open(version)
        try:
            reader.manifest.model.check(self.embedder.identity)
        except Exception:
            reader.close()
            raise
        return _State(reader, Retriever(reader))

    def close(self) -> None:
        """Stop following new versions (tests, shutdown)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)

    # ------------------------------------------------------------ index following

    @property
    def version(self) -> str:
        return self._state.reader.version_id

    @property
    def reader(self) -> idx.IndexReader:
        return self._state.reader

    def refresh(self, force: bool = False) -> bool:
        """Switch to a newly published version now, if any; returns True when it switched.

        Loading happens aside: questions in flight keep the version they started with.
        """
        current = self.store.current_version()
        if current is None or current == self.version:
            return False
        if not force and current == self._failed:
            return False
        with self._lock:
            if current == self.version:
                return False
            try:
                self._state = self._open(current)
            except Exception:
                self._failed = current
                raise
            self._failed = None
            return True

    def _follow(self) -> None:
        failing = ""
        while not self._stop.wait(self._interval):
            try:
                if self.refresh():
                    log.info("now serving index version %s", self.version)
                failing = ""
            except Exception as exc:  # a damaged new version or an unreachable database: keep serving
                if str(exc) != failing:  # the old version, and say so once, not every half second
                    failing = str(exc)
                    log.error("could not follow the published index; still serving %s: %s", self.version, exc,
                              exc_info=not isinstance(exc, WegwijzerError))

    # ------------------------------------------------------------ questions

    def validate(self, question: object) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError(t("question.empty"))
        question = " ".join(question.split())
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestionError(t("question.too_long", length=len(question),
                                         limit=self.settings.max_question_chars))
        if not any(ch.isalnum() for ch in question):
            raise InvalidQuestionError(t("question.no_words"))
        return question

    def _weigh(self, question: str, top_k: int) -> tuple[_State, Retrieval, Evidence]:
        state = self._state
        query = self.embedder.embed_queries([question])[0]
        retrieval = state.retriever.search(question, query, top_k)
        return state, retrieval, weigh(retrieval, state.reader, self.model)

    def ask(self, question: str, top_k: int = 5) -> Answer:
        """Answer ``question`` from up to ``top_k`` retrieved passages: cited sentences, or a plain refusal."""
        started = time.perf_counter()
        question = self.validate(question)
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 20:
            raise InvalidQuestionError(t("question.top_k"))
        state, retrieval, evidence = self._weigh(question, top_k)
        if evidence.answerable:
            text, citations, related = compose(evidence, retrieval.hits)
        else:
            text, citations, related = not_found(retrieval.hits)
        return Answer(question=question, found=bool(citations), text=text, citations=citations, related=related,
                      index_version=state.reader.version_id, latency_ms=(time.perf_counter() - started) * 1000)

    def explain(self, question: str, top_k: int = 5) -> tuple[Retrieval, Evidence]:
        """Retrieval and evidence for one question (diagnostics and calibration; not part of the contract)."""
        _, retrieval, evidence = self._weigh(self.validate(question), top_k)
        return retrieval, evidence

    # ------------------------------------------------------------ documents

    def documents(self) -> list[dict[str, Any]]:
        """The catalog of the version in service, with passage counts."""
        return [{**d.info().__dict__, "passages": d.passages}
                for d in sorted(self._state.reader.manifest.documents, key=lambda d: d.source)]

    def document(self, source: str) -> tuple[DocumentInfo, list[Page], list[Passage]] | None:
        """One document's facts, page texts and passages, or None if it is not in the index."""
        reader = self._state.reader
        entry = reader.manifest.document(source)
        found = reader.document(source)
        if entry is None or found is None:
            return None
        return entry.info(), found[0], found[1]

    def passage(self, passage_id: int) -> Passage | None:
        found = self._state.reader.passages([passage_id]) if passage_id >= 0 else []
        return found[0] if found else None

    def status(self) -> dict[str, Any]:
        """Index version, documents, last ingest and its report: for admins."""
        m = self._state.reader.manifest
        return {
            "version": m.version_id,
            "format_version": m.format_version,
            "created_at": m.created_at,
            "model": m.model.__dict__,
            "vector_index": m.vector_index,
            "documents": len(m.documents),
            "passages": m.passage_count,
            "sentences": m.sentence_count,
            "last_ingest": self.store.read_last_ingest() or m.report,
        }
