"""One exception hierarchy for Wegwijzer; only entry points translate it for people."""


class WegwijzerError(Exception):
    """Base class for every error Wegwijzer raises on purpose."""


class ConfigError(WegwijzerError):
    """A setting is missing or malformed."""


class IndexNotFoundError(WegwijzerError):
    """No published index exists yet in the data directory."""


class IndexFormatError(WegwijzerError):
    """The index on disk was written by an incompatible format version or is damaged."""


class ModelMismatchError(WegwijzerError):
    """The query embedder differs from the model that built the index."""


class IndexWriteError(WegwijzerError):
    """A new index version cannot be written (full, read-only or size-limited disk); the old one stays."""


class IngestBusyError(WegwijzerError):
    """Another ingest holds the lock on this data directory."""


class DocumentError(WegwijzerError):
    """A document cannot be read (corrupt, encrypted, empty, no text layer)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class InvalidQuestionError(WegwijzerError):
    """A question is empty, too long or otherwise unusable."""


class ModelUnavailableError(WegwijzerError):
    """The embedding model cannot be loaded or materialised."""


class DatabaseError(WegwijzerError):
    """The database (WEGWIJZER_DATABASE_URL) cannot be reached, lacks pgvector, or refused a request."""


class DatabaseUnavailableError(DatabaseError):
    """The database cannot be reached now (down, restarting, network): a 503, not a 500; retried later."""
