"""The web front end: a FastAPI service, the chat widget it serves, and the admin API.

    app.py       wiring (lifespan, middleware, routers)      api.py     public endpoints
    admin.py     bearer-token admin endpoints                 context.py what is loaded once and injected
    errors.py    the one JSON error shape, Dutch messages      metrics.py prometheus-client (multiprocess)
    pages.py     document view HTML (pure)                    highlight.py matching-word spans (pure)
    uploads.py   ingest.corpusfiles' upload rules as 4xx          server.py  ``serve()`` (uvicorn, folder watcher)
    beheer.py    the admin page /beheer and its API           session.py signed session cookie, CSRF token
    csvexport.py CSV for Belgian Excel (BOM, ';', no formulas) limits.py  request body limits
    guards.py    admin token, page session, rate limits before the body, relative redirects
    protocol.py  uvicorn's h11 protocol with header and body read timeouts

Re-indexing runs in a separate job process (ingest/jobs.py); the web service only requests it.
"""

from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
