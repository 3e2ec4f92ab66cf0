"""The one switch between the two engines: :func:`open_stores` reads ``WEGWIJZER_DATABASE_URL`` once.

With a URL every store lives in that PostgreSQL database (replicas keep no state); without one each lives in
a SQLite file (or, for the salt and jobs, a small file) in the data directory. The index factory
(``assistant.index.open_store``), the rate limiter, the job state and the corpus watcher ask the same object,
so there is no second place that decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.stores.pg import Database, database

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.stores.audit import AuditStore
    from assistant.stores.conversation import ConversationStore
    from assistant.stores.feedback import Feedback
    from assistant.stores.jobs import JobStateStore
    from assistant.stores.ratelimits import RateLimitStore
    from assistant.stores.sessions import SessionStore


class Stores:
    """The state stores the settings select; each method opens a new store object (cheap)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # the one `database_url` switch of the code base
        self.database: Database | None = database(settings.database_url) if settings.database_url else None

    @property
    def engine(self) -> str:
        return "postgresql" if self.database is not None else "sqlite"

    def describe(self) -> str:
        return self.database.describe() if self.database is not None else str(self.settings.data_dir)

    def check(self) -> None:
        """Raise DatabaseError (Dutch) when the database cannot be reached now; nothing to check for files."""
        if self.database is not None:
            self.database.check()

    def feedback(self, retention: bool = True) -> Feedback:
        from assistant.stores.feedback import FeedbackStore, PostgresFeedbackStore

        days = self.settings.question_retention_days if retention else None
        if self.database is not None:
            return PostgresFeedbackStore(self.database.url, retention_days=days)
        return FeedbackStore(self.settings.feedback_db, retention_days=days)

    def client_salt(self) -> str:
        """The secret that salts client pseudonyms: shared by every worker, and with a database by every replica."""
        from assistant.stores.feedback import database_salt, local_salt

        if self.database is not None:
            return database_salt(self.database.url)
        return local_salt(self.settings.data_dir)

    def conversations(self) -> ConversationStore:
        from assistant.stores.conversation import PostgresConversationStore, SQLiteConversationStore

        s = self.settings
        if self.database is not None:
            return PostgresConversationStore(self.database.url, ttl_s=s.conversation_ttl_s,
                                             max_turns=s.conversation_max_turns, cleanup_s=s.conversation_cleanup_s)
        return SQLiteConversationStore(s.conversations_db, ttl_s=s.conversation_ttl_s,
                                       max_turns=s.conversation_max_turns, cleanup_s=s.conversation_cleanup_s)

    def sessions(self) -> SessionStore:
        from assistant.stores.sessions import PostgresSessionStore, SqliteSessionStore

        if self.database is not None:
            return PostgresSessionStore(self.database)
        return SqliteSessionStore(self.settings.admin_sessions_db)

    def ratelimits(self) -> RateLimitStore:
        from assistant.stores.ratelimits import PostgresRateLimitStore, SqliteRateLimitStore

        if self.database is not None:
            return PostgresRateLimitStore(self.database)
        return SqliteRateLimitStore(self.settings.ratelimit_db)

    def jobs(self) -> JobStateStore:
        from assistant.stores.jobs import FileJobStateStore, PostgresJobStateStore

        if self.database is not None:
            return PostgresJobStateStore(self.database)
        return FileJobStateStore(self.settings.index_dir)

    def audit(self) -> AuditStore:
        from assistant.stores.audit import PostgresAuditStore, SqliteAuditStore

        days = self.settings.audit_retention_days
        if self.database is not None:
            return PostgresAuditStore(self.database, retention_days=days)
        return SqliteAuditStore(self.settings.audit_db, retention_days=days)


def open_stores(settings: Settings) -> Stores:
    return Stores(settings)
