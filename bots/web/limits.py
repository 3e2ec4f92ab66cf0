"""Request body size limits, enforced before anything parses the body."""

from __future__ import annotations

from bots.texts import t

from .errors import BodyTooLargeError, send_error
from .metrics import ASGIApp, Message, Receive, Scope, Send

MULTIPART_OVERHEAD = 64 * 1024


def _human(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} kB"


class BodyLimitMiddleware:
    """Refuses bodies above ``limit`` bytes (uploads under ``upload_prefix`` get ``upload_limit``) with 413.

    The declared Content-Length is checked up front; chunked bodies are counted as they arrive.
    """

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int, upload_prefix: str | tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit + MULTIPART_OVERHEAD
        self.upload_prefix = upload_prefix  # one prefix or several (str.startswith takes both)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].startswith(self.upload_prefix) else self.limit
        shown = self.upload_limit - MULTIPART_OVERHEAD if limit == self.upload_limit else limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, shown)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError(_human(shown))
            return message

        await self.app(scope, counting_receive, send)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        await send_error(send, 413, "too_large", t("request.too_large", limit=_human(limit)), close=True)
