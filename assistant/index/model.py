"""What an index version is, independent of where it is stored: the typed manifest and its checks.

``FORMAT_VERSION`` 2 (this module) added, in one change, what answers and speed both needed: sentence
spans, facts and vectors (answers quote the sentence that states the fact), a lexical index built at
ingest (no worker rebuilds BM25), passages read lazily (a large version loads in seconds), and typed
manifest entries. Format 1 indexes are refused with the Dutch "re-index needed" message.

``FORMAT_VERSION`` 3 adds each document's ``audience`` (assistant/audience.py): in the manifest's document
entry and in every passage's record, where the stores filter on it inside their searches. A format 2
version is still read: it was built before audiences existed, so every document in it is for everyone
(and a catalog entry that now names an audience differs from the one it was built with, so the next
ingest writes a format 3 version).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from assistant.audience import may_see
from assistant.errors import IndexFormatError, ModelMismatchError
from assistant.messages import t
from assistant.types import DocumentInfo

FORMAT_VERSION = 3
READABLE_VERSIONS = (2, 3)  # 2: no audiences, every document for everyone


@dataclass(frozen=True)
class ModelInfo:
    """The embedding model that built a version; queries must come from a compatible one."""

    name: str
    fingerprint: str
    dim: int
    backend: str = "torch"  # recorded for people reading the manifest; versions before backends were torch

    @property
    def label(self) -> str:
        return f"{self.name} ({self.backend})" if self.backend else self.name

    def check(self, identity: Any) -> None:
        """Raise ModelMismatchError unless ``identity`` (an embedder's ModelIdentity) can query this version.

        Compatible means the same weights (fingerprint) and dimension; the runtime (torch, onnx) may differ,
        since ONNX fp32 gives the same vectors as torch (bench/backends.py)."""
        if identity.fingerprint != self.fingerprint or int(identity.dim) != self.dim:
            raise ModelMismatchError(t("index.model_mismatch", built=self.label,
                                       configured=getattr(identity, "label", identity.name)))

    @classmethod
    def of(cls, identity: Any) -> ModelInfo:
        return cls(name=str(identity.name), fingerprint=str(identity.fingerprint), dim=int(identity.dim),
                   backend=str(getattr(identity, "backend", "torch")))


@dataclass(frozen=True)
class DocumentEntry:
    """One indexed document: its content hash, catalog facts and what it contributed."""

    source: str
    sha256: str
    title: str
    publisher: str = ""
    date: str = ""
    kind: str = ""
    language: str = "nl-BE"
    pages: int | None = None
    passages: int = 0
    format: str = ""
    ocr_pages: int = 0
    catalog: dict[str, str] = field(default_factory=dict)  # the catalog entry it was built with
    audience: tuple[str, ...] = ()  # group names (assistant/audience.py); () is everyone

    def visible_to(self, audiences: frozenset[str]) -> bool:
        return may_see(self.audience, audiences)

    def info(self) -> DocumentInfo:
        return DocumentInfo(source=self.source, title=self.title, publisher=self.publisher, date=self.date,
                            kind=self.kind, language=self.language, sha256=self.sha256, pages=self.pages)


@dataclass(frozen=True)
class Manifest:
    """Everything needed to decide whether a version can be used, and how it was built."""

    format_version: int
    version_id: str
    created_at: float
    model: ModelInfo
    chunker: dict[str, Any]
    analyzer: dict[str, Any]
    documents: tuple[DocumentEntry, ...]
    passage_count: int
    sentence_count: int
    vector_index: str
    report: dict[str, Any] = field(default_factory=dict)

    def document(self, source: str) -> DocumentEntry | None:
        return next((d for d in self.documents if d.source == source), None)

    @property
    def restricted(self) -> bool:
        """Whether any document of this version has an audience (else every asker sees all of it)."""
        return any(d.audience for d in self.documents)

    def for_audiences(self, audiences: frozenset[str]) -> Manifest:
        """This manifest as an asker in ``audiences`` may see it: the other documents left out."""
        documents = tuple(d for d in self.documents if d.visible_to(audiences))
        if len(documents) == len(self.documents):
            return self
        return replace(self, documents=documents, passage_count=sum(d.passages for d in documents))

    def document_infos(self) -> list[DocumentInfo]:
        return [d.info() for d in sorted(self.documents, key=lambda d: d.source)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Parse a stored manifest; an older format or a damaged one raises IndexFormatError (Dutch)."""
        version = data.get("format_version")
        if version not in READABLE_VERSIONS:
            raise IndexFormatError(t("index.format", found=version, expected=FORMAT_VERSION))
        try:
            return cls(
                format_version=int(data["format_version"]),
                version_id=str(data["version_id"]),
                created_at=float(data["created_at"]),
                model=ModelInfo(**data["model"]),
                chunker=dict(data["chunker"]),
                analyzer=dict(data["analyzer"]),
                documents=tuple(DocumentEntry(**{**d, "audience": tuple(d.get("audience") or ())})
                                for d in data["documents"]),
                passage_count=int(data["passage_count"]),
                sentence_count=int(data["sentence_count"]),
                vector_index=str(data["vector_index"]),
                report=dict(data.get("report") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(t("index.damaged", reason=f"manifest incomplete: {exc}")) from exc
