"""The assistant: load an index once, answer questions with cited passages, follow re-indexes.

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
from .compose import compose_answer
from .config import Settings, get_settings
from .embedding import Embedder, ModelIdentity, embedder_for
from .errors import IndexNotFoundError, InvalidQuestionError, ModelMismatchError
from .messages import t
from .retrieval import Retriever
from .types import Answer, Citation, DocumentInfo, Page, Passage

log = logging.getLogger(__name__)

# Abstention. The corpus "has an answer" when the best passage is close to the question in absolute
# terms, clearly closer than the rest of the corpus, or close enough and sharing most of the
# question's distinctive words. Questions in English or French meet Dutch passages at systematically
# lower cosines and share few words with them, so they get their own dense threshold and are judged
# only on the words the corpus knows. Calibrated with multilingual-e5-small on the dev questions and
# bench/extra_questions.jsonl; `wegwijzer eval` and bench/ report how well it holds.
NL_DENSE = 0.845
FOREIGN_DENSE = 0.82
MIN_DENSE = 0.78
STRONG_Z = 3.5
MIN_COVERAGE = 0.40
MIN_KNOWN_COVERAGE = 0.5


def decide_found(signals: dict[str, float]) -> bool:
    """Whether the retrieved passages answer the question at all."""
    top = signals["dense_top"]
    if top < MIN_DENSE:
        return False
    if signals["dense_z"] >= STRONG_Z:
        return True
    if signals["dutch"]:
        return top >= NL_DENSE or (top >= 0.80 and signals["coverage"] >= MIN_COVERAGE)
    return top >= FOREIGN_DENSE or signals["known_coverage"] >= MIN_KNOWN_COVERAGE


@dataclass
class _State:
    data: idx.IndexData
    retriever: Retriever


class Assistant:
    """Answers questions from one published index; switches to newer versions as they are published."""

    REFRESH_EVERY_S = 1.0

    def __init__(self, settings: Settings, index_dir: Path, embedder: Embedder) -> None:
        self.settings = settings
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self._lock = threading.Lock()
        self._checked = 0.0
        self._state = self._load(None)

    @classmethod
    def load(cls, index_dir: Path | str | None = None, settings: Settings | None = None,
             embedder: Embedder | None = None) -> Assistant:
        """Load the published index (default: the data directory's) and the model that must query it."""
        settings = settings or get_settings()
        index_dir = Path(index_dir) if index_dir is not None else settings.index_dir
        if idx.current_version(index_dir) is None:  # say so before spending seconds on the model
            raise IndexNotFoundError(t("index.missing") + f" ({index_dir}; run `wegwijzer ingest`)")
        if embedder is None:
            embedder = embedder_for(settings)
        return cls(settings, index_dir, embedder)

    def _load(self, version: str | None) -> _State:
        data = idx.load_index(self.index_dir, version)
        built = ModelIdentity.from_dict(data.manifest.model)
        mine = self.embedder.identity
        if built.fingerprint != mine.fingerprint or built.dim != mine.dim:
            raise ModelMismatchError(t("index.model_mismatch", built=built.label, configured=mine.label))
        return _State(data, Retriever(data, self.embedder))

    # ------------------------------------------------------------ index following

    @property
    def version(self) -> str:
        return self._state.data.version_id

    def refresh(self, force: bool = False) -> bool:
        """Switch to a newly published version now, if any; returns True when it switched.

        Loading happens aside: questions in flight keep the state they started with. ``force`` skips
        the once-a-second check and waits for a load another thread may have started.
        """
        now = time.monotonic()
        if not force and now - self._checked < self.REFRESH_EVERY_S:
            return False
        self._checked = now
        current = idx.current_version(self.index_dir)
        if current is None or current == self.version:
            return False
        if not self._lock.acquire(blocking=force):
            return False  # another thread is loading it already
        try:
            if current == self.version:
                return False
            self._state = self._load(current)
            return True
        finally:
            self._lock.release()

    def _follow_in_background(self) -> None:
        """Start loading a newly published version without making any question wait for it.

        With a large index the load takes seconds to minutes; meanwhile every question is answered
        from the version already in memory.
        """
        now = time.monotonic()
        if now - self._checked < self.REFRESH_EVERY_S or self._lock.locked():
            return
        self._checked = now
        current = idx.current_version(self.index_dir)
        if current is None or current == self.version:
            return

        def load() -> None:
            try:
                self.refresh(force=True)
            except Exception:  # a damaged new version: keep serving the old one, try again later
                log.exception("could not switch to index version %s; still serving %s", current, self.version)

        threading.Thread(target=load, name="wegwijzer-index-follow", daemon=True).start()

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

    def ask(self, question: str, top_k: int = 5) -> Answer:
        """Answer ``question`` with up to ``top_k`` cited passages, best first."""
        started = time.perf_counter()
        question = self.validate(question)
        if not isinstance(top_k, int) or not 1 <= top_k <= 20:
            raise InvalidQuestionError("top_k moet een geheel getal tussen 1 en 20 zijn.")
        self._follow_in_background()
        state = self._state
        hits, signals = state.retriever.search(question, top_k)
        found = bool(hits) and decide_found(signals)
        # When no passage answers the question the nearest ones are still returned, for front ends to
        # offer as "possibly related" (never as the source of an answer: `found` and `text` say so).
        citations = tuple(
            Citation(n=i + 1, text=h.passage.text, title=h.passage.title, source=h.passage.source,
                     page=h.passage.page, section=h.passage.section, score=round(h.dense, 4),
                     passage_id=h.passage.id, start=h.passage.start, end=h.passage.end)
            for i, h in enumerate(hits)
        )
        return Answer(question=question, found=found, text=compose_answer(question, list(citations), found),
                      citations=citations, index_version=state.data.version_id,
                      latency_ms=(time.perf_counter() - started) * 1000)

    def explain(self, question: str, top_k: int = 5) -> dict[str, Any]:
        """Retrieval signals for one question (diagnostics and calibration; not part of the contract)."""
        hits, signals = self._state.retriever.search(self.validate(question), top_k)
        return {"signals": signals, "found": bool(hits) and decide_found(signals),
                "hits": [(h.passage.source, h.passage.id, round(h.dense, 4), round(h.lexical, 2),
                          round(h.coverage, 2)) for h in hits]}

    # ------------------------------------------------------------ documents

    def documents(self) -> list[dict[str, Any]]:
        """The catalog of the index in service, with passage counts."""
        state = self._state
        counts: dict[str, int] = {}
        for p in state.data.passages:
            counts[p.source] = counts.get(p.source, 0) + 1
        return [{**info.__dict__, "passages": counts.get(info.source, 0)}
                for info in state.data.manifest.document_infos()]

    def document(self, source: str) -> tuple[DocumentInfo, list[Page], list[Passage]] | None:
        """One document's facts, page texts and passages, or None if it is not in the index."""
        state = self._state
        infos = {d.source: d for d in state.data.manifest.document_infos()}
        if source not in infos:
            return None
        return (infos[source], state.data.pages.get(source, []),
                [p for p in state.data.passages if p.source == source])

    def passage(self, passage_id: int) -> Passage | None:
        passages = self._state.data.passages
        return passages[passage_id] if 0 <= passage_id < len(passages) else None

    def status(self) -> dict[str, Any]:
        """Index version, documents, last ingest and its report: for admins."""
        m = self._state.data.manifest
        return {
            "version": m.version_id,
            "format_version": m.format_version,
            "created_at": m.created_at,
            "model": m.model,
            "vector_index": m.vector_index,
            "documents": len(m.documents),
            "passages": m.passage_count,
            "last_ingest": idx.read_last_ingest(self.index_dir) or m.report,
        }
