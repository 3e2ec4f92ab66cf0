"""What the bot keeps between updates; one instance lives in ``application.bot_data``."""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.answer.generate import Checked
from assistant.config import Settings
from assistant.stores.conversation import Conversation
from assistant.stores.feedback import Feedback, hash_user
from assistant.types import Answer
from bots.ratelimit import Limit, MemoryLimiter
from ingest.jobs import Reindexer

from .access import AccessPolicy

STATE_KEY = "wegwijzer"
REMEMBERED_ANSWERS = 2000  # answers whose "Toon bronnen" button still works (newest first to stay)


class AssistantLike(Protocol):
    """The part of :class:`assistant.Assistant` the bot uses (tests may wrap the real one)."""

    def ask(self, question: str, top_k: int = 5, conversation: str | None = None,
            audiences: frozenset[str] = ...) -> Answer: ...

    def stream(self, question: str, top_k: int = 5, conversation: str | None = None,
               audiences: frozenset[str] = ...) -> Iterator[Checked | Answer]: ...

    def forget(self, conversation: str) -> None: ...

    def history(self, conversation: str) -> Conversation | None: ...

    def validate(self, question: object) -> str: ...

    def documents(self, audiences: frozenset[str] = ...) -> list[dict[str, Any]]: ...

    def status(self) -> dict[str, Any]: ...


@dataclass
class BotState:
    """Heavy things loaded once (assistant, store) and the small bookkeeping of a running bot.

    Handlers run on the event loop only, so the plain sets below need no lock.
    """

    settings: Settings
    store: Feedback
    access: AccessPolicy
    salt: str
    jobs: Reindexer | None = None  # re-index jobs (a separate process); None: made from the settings
    loaded: AssistantLike | None = None  # set at startup (post_init) unless injected
    answers: OrderedDict[str, Answer] = field(default_factory=OrderedDict)
    busy: set[int] = field(default_factory=set)
    throttle: MemoryLimiter = field(default_factory=MemoryLimiter)
    throttle_told: dict[int, float] = field(default_factory=dict)  # user id -> when the throttle may speak again
    errors: deque[BaseException] = field(default_factory=lambda: deque(maxlen=100))
    forget_asked: dict[int, tuple[str, float]] = field(default_factory=dict)  # /vergeet: user -> (token, until)

    @property
    def assistant(self) -> AssistantLike:
        if self.loaded is None:
            raise RuntimeError("the assistant is loaded at startup (post_init); the bot is not started yet")
        return self.loaded

    @property
    def reindexer(self) -> Reindexer:
        if self.jobs is None:
            self.jobs = Reindexer(self.settings)
        return self.jobs

    def remember(self, answer: Answer) -> str:
        """Keep ``answer`` under a new short id (callback data is limited to 64 bytes)."""
        answer_id = secrets.token_urlsafe(9)
        self.answers[answer_id] = answer
        while len(self.answers) > REMEMBERED_ANSWERS:
            self.answers.popitem(last=False)
        return answer_id

    def recall(self, answer_id: str) -> Answer | None:
        return self.answers.get(answer_id)

    def drop(self, answer_ids: list[str]) -> None:
        """Forget answers kept for their "Toon bronnen" button (/vergeet)."""
        for answer_id in answer_ids:
            self.answers.pop(answer_id, None)

    def user_ref(self, user_id: int) -> str:
        """A person's pseudonym in the feedback store (their votes and the questions they asked)."""
        return hash_user(user_id, self.salt)

    def conversation(self, chat_id: int) -> str:
        """The chat's conversation id: stable (it survives a restart), never the chat id itself."""
        return f"telegram-{hash_user(chat_id, self.salt)[:24]}"

    @property
    def streaming(self) -> bool:
        """Whether answers are written by a language model (then the message grows as it is written)."""
        return getattr(self.loaded, "writer", None) is not None

    @property
    def question_limit(self) -> Limit:
        return Limit("telegram", self.settings.telegram_questions_per_minute, 60.0)
