"""The web front end: a FastAPI service, the chat widget it serves, and the admin API.

    app.py       wiring (lifespan, middleware, routers)      api.py     public endpoints
    admin.py     bearer-token admin endpoints                 context.py what is loaded once and injected
    errors.py    the one JSON error shape, Dutch messages      metrics.py prometheus-client (multiprocess)
    pages.py     document view HTML (pure)                    highlight.py matching-word spans (pure)
    uploads.py   safe names and paths for admin uploads       server.py  ``serve()`` (uvicorn, folder watcher)
    limits.py    request body limits
    guards.py    admin token and rate limits before the body, relative redirects
    protocol.py  uvicorn's h11 protocol with header and body read timeouts

Re-indexing runs in a separate job process (ingest/jobs.py); the web service only requests it.
"""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
