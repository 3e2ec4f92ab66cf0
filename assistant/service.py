"""The assistant: open the published index, answer questions with cited sentences, follow new versions.

``Assistant.ask`` is the public contract used by the CLI, the web service and the Telegram bot.

Who may see what (assistant/audience.py): every question is answered from the index version *as its asker
may see it* (``IndexReader.for_audiences``), so retrieval, evidence, composition, the language model and
the related passages only ever meet passages of documents for everyone or for one of the asker's groups.
A conversation's earlier turns are checked on every turn against the asker of the new one: a turn that
cited or listed a passage the new asker may not see keeps only its question (its answer text and passage
ids are not used), and so does a turn from another index version, whose passage ids mean other passages.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant import index as idx
from assistant.answer import followup
from assistant.answer.breaker import CircuitState
from assistant.answer.compose import Following, Previous, compose, not_found, overview, overview_heads
from assistant.answer.evidence import Candidate, Evidence, EvidenceModel, weigh
from assistant.answer.generate import Checked, SentenceStream, Writer, Written, finish
from assistant.answer.llm import CIRCUIT_OPEN, ChatClient, Deadline, LLMError
from assistant.answer.retrieval import Hit, Retrieval, Retriever, coverage
from assistant.answer.summary import summarise
from assistant.answer.verify import missing_facts
from assistant.audience import EVERYONE, audiences_of
from assistant.config import Settings, get_settings
from assistant.errors import IndexNotFoundError, InvalidQuestionError, WegwijzerError
from assistant.index.protocol import SentenceRecord
from assistant.messages import t
from assistant.model.embedding import Embedder, embedder_for
from assistant.stores.conversation import (
    Conversation,
    ConversationStore,
    Turn,
    open_conversations,
    valid_conversation_id,
)
from assistant.text.analysis import detect_language
from assistant.types import Answer, Citation, DocumentInfo, Page, Passage

log = logging.getLogger(__name__)


@dataclass
class _State:
    reader: idx.IndexReader
    retriever: Retriever
    restricted: bool = False  # the reader is a view that hides some of the version (IndexReader.for_audiences)


# A question with only a weak sign of depending on the conversation keeps the earlier turn's context only
# when the passages that turn cited are (nearly) as close to the question as the best passage of the
# corpus: the question is still on that topic. A design margin on cosines, not a fitted value.
NEAR_MARGIN = 0.02
RECENT_QUESTIONS = 3  # earlier questions shown to the model that rewrites a follow-up
ORDINAL_OWN_WORDS = 2  # "Welke prioriteit komt op de tweede plaats?" asks for the item; more words ask about it
_NUMBER_MARK = re.compile(r"^\W*\d+\W*")


class GenerationObserver(Protocol):
    """Where the outcomes of generated answers are counted (the web service's /metrics)."""

    def llm_outcome(self, outcome: str) -> None: ...

    def llm_sentences_checked(self, kept: int, removed: int) -> None: ...


@dataclass
class _Plan:
    """How one question was searched, and what the search found."""

    state: _State
    retrieval: Retrieval
    evidence: Evidence
    how: str  # alone, context, rewritten, summary or ordinal (see conversation.Turn)
    query: str  # the text searched
    cited: list[Hit] | None = None  # for a summary: the previous answer's passages


class Assistant:
    """Answers questions from the published index version; follows newer versions as they are published.

    A watcher thread checks the store every ``follow_interval_s`` and loads a new version beside the one
    in service, so an idle process is as current as a busy one and no question waits for a switch.
    """

    def __init__(self, settings: Settings, store: idx.IndexStore, embedder: Embedder,
                 follow: bool = True, follow_interval_s: float = 0.5,
                 evidence_model: EvidenceModel | None = None, conversations: ConversationStore | None = None,
                 writer: Writer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.model = evidence_model or EvidenceModel.load()
        self._conversations = conversations
        self._owns_conversations = conversations is None  # one it opens itself, it closes
        self.writer = writer or (Writer(ChatClient.from_settings(settings)) if settings.llm_enabled else None)
        self.observer: GenerationObserver | None = None
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
             evidence_model: EvidenceModel | None = None,
             conversations: ConversationStore | None = None) -> Assistant:
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
        return cls(settings, store, embedder, follow=follow, evidence_model=evidence_model,
                   conversations=conversations)

    def _open(self, version: str | None) -> _State:
        reader = self.store.open(version)
        try:
            reader.manifest.model.check(self.embedder.identity)
        except Exception:
            reader.close()
            raise
        return _State(reader, Retriever(reader))

    def close(self) -> None:
        """Stop following new versions and release the index version and the conversation store (shutdown,
        tests). Questions must not be asked any more."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            self._state.reader.close()
            if self._conversations is not None and self._owns_conversations:
                self._conversations.close()
                self._conversations = None

    @property
    def conversations(self) -> ConversationStore:
        """The conversation store (opened on first use: a process that never converses creates no file)."""
        if self._conversations is None:
            with self._lock:
                if self._conversations is None:
                    self._conversations = open_conversations(self.settings)
        return self._conversations

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

    def _scoped(self, audiences: frozenset[str]) -> _State:
        """The version in service as an asker in ``audiences`` may see it (itself when they may see all)."""
        state = self._state
        view = state.reader.for_audiences(audiences)
        return state if view is state.reader else _State(view, Retriever(view), restricted=True)

    def _weigh(self, question: str, top_k: int, audiences: frozenset[str] = EVERYONE,
               ) -> tuple[_State, Retrieval, Evidence]:
        state = self._scoped(audiences)
        retrieval, evidence = self._search(state, question, top_k)
        return state, retrieval, evidence

    def _search(self, state: _State, text: str, top_k: int, question: str | None = None
                ) -> tuple[Retrieval, Evidence]:
        """Search ``text``; the evidence is weighed for ``question`` (what kind of fact the person asks)."""
        query = self.embedder.embed_queries([text])[0]
        retrieval = state.retriever.search(text, query, top_k)
        if question is not None and question != text:
            retrieval = replace(retrieval, question=question)
        return retrieval, weigh(retrieval, state.reader, self.model)

    def ask(self, question: str, top_k: int = 5, conversation: str | None = None,
            audiences: frozenset[str] = EVERYONE) -> Answer:
        """Answer ``question`` from up to ``top_k`` retrieved passages: cited sentences, or a plain refusal.

        With ``conversation`` (an id) the question is read in that conversation (a follow-up is searched
        with the earlier turn) and stored in it; an unknown or expired id starts it anew. ``audiences`` are
        the asker's groups: the answer uses documents for everyone and for those groups only (default:
        documents for everyone only).
        """
        answer: Answer | None = None
        for event in self._answer(question, top_k, conversation, stream=False, audiences=audiences):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(self, question: str, top_k: int = 5, conversation: str | None = None,
               audiences: frozenset[str] = EVERYONE) -> Iterator[Checked | Answer]:
        """As :meth:`ask`, but a generated answer arrives as it is written, one ``Checked`` sentence at a time
        (each only after it passed the check), then the ``Answer`` (always last, also when nothing was
        generated)."""
        return self._answer(question, top_k, conversation, stream=True, audiences=audiences)

    def forget(self, conversation: str) -> None:
        """End a conversation ("Nieuw gesprek"); the next question with this id starts afresh."""
        if valid_conversation_id(conversation):
            self.conversations.clear(conversation)

    def history(self, conversation: str) -> Conversation | None:
        return self.conversations.load(conversation) if valid_conversation_id(conversation) else None

    def _answer(self, question: str, top_k: int, conversation: str | None, stream: bool,
                audiences: frozenset[str] = EVERYONE) -> Iterator[Checked | Answer]:
        started = time.perf_counter()
        question = self.validate(question)
        state = self._scoped(audiences_of(audiences))
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= 20:
            raise InvalidQuestionError(t("question.top_k"))
        if conversation is not None and (not isinstance(conversation, str) or
                                         not valid_conversation_id(conversation)):
            raise InvalidQuestionError(t("conversation.invalid"))
        history = self.conversations.load(conversation) if conversation else None
        if history is not None:
            history = _visible_history(history, state)
        deadline = Deadline.after(self.settings.llm_timeout_s) if self.writer is not None else None
        plan = self._plan(state, question, history, top_k, deadline)
        lang = detect_language(question)
        hits = plan.retrieval.hits
        if plan.cited is not None:
            related = [h for h in hits if h.passage.id not in {c.passage.id for c in plan.cited}]
            text, citations, rel = summarise(plan.evidence, plan.cited, related, lang)
        elif plan.evidence.answerable and (listed := self._overview(plan, lang)) is not None:
            text, citations, rel = listed  # "Welke werksessies waren er?": every one of them, as a list
        elif plan.evidence.answerable:
            # A follow-up read with the conversation leads with what is new: the sentences the previous
            # answer quoted are not quoted again. A question searched alone is answered as it would be alone.
            last = history.last if history and plan.how != "alone" else None
            previous = Previous(last.text, followup.new_terms(question, last.query)) if last else None
            text, citations, rel = compose(plan.evidence, hits, previous=previous, following=self._following(plan),
                                           single=plan.how == "ordinal")
        else:
            text, citations, rel = not_found(hits)
        mode = "extractive"
        found = bool(citations)
        if self.writer is not None and deadline is not None and found and plan.cited is None:
            written = yield from self._write(plan, question, lang, deadline, stream)
            if written is not None:
                mode, found = "generated", written.found
                text, citations, rel = written.text, written.citations, written.related
        answer = Answer(question=question, found=found, text=text, citations=citations, related=rel,
                        index_version=plan.state.reader.version_id, mode=mode, conversation_id=conversation or "",
                        latency_ms=(time.perf_counter() - started) * 1000)
        if conversation:
            self.conversations.append(conversation, Turn(
                question=question, query=plan.query, how=plan.how, found=found, text=text,
                cited=tuple(c.passage_id for c in citations), related=tuple(c.passage_id for c in rel),
                index_version=answer.index_version))
        yield answer

    def _following(self, plan: _Plan) -> Following:
        """The next passage of the same document, as a hit of this question (for a list that goes on there)."""
        reader = plan.state.reader

        def following(pid: int) -> tuple[Hit, list[SentenceRecord]] | None:
            here, there = (reader.passages([pid, pid + 1]) + [None, None])[:2]
            if here is None or there is None or there.id != pid + 1 or there.source != here.source:
                return None
            found = self._hits(plan.state, plan.retrieval, [there.id])
            return (found[0], reader.sentences([there.id])) if found else None

        return following

    def _overview(self, plan: _Plan, lang: str) -> tuple[str, tuple[Citation, ...], tuple[Citation, ...]] | None:
        """An overview question's answer: the headings of the best passage's document that name what it lists."""
        ask = plan.evidence.ask
        if ask.kind != "name" or not ask.focus or not plan.evidence.candidates:
            return None
        reader = plan.state.reader
        found = reader.document(plan.evidence.candidates[0].hit.passage.source)
        if found is None:
            return None
        heads = overview_heads(ask, reader.sentences([p.id for p in found[1]]))
        if not heads:
            return None
        ids = list(dict.fromkeys(h.passage_id for h in heads))
        hits = {h.passage.id: h for h in self._hits(plan.state, plan.retrieval, ids)}
        return overview([h for h in heads if h.passage_id in hits], hits, plan.retrieval.hits, lang)

    # ------------------------------------------------------------ follow-ups

    def _plan(self, state: _State, question: str, history: Conversation | None, top_k: int,
              deadline: Deadline | None) -> _Plan:
        """Search ``question`` alone, or with the conversation it continues (see assistant.answer.followup)."""
        prev = history.last if history else None
        if prev is None:
            return self._plan_alone(state, question, top_k)
        sig = followup.signals(question)
        same_index = prev.index_version == state.reader.version_id
        if sig.summary and prev.found and prev.cited and same_index:
            return self._plan_summary(state, prev, top_k)
        if same_index and prev.found and prev.cited and (n := followup.ordinal(question)) is not None:
            counted = self._plan_ordinal(state, question, prev, n, top_k)
            if counted is not None:
                return counted
        if not sig.strong and detect_language(question) != detect_language(prev.question):
            return self._plan_alone(state, question, top_k)  # a switch of language without a pointer: a new question
        if self.writer is not None and deadline is not None and (sig.strong or sig.weak):
            earlier = [t.question for t in history.turns[-RECENT_QUESTIONS:]] if history else []
            try:
                rewritten = self.writer.rewrite(question, earlier, deadline)
            except LLMError as exc:
                log.log(logging.DEBUG if exc.reason == CIRCUIT_OPEN else logging.WARNING,
                        "the language model could not rewrite a follow-up (%s); reading it without", exc)
                self._observe("rewrite_failed")
                rewritten = None
            if rewritten and rewritten != question:
                retrieval, evidence = self._search(state, rewritten, top_k)
                return _Plan(state, retrieval, evidence, "rewritten", rewritten)
        short = sig.content_words <= followup.SHORT_CONTENT_WORDS
        if sig.pointer and short and same_index and prev.found and prev.cited:
            # "Wie begeleidt die sessie?": what it points at is in the passages the previous answer cited
            scoped = self._plan_previous(state, question, prev, top_k)
            if scoped is not None:
                return scoped
        if sig.elliptic:
            completed = followup.complete(question, prev.query)
            if completed:  # "En over werk?" -> the previous question about werk
                retrieval, evidence = self._search(state, completed, top_k)
                return _Plan(state, retrieval, evidence, "context", completed)
        text = followup.with_context(question, prev.query)
        retrieval, evidence = self._search(state, text, top_k, question=question)
        context = _Plan(state, retrieval, evidence, "context", text)
        if sig.strong and short:  # too little of its own to be searched alone ...
            if not context.evidence.answerable and not sig.pointer and followup.asks_anew(question):
                # ... unless it asks a question of its own ("En wanneer is de lunch?") that the context
                # finds no answer to and that alone does
                alone = self._plan_alone(state, question, top_k)
                if alone.evidence.answerable:
                    return alone
            return context
        alone = self._plan_alone(state, question, top_k)
        if sig.strong:  # it depends on the conversation, unless alone it finds clearly better evidence
            return alone if alone.evidence.confidence > context.evidence.confidence else context
        if not sig.weak or alone.evidence.answerable:
            # A full question without a pointer stands on its own (a change of topic), and so does a short one
            # that the documents answer alone: the conversation only helps questions that need it.
            return alone
        near = same_index and self._near_previous(state, alone.retrieval, prev)
        return context if near and context.evidence.confidence > alone.evidence.confidence else alone

    def _plan_previous(self, state: _State, question: str, prev: Turn, top_k: int) -> _Plan | None:
        """The question weighed on the previous answer's passages (searched with context); None if they
        do not answer it."""
        text = followup.with_context(question, prev.query)
        retrieval, _ = self._search(state, text, top_k, question=question)
        cited = self._hits(state, retrieval, list(prev.cited))
        # Only when those passages hold the names and numbers the question adds ("Wie leidt hem vanuit de
        # stad Leuven?" may point at a workshop whose passage does not name the person from Leuven).
        if missing_facts(state.reader, question, prev.cited):
            return None
        evidence = weigh(replace(retrieval, hits=cited), state.reader, self.model)
        if not evidence.answerable:
            return None
        others = [h for h in retrieval.hits if h.passage.id not in set(prev.cited)]
        hits = cited + others[:max(0, top_k - len(cited))]
        return _Plan(state, replace(retrieval, hits=hits), evidence, "context", text)

    def _plan_ordinal(self, state: _State, question: str, prev: Turn, n: int, top_k: int) -> _Plan | None:
        """"En de tweede?", "And the fourth?": the item numbered ``n`` in the passages the previous answer cited,
        else in the rest of their document (the next numbered section: "2" opens the second key factor's
        passage). None when the question asks more than the item ("Welk voorbeeld geven ze bij die tweede?")
        or no item carries that number: the question is then read as any other follow-up."""
        if followup.asks_about_item(question, prev.query, ORDINAL_OWN_WORDS):
            return None
        reader = state.reader
        cited = reader.passages(list(prev.cited))
        if not cited:
            return None
        found = reader.document(cited[0].source)
        rest = found[1] if found else []
        first = cited[0].id
        seq = [*cited, *(p for p in rest if p.id > first), *(p for p in reversed(rest) if p.id < first)]
        by_id = {p.id: p for p in seq}
        text = followup.with_context(question, prev.query)
        retrieval: Retrieval | None = None
        fallback: _Plan | None = None
        for passage in (by_id[i] for i in dict.fromkeys(p.id for p in seq)):
            at = followup.numbered(passage.text, n)
            target = None if at is None else next(
                (x for x in reader.sentences([passage.id])
                 if x.end > at and (len(_NUMBER_MARK.sub("", x.text).split()) >= 2 or x.text.rstrip().endswith(":"))),
                None)  # "2) Taalbeleid:" heads its items; "3 Sleutelfactor" is only a label
            if target is None:
                continue
            if retrieval is None:
                retrieval, _ = self._search(state, text, top_k, question=question)
            hits = self._hits(state, retrieval, [passage.id])
            if not hits:
                continue
            evidence = weigh(replace(retrieval, hits=hits), reader, self.model)
            item = next((c for c in evidence.candidates if c.sentence.id == target.id), None)
            others = [h for h in retrieval.hits if h.passage.id != passage.id]
            plan = _Plan(state, replace(retrieval, hits=hits + others[:max(0, top_k - 1)]), replace(
                evidence, answerable=True, candidates=[item or Candidate(
                    target, hits[0], 0, np.zeros(0, dtype=np.float32), 1.0, 0.0, 1.0)]), "ordinal", text)
            if item is not None:
                return plan
            # a line answers quoting rules keep out (a table of contents: "2. Versterken … 6"): only if no
            # numbered item further on is one the answer may quote
            fallback = fallback or plan
        return fallback

    def _hits(self, state: _State, retrieval: Retrieval, ids: list[int]) -> list[Hit]:
        """Passages by id as hits of ``retrieval`` (their scores for its query), in the order given."""
        reader = state.reader
        found = {h.passage.id: h for h in retrieval.hits}
        missing = [i for i in ids if i not in found]
        passages = reader.passages(missing) if missing else []  # only those the reader may show
        if passages:
            missing = [p.id for p in passages]
            terms, idf, max_idf = retrieval.terms, retrieval.idf, retrieval.max_idf
            dense = reader.dense_scores(retrieval.query, missing)
            lexical = reader.lexical_scores(terms, missing)
            for p, d, lx, pt in zip(passages, dense, lexical, reader.passage_terms(missing), strict=True):
                found[p.id] = Hit(p, float(d), float(d), float(lx), coverage(terms, pt, idf, max_idf),
                                  coverage(terms, pt, idf, max_idf, known_only=True))
        return [found[i] for i in ids if i in found]

    def _plan_alone(self, state: _State, question: str, top_k: int) -> _Plan:
        retrieval, evidence = self._search(state, question, top_k)
        return _Plan(state, retrieval, evidence, "alone", question)

    def _near_previous(self, state: _State, alone: Retrieval, prev: Turn) -> bool:
        """Whether the previous turn's passages are (nearly) as close to the question as the corpus's best."""
        ids = list(prev.cited or prev.related[:1])
        if not ids:
            return False
        closest = float(np.max(state.reader.passage_vectors(ids) @ np.asarray(alone.query, dtype=np.float32)))
        return closest >= float(alone.signals.get("dense_top", 0.0)) - NEAR_MARGIN

    def _plan_summary(self, state: _State, prev: Turn, top_k: int) -> _Plan:
        """The previous answer's passages, weighed for the previous search (what the summary is about)."""
        query = self.embedder.embed_queries([prev.query])[0]
        retrieval = state.retriever.search(prev.query, query, top_k)
        ids = list(prev.cited)
        cited = self._hits(state, retrieval, ids)
        others = [h for h in retrieval.hits if h.passage.id not in set(ids)]
        scoped = replace(retrieval, question=prev.question, hits=cited + others[:max(0, top_k - len(cited))])
        evidence = weigh(replace(scoped, hits=cited), state.reader, self.model)
        return _Plan(state, scoped, evidence, "summary", prev.query, cited=cited)

    # ------------------------------------------------------------ generated answers

    def _write(self, plan: _Plan, question: str, lang: str, deadline: Deadline, stream: bool
               ) -> Generator[Checked, None, Written | None]:
        """The verified generated answer (with ``stream``, each sentence is yielded once it passed the check);
        None when the model failed."""
        assert self.writer is not None
        asked = question if plan.how == "alone" else plan.query
        hits = plan.retrieval.hits
        try:
            if stream:
                sentences = SentenceStream(hits, plan.state.reader, self.embedder, lang)
                for piece in self.writer.stream(asked, hits, lang, deadline):
                    yield from sentences.feed(piece)
                yield from sentences.end()
                written = sentences.close()
            else:
                raw = self.writer.write(asked, hits, lang, deadline)
                written = finish(raw, hits, plan.state.reader, self.embedder, lang)
        except LLMError as exc:  # an open circuit is said once, by the breaker, not at every question
            log.log(logging.DEBUG if exc.reason == CIRCUIT_OPEN else logging.WARNING,
                    "the language model gave no answer (%s); answering extractively", exc)
            self._observe(f"fallback_{exc.reason}")
            return None
        self._observe("declined" if written.declined else "generated" if written.found else "unsupported")
        if self.observer is not None:
            self.observer.llm_sentences_checked(written.kept, written.removed)
        for claim, support in written.verdicts:
            if not support.supported:
                log.info("removed an unsupported sentence (%s, cosine %.3f, overlap %.2f%s): %s", support.reason,
                         support.cosine, support.overlap,
                         f", missing {', '.join(support.missing)}" if support.missing else "", claim.text)
        return written

    def llm_circuit(self) -> CircuitState | None:
        """The language model's circuit breaker (None without a model): for /readyz and /metrics."""
        breaker = getattr(getattr(self.writer, "client", None), "breaker", None)
        return breaker.state() if breaker is not None else None

    def _observe(self, outcome: str) -> None:
        if self.observer is not None:
            try:
                self.observer.llm_outcome(outcome)
            except Exception:  # counting must never cost an answer
                log.exception("could not count a generation outcome")

    def explain(self, question: str, top_k: int = 5, audiences: frozenset[str] = EVERYONE,
                ) -> tuple[Retrieval, Evidence]:
        """Retrieval and evidence for one question (diagnostics and calibration; not part of the contract)."""
        _, retrieval, evidence = self._weigh(self.validate(question), top_k, audiences_of(audiences))
        return retrieval, evidence

    # ------------------------------------------------------------ documents

    def documents(self, audiences: frozenset[str] = EVERYONE) -> list[dict[str, Any]]:
        """The catalog of the version in service as an asker in ``audiences`` may see it, with passage counts."""
        return [{**d.info().__dict__, "passages": d.passages}
                for d in sorted(self._scoped(audiences_of(audiences)).reader.manifest.documents,
                                key=lambda d: d.source)]

    def document(self, source: str, audiences: frozenset[str] = EVERYONE,
                 ) -> tuple[DocumentInfo, list[Page], list[Passage]] | None:
        """One document's facts, page texts and passages, or None if it is not in the index or the asker
        (in ``audiences``) may not see it: the same answer, so a hidden document's existence is not told."""
        reader = self._scoped(audiences_of(audiences)).reader
        entry = reader.manifest.document(source)
        found = reader.document(source)
        if entry is None or found is None:
            return None
        return entry.info(), found[0], found[1]

    def audiences(self) -> frozenset[str]:
        """Every group a document of the version in service is for (asking with all of them sees everything)."""
        return frozenset(g for d in self._state.reader.manifest.documents for g in d.audience)

    def passage(self, passage_id: int, audiences: frozenset[str] = EVERYONE) -> Passage | None:
        reader = self._scoped(audiences_of(audiences)).reader
        found = reader.passages([passage_id]) if passage_id >= 0 else []
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


def _visible_history(history: Conversation, state: _State) -> Conversation:
    """The conversation as the asker of the next turn may use it (checked on every turn, not when stored).

    A turn whose cited or related passages are not all visible to this asker (``reader`` is the version as
    they may see it) keeps only its question and the text searched: its answer text and passage ids would
    carry what it quoted into this turn. A turn from another index version is treated so too: its ids name
    other passages in this one, so they cannot be checked.
    """
    reader, turns = state.reader, []
    for turn in history.turns:
        ids = list(dict.fromkeys(turn.cited + turn.related))
        same = turn.index_version == reader.version_id
        if same and (not ids or not state.restricted or len(reader.passages(ids)) == len(ids)):
            turns.append(turn)
        else:
            turns.append(replace(turn, found=False, text="", cited=(), related=()))
    return replace(history, turns=tuple(turns))
