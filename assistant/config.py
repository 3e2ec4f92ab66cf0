"""Settings, read once from the environment at the edge and passed down frozen.

Every variable is prefixed ``WEGWIJZER_`` except ``TELEGRAM_BOT_TOKEN``. Front ends call
:func:`get_settings` (cached); tests build :class:`Settings` directly or call
:func:`Settings.from_env` with a dict.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from assistant.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "multilingual-e5-small"
# Embedding backends (implemented in assistant/model/embedding.py); named here, where the setting is validated.
EMBEDDING_BACKENDS = ("onnx-int8", "onnx", "torch")
DEFAULT_EMBEDDING_BACKEND = "onnx"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}.") from None
    if not value >= minimum:  # also refuses nan
        raise ConfigError(f"{name} must be at least {minimum:g} seconds, got {raw}.")
    return value


_TRUE = frozenset({"1", "true", "yes", "on", "ja", "aan"})
_FALSE = frozenset({"0", "false", "no", "off", "nee", "uit"})


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE or raw in _FALSE:
        return raw in _TRUE
    raise ConfigError(f"{name} must be on or off (1/0, true/false), got {raw!r}.")


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """IP addresses or networks (CIDR), normalised; a typo fails at start-up instead of silently trusting nobody."""
    out = []
    for item in _list(env, name):
        try:
            network = ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)
            out.append(str(network))
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of IP addresses or networks such as "
                              f"'10.0.0.5' or '10.0.0.0/24'; {item!r} is neither.") from None
    return tuple(out)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {env.get(name)!r}.")
    return raw


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    out = set()
    for item in _list(env, name):
        try:
            out.add(int(item))
        except ValueError:
            raise ConfigError(f"{name} must be a comma-separated list of numeric Telegram user ids; "
                              f"{item!r} is not a number.") from None
    return frozenset(out)


def _llm_url(env: Mapping[str, str]) -> str:
    raw = (env.get("WEGWIJZER_LLM_URL") or "").strip().rstrip("/")
    if raw and urlsplit(raw).scheme not in ("http", "https"):
        raise ConfigError(f"WEGWIJZER_LLM_URL must be an http(s) URL such as 'http://localhost:11434/v1', got {raw!r}.")
    return raw


def _llm_model(env: Mapping[str, str]) -> str:
    model = (env.get("WEGWIJZER_LLM_MODEL") or "").strip()
    if (env.get("WEGWIJZER_LLM_URL") or "").strip() and not model:
        raise ConfigError("WEGWIJZER_LLM_URL is set but WEGWIJZER_LLM_MODEL is not: name the model the endpoint "
                          "should use (for example 'llama3.1:8b' on Ollama).")
    return model


MAX_SUGGESTIONS = 4


def _questions(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Starter questions separated by '|' (questions hold commas); at most four."""
    items = tuple(q.strip() for q in (env.get(name) or "").split("|") if q.strip())
    if len(items) > MAX_SUGGESTIONS:
        raise ConfigError(f"{name} holds {len(items)} questions; the widget shows at most {MAX_SUGGESTIONS}.")
    return items


def _public_url(env: Mapping[str, str]) -> str:
    raw = (env.get("WEGWIJZER_PUBLIC_URL") or "").strip().rstrip("/")
    if raw and (urlsplit(raw).scheme not in ("http", "https") or not urlsplit(raw).netloc):
        raise ConfigError("WEGWIJZER_PUBLIC_URL must be the web service's address as people reach it, such as "
                          f"'https://wegwijzer.stad.be', got {raw!r}.")
    return raw


def _text(env: Mapping[str, str], name: str, limit: int = 1000) -> str:
    """A sentence the municipality writes (shown to people); one line, not longer than ``limit``."""
    value = " ".join((env.get(name) or "").split())
    if len(value) > limit:
        raise ConfigError(f"{name} is {len(value)} characters long; keep it under {limit}.")
    return value


def _database_url(env: Mapping[str, str]) -> str:
    raw = (env.get("WEGWIJZER_DATABASE_URL") or "").strip()
    if raw and not raw.startswith(("postgresql://", "postgres://")):
        raise ConfigError("WEGWIJZER_DATABASE_URL must be a PostgreSQL URL such as "
                          "postgresql://user:password@host:5432/wegwijzer.")
    return raw


@dataclass(frozen=True)
class Settings:
    """All configuration of one Wegwijzer process."""

    data_dir: Path
    corpus_dir: Path
    embedding_model: str = DEFAULT_MODEL
    embedding_backend: str = DEFAULT_EMBEDDING_BACKEND
    embedding_threads: int = 0  # 0: automatic (one per serving process, all cores for ingest and the CLI)
    top_k: int = 5
    max_question_chars: int = 1000
    # web
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = ()
    admin_token: str = ""
    max_upload_bytes: int = 20 * 1024 * 1024
    ask_rate_limit: int = 30  # questions per minute per client (0: no limit)
    upload_rate_limit: int = 60  # uploads per hour per client (0: no limit)
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For names the client
    header_timeout_s: float = 10.0  # a request's line and headers must arrive within this time
    body_timeout_s: float = 30.0  # longest silence from a client in the middle of a request body
    question_retention_days: int = 90  # questions (and the text stored with feedback) are kept this long
    # admin page /beheer (issue 10)
    admin_session_minutes: int = 480  # a sign-in lasts this long (the session cookie's expiry)
    login_rate_limit: int = 10  # sign-in attempts per 15 minutes per client (0: no limit)
    # telegram
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_allowed_users: frozenset[int] = frozenset()
    telegram_join_code: str = ""
    telegram_admin_users: frozenset[int] = frozenset()
    telegram_webhook_url: str = ""
    telegram_webhook_port: int = 8443
    telegram_questions_per_minute: int = 10  # per person (0: no limit)
    # re-index jobs and the watched corpus folder
    watch: bool = True  # `serve` re-indexes by itself when files in the corpus change
    watch_quiet_s: float = 5.0  # a change is indexed once the folder was quiet (sizes, mtimes) this long
    watch_poll_s: float = 2.0  # how often the corpus folder is scanned (polling works on network shares)
    ingest_nice: int = 10  # the job process runs this much nicer than the services (0-19)
    ingest_threads: int = 1  # compute threads of the job process
    # per-document budgets of ingest (issue 20): one hostile file costs at most this much
    parse_timeout_s: float = 60.0  # wall clock to read one document and cut it (plus 15 s per scanned page)
    parse_memory_mb: int = 1024  # memory the parse of one document may add (address space, child process)
    ocr_max_megapixels: int = 35  # one page rendered for OCR (A2 at 300 DPI); larger pages at lower DPI
    max_passages_per_document: int = 2000  # more passages than this: the document is reported and skipped
    # ---- conversations and generated answers (issue 11) ----
    conversation_ttl_s: float = 3600.0  # a conversation ends after this long without a question
    conversation_max_turns: int = 20  # only the last turns are kept
    conversation_cleanup_s: float = 600.0  # how often expired conversations are deleted (at most)
    llm_url: str = ""  # OpenAI-compatible base URL ("http://localhost:11434/v1"); empty: extractive answers only
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 20.0  # the whole generated answer must arrive within this, else extractive
    llm_max_tokens: int = 400
    suggested_questions: tuple[str, ...] = ()  # the widget's starter questions (empty: the catalogue's)
    # shared state: index versions, feedback, rate limits and jobs in PostgreSQL instead of the data directory
    database_url: str = ""
    # ---- transparency (issue 22): the AI notice and /transparantie; empty texts: the catalogue's defaults ----
    ai_notice: str = ""  # replaces the catalogue's AI notice (widget's first view, the bot's /start)
    contact: str = ""  # who people write to about Wegwijzer and their data (an address, a service, a DPO)
    documents_maintainer: str = ""  # who chooses and keeps the documents up to date
    feedback_review: str = ""  # how and how often feedback and unanswered questions are read
    public_url: str = ""  # the web service's address as people reach it (links from the Telegram bot)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def admin_sessions_db(self) -> Path:
        """Signed-out admin sessions (so a copied cookie stops working at sign-out), for every worker."""
        return self.data_dir / "admin_sessions.sqlite3"

    @property
    def ratelimit_db(self) -> Path:
        """Rate-limit state shared by every worker process on this data directory."""
        return self.data_dir / "ratelimit.sqlite3"

    @property
    def conversations_db(self) -> Path:
        """Conversations shared by every worker and the bot (issue 11)."""
        return self.data_dir / "conversations.sqlite3"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_url)

    @property
    def metrics_dir(self) -> Path:
        """prometheus-client's multiprocess directory for the server on this port (emptied at start-up)."""
        return self.data_dir / "metrics" / str(self.port)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``); raises ConfigError with a readable reason."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("WEGWIJZER_DATA_DIR") or "data").expanduser().resolve()
        corpus_dir = Path(env.get("WEGWIJZER_CORPUS_DIR") or REPO_ROOT / "corpus").expanduser().resolve()
        return cls(
            data_dir=data_dir,
            corpus_dir=corpus_dir,
            embedding_model=env.get("WEGWIJZER_EMBEDDING_MODEL") or DEFAULT_MODEL,
            embedding_backend=_choice(env, "WEGWIJZER_EMBEDDING_BACKEND", EMBEDDING_BACKENDS,
                                      DEFAULT_EMBEDDING_BACKEND),
            embedding_threads=_int(env, "WEGWIJZER_EMBEDDING_THREADS", 0, minimum=0),
            top_k=_int(env, "WEGWIJZER_TOP_K", 5, minimum=1),
            max_question_chars=_int(env, "WEGWIJZER_MAX_QUESTION_CHARS", 1000, minimum=10),
            host=env.get("WEGWIJZER_HOST") or "127.0.0.1",
            port=_int(env, "WEGWIJZER_PORT", 8000, minimum=1),
            cors_origins=_list(env, "WEGWIJZER_CORS_ORIGINS"),
            admin_token=env.get("WEGWIJZER_ADMIN_TOKEN", ""),
            max_upload_bytes=_int(env, "WEGWIJZER_MAX_UPLOAD_MB", 20, minimum=1) * 1024 * 1024,
            ask_rate_limit=_int(env, "WEGWIJZER_ASK_RATE_LIMIT", 30, minimum=0),
            upload_rate_limit=_int(env, "WEGWIJZER_UPLOAD_RATE_LIMIT", 60, minimum=0),
            trusted_proxies=_networks(env, "WEGWIJZER_TRUSTED_PROXIES"),
            header_timeout_s=_seconds(env, "WEGWIJZER_HEADER_TIMEOUT_S", 10.0, minimum=0.1),
            body_timeout_s=_seconds(env, "WEGWIJZER_BODY_TIMEOUT_S", 30.0, minimum=0.1),
            question_retention_days=_int(env, "WEGWIJZER_QUESTION_RETENTION_DAYS", 90, minimum=1),
            admin_session_minutes=_int(env, "WEGWIJZER_ADMIN_SESSION_MINUTES", 480, minimum=1),
            login_rate_limit=_int(env, "WEGWIJZER_LOGIN_RATE_LIMIT", 10, minimum=0),
            telegram_token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            telegram_api_url=env.get("WEGWIJZER_TELEGRAM_API_URL") or "https://api.telegram.org/bot",
            telegram_allowed_users=_ids(env, "WEGWIJZER_TELEGRAM_ALLOWED_USERS"),
            telegram_join_code=env.get("WEGWIJZER_TELEGRAM_JOIN_CODE", "").strip(),
            telegram_admin_users=_ids(env, "WEGWIJZER_TELEGRAM_ADMIN_USERS"),
            telegram_webhook_url=env.get("WEGWIJZER_TELEGRAM_WEBHOOK_URL", "").strip(),
            telegram_webhook_port=_int(env, "WEGWIJZER_TELEGRAM_WEBHOOK_PORT", 8443, minimum=1),
            telegram_questions_per_minute=_int(env, "WEGWIJZER_TELEGRAM_QUESTIONS_PER_MINUTE", 10, minimum=0),
            # Replicas sharing a database do not own the documents: only the ingest host watches a folder.
            watch=_bool(env, "WEGWIJZER_WATCH", not _database_url(env)),
            watch_quiet_s=_seconds(env, "WEGWIJZER_WATCH_QUIET_S", 5.0, minimum=0.0),
            watch_poll_s=_seconds(env, "WEGWIJZER_WATCH_POLL_S", 2.0, minimum=0.1),
            ingest_nice=min(_int(env, "WEGWIJZER_INGEST_NICE", 10, minimum=0), 19),
            ingest_threads=_int(env, "WEGWIJZER_INGEST_THREADS", 1, minimum=1),
            parse_timeout_s=_seconds(env, "WEGWIJZER_PARSE_TIMEOUT_S", 60.0, minimum=1.0),
            parse_memory_mb=_int(env, "WEGWIJZER_PARSE_MEMORY_MB", 1024, minimum=64),
            ocr_max_megapixels=_int(env, "WEGWIJZER_OCR_MAX_MEGAPIXELS", 35, minimum=1),
            max_passages_per_document=_int(env, "WEGWIJZER_MAX_PASSAGES_PER_DOCUMENT", 2000, minimum=1),
            conversation_ttl_s=60 * _int(env, "WEGWIJZER_CONVERSATION_TTL_MIN", 60, minimum=1),
            conversation_max_turns=_int(env, "WEGWIJZER_CONVERSATION_MAX_TURNS", 20, minimum=1),
            conversation_cleanup_s=60 * _seconds(env, "WEGWIJZER_CONVERSATION_CLEANUP_MIN", 10.0, minimum=0.0),
            llm_url=_llm_url(env),
            llm_model=_llm_model(env),
            llm_api_key=env.get("WEGWIJZER_LLM_API_KEY", "").strip(),
            llm_timeout_s=_seconds(env, "WEGWIJZER_LLM_TIMEOUT_S", 20.0, minimum=0.5),
            llm_max_tokens=_int(env, "WEGWIJZER_LLM_MAX_TOKENS", 400, minimum=16),
            suggested_questions=_questions(env, "WEGWIJZER_SUGGESTED_QUESTIONS"),
            database_url=_database_url(env),
            ai_notice=_text(env, "WEGWIJZER_AI_NOTICE", 300),
            contact=_text(env, "WEGWIJZER_CONTACT"),
            documents_maintainer=_text(env, "WEGWIJZER_DOCUMENTS_MAINTAINER"),
            feedback_review=_text(env, "WEGWIJZER_FEEDBACK_REVIEW"),
            public_url=_public_url(env),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, CLI overrides)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings.from_env()
