"""Who may see a document: its audience, a set of group names; no audience means everyone.

A document's audience comes from its catalog entry (``audience = ["personeel"]``) and is index data: ingest
writes it into the manifest's document entry and into every passage's record, and each store filters on it
*inside* its searches (``IndexReader.for_audiences``), so a passage an asker may not see is never a
candidate, never counted and never handed to anything downstream (evidence, compose, a language model, a
conversation). An asker's audiences are the groups they belong to: ``Assistant.ask(..., audiences=...)``;
none (the default) sees only the documents for everyone. Deny by default: a restricted document is shown
to an asker only when they share at least one of its groups.

Names are compared case-insensitively (stored case-folded): identity providers are not consistent about
the case of group names. A name is 1-100 characters of letters, digits and ``. _ - @ : /`` (Keycloak's
group paths start with ``/``; Entra ID sends object ids); commas, ``|``, spaces and ``*`` are reserved for
the lists in settings and catalog forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.errors import WegwijzerError
from assistant.messages import t

EVERYONE: frozenset[str] = frozenset()  # the audiences of an anonymous asker: documents for everyone only
MAX_GROUPS = 20  # per document: an audience is a short list of groups, not a user list
_NAME = re.compile(r"[^\W_][\w.@:/-]{0,99}|/[\w.@:/-]{1,99}")


class AudienceError(WegwijzerError):
    """A group name or list of them is not valid; ``message`` is Dutch and names the offending value."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def group_name(value: object) -> str:
    """One group name, case-folded and checked; raises AudienceError (Dutch) otherwise."""
    if not isinstance(value, str):
        raise AudienceError(t("audience.not_text"))
    name = value.strip().casefold()
    if not _NAME.fullmatch(name):
        raise AudienceError(t("audience.bad_name", value=value.strip()[:100]))
    return name


def normalise(values: Iterable[object]) -> tuple[str, ...]:
    """A document's audience: checked names, case-folded, sorted and without repeats; () is everyone."""
    names = tuple(sorted({group_name(v) for v in values}))
    if len(names) > MAX_GROUPS:
        raise AudienceError(t("audience.too_many", limit=MAX_GROUPS))
    return names


def parse(text: str) -> tuple[str, ...]:
    """An audience written as text (a form field, a setting): names separated by commas or spaces."""
    return normalise(part for part in re.split(r"[,\s]+", text) if part)


def audiences_of(value: object) -> frozenset[str]:
    """An asker's audiences as the Python contract takes them (any iterable of group names; None: none).

    A single string is refused rather than read as a set of letters."""
    if value is None:
        return EVERYONE
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise AudienceError(t("audience.not_a_set"))
    return frozenset(group_name(v) for v in value)


def may_see(audience: Sequence[str], audiences: frozenset[str]) -> bool:
    """Whether an asker in ``audiences`` may see a document whose audience is ``audience``."""
    return not audience or not audiences.isdisjoint(audience)
