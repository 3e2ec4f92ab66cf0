"""Who is asking, as audiences: the one place the web service turns a request into the groups it may show.

Every endpoint that shows documents (answers, the document list and view, the original files, the
transparency page, starter questions) asks :func:`request_audiences` and passes the result to the assistant,
which filters inside retrieval (assistant/audience.py). An anonymous request has no audiences, so only
documents for everyone; a reader signed in through the municipality's identity provider brings their groups
(``ReaderGate`` in auth.py puts them in the request's state).

:func:`beheer_audiences` does the same for the lists on /beheer (feedback, wrong answers, their CSV): ``None``
means the reader may see every document (a beheerder; the admin token is one), a set means the sources and
answers of other documents are left out for them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.audience import EVERYONE


def request_audiences(request: Request) -> frozenset[str]:
    """The audiences of whoever sent ``request``: none for an anonymous request (documents for everyone)."""
    found = request.scope.get("state", {}).get("audiences")  # set by auth.ReaderGate for a signed-in reader
    return frozenset(found) if isinstance(found, frozenset) else EVERYONE


def beheer_audiences(request: Request) -> frozenset[str] | None:
    """The audiences of a /beheer reader, or None for one who may see every document (a beheerder)."""
    found = request.scope.get("state", {}).get("beheer_audiences")  # set by guards.SessionGate for a non-beheerder
    return frozenset(found) if isinstance(found, frozenset) else None


Audiences = Annotated[frozenset[str], Depends(request_audiences)]
