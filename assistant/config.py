"""Settings, read once from the environment at the edge and passed down frozen.

One owner: :class:`Settings` is a pydantic-settings model. Every field is read from ``WEGWIJZER_<FIELD>``
(``TELEGRAM_BOT_TOKEN`` for the bot token), parsed and checked by pydantic; a wrong value stops the
process with a Dutch message that names the variable (:func:`dutch_errors`, texts in the catalogue).

Front ends call :func:`get_settings` (cached). Tests build ``Settings(data_dir=..., corpus_dir=...)``
directly (then the environment is *not* read) or call :meth:`Settings.from_env` with a dict.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from assistant.errors import ConfigError
from assistant.messages import t

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "multilingual-e5-small"
# Embedding backends (implemented in assistant/model/embedding.py); named here, where the setting is validated.
EMBEDDING_BACKENDS = ("onnx-int8", "onnx", "torch")
DEFAULT_EMBEDDING_BACKEND: Literal["onnx-int8", "onnx", "torch"] = "onnx"
EmbeddingBackend = Literal["onnx-int8", "onnx", "torch"]
MAX_SUGGESTIONS = 4
PREFIX = "WEGWIJZER_"
MIB = 1024 * 1024

_TRUE = frozenset({"1", "true", "yes", "on", "ja", "aan"})
_FALSE = frozenset({"0", "false", "no", "off", "nee", "uit"})

# Lists from the environment are split by us (commas; '|' for questions, which hold commas), not parsed as JSON.
Items = Annotated[tuple[str, ...], NoDecode]
UserIds = Annotated[frozenset[int], NoDecode]
AudienceMap = Annotated[tuple[tuple[int, frozenset[str]], ...], NoDecode]  # Telegram user id -> groups


def _items(raw: object, sep: str = ",") -> object:
    if isinstance(raw, str):
        return tuple(item.strip() for item in raw.split(sep) if item.strip())
    return raw


def _one_line(value: str, limit: int) -> str:
    value = " ".join(value.split())
    if len(value) > limit:
        raise ValueError(t("config.too_long", length=len(value), limit=limit))
    return value


# The environment a Settings() call reads: None (a direct constructor call in code and tests) or a mapping.
_ENVIRONMENT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("wegwijzer_env",
                                                                                        default=None)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping :meth:`Settings.from_env` was given."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._mapping, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    """All configuration of one Wegwijzer process."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="forbid", populate_by_name=True,
                                      env_ignore_empty=True, validate_default=True)

    data_dir: Path = Path("data")
    corpus_dir: Path = REPO_ROOT / "corpus"
    embedding_model: str = DEFAULT_MODEL
    embedding_backend: EmbeddingBackend = DEFAULT_EMBEDDING_BACKEND
    embedding_threads: int = Field(0, ge=0)  # 0: automatic (one per serving process, all cores for ingest and CLI)
    top_k: int = Field(5, ge=1)
    max_question_chars: int = Field(1000, ge=10)
    # web
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: Items = ()
    admin_token: str = ""
    max_upload_mb: float = Field(20, gt=0)  # see max_upload_bytes
    ask_rate_limit: int = Field(30, ge=0)  # questions per minute per client (0: no limit)
    upload_rate_limit: int = Field(60, ge=0)  # uploads per hour per client (0: no limit)
    trusted_proxies: Items = ()  # addresses whose X-Forwarded-For names the client
    header_timeout_s: float = Field(10.0, ge=0.1)  # a request's line and headers must arrive within this time
    body_timeout_s: float = Field(30.0, ge=0.1)  # longest silence from a client in the middle of a request body
    question_retention_days: int = Field(90, ge=1)  # questions (and the text stored with feedback) kept this long
    # admin page /beheer
    admin_session_minutes: int = Field(480, ge=1)  # a sign-in lasts this long (the session cookie's expiry)
    login_rate_limit: int = Field(10, ge=0)  # sign-in attempts per 15 minutes per client (0: no limit)
    # telegram
    telegram_token: str = Field("", validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN"))
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_allowed_users: UserIds = frozenset()
    telegram_join_code: str = ""
    telegram_admin_users: UserIds = frozenset()
    telegram_webhook_url: str = ""
    telegram_webhook_port: int = Field(8443, ge=1, le=65535)
    telegram_questions_per_minute: int = Field(10, ge=0)  # per person (0: no limit)
    # ---- documents per audience (issue 21, item 4) ----
    telegram_audiences: AudienceMap = ()  # "123:personeel,456:personeel|raad"; private chats only
    # re-index jobs and the watched corpus folder
    watch: bool | None = None  # `serve` re-indexes when corpus files change; default: only without a database
    watch_quiet_s: float = Field(5.0, ge=0.0)  # a change is indexed once the folder was quiet this long
    watch_poll_s: float = Field(2.0, ge=0.1)  # how often the corpus folder is scanned (works on network shares)
    ingest_nice: int = Field(10, ge=0, le=19)  # the job process runs this much nicer than the services
    ingest_threads: int = Field(1, ge=1)  # compute threads of the job process
    # per-document budgets of ingest: one hostile file costs at most this much
    parse_timeout_s: float = Field(60.0, ge=1.0)  # wall clock to read and cut one document (+15 s per scanned page)
    parse_memory_mb: int = Field(1024, ge=64)  # memory the parse of one document may add (child's address space)
    ocr_max_megapixels: int = Field(35, ge=1)  # one page rendered for OCR (A2 at 300 DPI); larger pages at lower DPI
    ocr_page_timeout_s: float = Field(45.0, gt=0)  # Tesseract on one page; noise can keep it busy for minutes
    max_passages_per_document: int = Field(2000, ge=1)  # more passages: the document is reported and skipped
    # conversations and generated answers
    conversation_ttl_min: int = Field(60, ge=1)  # a conversation ends after this long without a question
    conversation_max_turns: int = Field(20, ge=1)  # only the last turns are kept
    conversation_cleanup_min: float = Field(10.0, ge=0.0)  # how often expired conversations are deleted (at most)
    llm_url: str = ""  # OpenAI-compatible base URL ("http://localhost:11434/v1"); empty: extractive answers only
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = Field(20.0, ge=0.5)  # the whole generated answer must arrive within this, else extractive
    llm_max_tokens: int = Field(400, ge=16)
    # ---- the language model's circuit breaker (issue 20; assistant/answer/breaker.py) ----
    llm_first_token_s: float = Field(3.0, ge=0.1)  # the stream's first event must come within this, else extractive
    llm_circuit_failures: int = Field(3, ge=1)  # quick failures in a row that open the breaker (a timeout: at once)
    llm_circuit_cooldown_s: float = Field(30.0, ge=0.0)  # open: questions get the quoted answer at once this long
    suggested_questions: Items = ()  # the widget's starter questions (empty: the catalogue's)
    # shared state: index versions, feedback, rate limits and jobs in PostgreSQL instead of the data directory
    database_url: str = ""
    audit_retention_days: int = Field(365, ge=1)  # the audit trail is kept longer than questions
    # sign-in through the municipality's identity provider (OpenID Connect) and the roles its groups give
    oidc_issuer: str = ""  # the provider's issuer URL (discovery at <issuer>/.well-known/openid-configuration)
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # empty: a public client (PKCE alone)
    oidc_groups_claim: str = "groups"  # the claim (ID token or userinfo) that lists a person's groups
    oidc_scopes: str = "openid profile email"
    role_lezer: Items = ()  # groups that may ask (empty: everybody the provider signs in)
    role_redacteur: Items = ()  # groups that upload, edit metadata, delete and re-index
    role_beheerder: Items = ()  # groups that also read the audit trail and export
    widget_signin: bool = False  # the widget answers signed-in people only
    # transparency: the AI notice and /transparantie; empty texts: the catalogue's defaults
    ai_notice: str = ""  # replaces the catalogue's AI notice (widget's first view, the bot's /start)
    contact: str = ""  # who people write to about Wegwijzer and their data (an address, a service, a DPO)
    documents_maintainer: str = ""  # who chooses and keeps the documents up to date
    feedback_review: str = ""  # how and how often feedback and unanswered questions are read
    public_url: str = ""  # the web service's address as people reach it (links from the Telegram bot)

    # ------------------------------------------------------------------ where the values come from

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        env = _ENVIRONMENT.get()
        return (init_settings,) if env is None else (init_settings, _MappingSource(settings_cls, env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``); raises ConfigError with a Dutch reason."""
        token = _ENVIRONMENT.set(os.environ if env is None else env)
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigError(dutch_errors(exc)) from None
        finally:
            _ENVIRONMENT.reset(token)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, CLI overrides), checked like the original."""
        try:
            return type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})
        except ValidationError as exc:
            raise ConfigError(dutch_errors(exc)) from None

    # ------------------------------------------------------------------ checks beyond the field types

    @field_validator("data_dir", "corpus_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("embedding_backend", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cors_origins", "role_lezer", "role_redacteur", "role_beheerder", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _items(value)

    @field_validator("suggested_questions", mode="before")
    @classmethod
    def _questions(cls, value: object) -> object:
        items = _items(value, "|")
        if isinstance(items, tuple) and len(items) > MAX_SUGGESTIONS:
            raise ValueError(t("config.too_many_questions", count=len(items), limit=MAX_SUGGESTIONS))
        return items

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        """IP addresses or networks (CIDR), normalised; a typo fails at start-up instead of trusting nobody.

        Only text from the environment is checked: code and tests may name a host (Starlette's "testclient")."""
        if not isinstance(value, str):
            return value
        out = []
        for item in _items(value) or ():  # type: ignore[attr-defined]
            try:
                out.append(str(ipaddress.ip_network(item, strict=False) if "/" in item else ipaddress.ip_address(item)))
            except ValueError:
                raise ValueError(t("config.network", item=item)) from None
        return tuple(out)

    @field_validator("telegram_allowed_users", "telegram_admin_users", mode="before")
    @classmethod
    def _user_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        out = set()
        for item in _items(value):  # type: ignore[attr-defined]
            try:
                out.add(int(item))
            except ValueError:
                raise ValueError(t("config.user_id", item=item)) from None
        return frozenset(out)

    @field_validator("telegram_audiences", mode="before")
    @classmethod
    def _audience_map(cls, value: object) -> object:
        """``123:personeel,456:personeel|raad``: per Telegram user id (commas between people, as in the other id
        lists) the groups whose documents they may see (``|`` between groups); an id named twice gets both."""
        if not isinstance(value, str):
            return value
        from assistant.audience import AudienceError, group_name

        found: dict[int, set[str]] = {}
        for item in _items(value):  # type: ignore[attr-defined]
            user, sep, groups = item.partition(":")
            names = [g for g in groups.split("|") if g.strip()]
            try:
                user_id = int(user.strip())
            except ValueError:
                raise ValueError(t("config.audience_map", item=item)) from None
            if not sep or not names:
                raise ValueError(t("config.audience_map", item=item))
            try:
                found.setdefault(user_id, set()).update(group_name(g) for g in names)
            except AudienceError as exc:
                raise ValueError(exc.message) from None
        return tuple(sorted((user_id, frozenset(groups)) for user_id, groups in found.items()))

    @field_validator("watch", "widget_signin", mode="before")
    @classmethod
    def _dutch_bool(cls, value: object) -> object:
        if isinstance(value, str):
            raw = value.strip().lower()
            if raw in _TRUE or raw in _FALSE:
                return raw in _TRUE
            raise ValueError(t("config.bool"))
        return value

    @field_validator("telegram_token", "telegram_join_code", "telegram_webhook_url", "llm_api_key", "llm_model",
                     "admin_token", "oidc_client_id", "oidc_client_secret", "oidc_groups_claim")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("llm_url", "public_url", "oidc_issuer")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(t("config.http_url"))
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(t("config.database_url"))
        return value

    @field_validator("ai_notice")
    @classmethod
    def _notice(cls, value: str) -> str:
        return _one_line(value, 300)

    @field_validator("contact", "documents_maintainer", "feedback_review")
    @classmethod
    def _sentence(cls, value: str) -> str:
        return _one_line(value, 1000)

    @field_validator("oidc_scopes")
    @classmethod
    def _scopes(cls, value: str) -> str:
        return " ".join(value.split()) or "openid"

    @model_validator(mode="after")
    def _together(self) -> Settings:
        if self.llm_url and not self.llm_model:
            raise ValueError(t("config.llm_model"))
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError(t("config.oidc_client_id"))
        if self.widget_signin and not (self.oidc_issuer and self.oidc_client_id):
            raise ValueError(t("config.widget_signin"))
        if not self.oidc_groups_claim:
            object.__setattr__(self, "oidc_groups_claim", "groups")
        if self.watch is None:
            # Replicas sharing a database do not own the documents: only the ingest host watches a folder.
            object.__setattr__(self, "watch", not self.database_url)
        return self

    # ------------------------------------------------------------------ derived values

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)

    @property
    def conversation_ttl_s(self) -> float:
        return 60.0 * self.conversation_ttl_min

    @property
    def conversation_cleanup_s(self) -> float:
        return 60.0 * self.conversation_cleanup_min

    @property
    def oidc_enabled(self) -> bool:
        """Sign-in through the identity provider is configured."""
        return bool(self.oidc_issuer and self.oidc_client_id)

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
        """Admin sessions, their signing secret and sign-outs, for every worker (when there is no database)."""
        return self.data_dir / "admin_sessions.sqlite3"

    @property
    def audit_db(self) -> Path:
        """The audit trail (who did what, when, from where) when there is no database."""
        return self.data_dir / "audit.sqlite3"

    @property
    def ratelimit_db(self) -> Path:
        """Rate-limit state shared by every worker process on this data directory."""
        return self.data_dir / "ratelimit.sqlite3"

    @property
    def conversations_db(self) -> Path:
        """Conversations shared by every worker and the bot."""
        return self.data_dir / "conversations.sqlite3"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_url)

    @property
    def metrics_dir(self) -> Path:
        """prometheus-client's multiprocess directory for the server on this port (emptied at start-up)."""
        return self.data_dir / "metrics" / str(self.port)


def env_name(field: str) -> str:
    """The environment variable a field is read from."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str)]
        if names:
            return names[0]
    return PREFIX + field.upper()


# pydantic's error types -> catalogue keys; anything else falls back to the generic text with pydantic's own.
_ERRORS = {
    "int_parsing": "config.int", "int_from_float": "config.int", "float_parsing": "config.number",
    "greater_than_equal": "config.at_least", "greater_than": "config.above", "less_than_equal": "config.at_most",
    "bool_parsing": "config.bool", "literal_error": "config.choice", "extra_forbidden": "config.unknown",
}


def dutch_errors(exc: ValidationError) -> str:
    """One Dutch line per wrong setting, naming its environment variable and what it must be."""
    lines = []
    for error in exc.errors():
        loc = error.get("loc") or ("",)
        name = env_name(str(loc[0])) if loc[0] else ""
        ctx: dict[str, Any] = dict(error.get("ctx") or {})
        key = _ERRORS.get(error["type"])
        raw = error.get("input")
        shown = raw if isinstance(raw, str | int | float) else ""
        if error["type"] == "value_error":
            reason = str(ctx.get("error", error["msg"]))
        elif key == "config.choice":
            reason = t(key, choices=", ".join(EMBEDDING_BACKENDS) if loc[0] == "embedding_backend"
                       else str(ctx.get("expected", "")))
        elif key:
            reason = t(key, limit=ctx.get("ge", ctx.get("gt", ctx.get("le", ""))))
        else:
            reason = t("config.invalid", detail=error["msg"])
        if not name:
            lines.append(reason)
        elif shown != "":
            lines.append(t("config.line", name=name, value=shown, reason=reason))
        else:
            lines.append(t("config.line_no_value", name=name, reason=reason))
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings.from_env()
