"""A small Bot API server on 127.0.0.1 for running the real bot in tests.

It speaks enough of https://core.telegram.org/bots/api for python-telegram-bot's own networking:
getMe, deleteWebhook, getUpdates (a real long poll over a queue the test fills), sendMessage,
editMessageText, answerCallbackQuery, sendChatAction, setMyCommands and getFile, and it serves file
downloads (``/file/bot<token>/<file_path>``) of files the test registered. Every call and every
download is recorded.
Like Telegram, it checks HTML formatting and the 4096-character limit, so a badly split or badly
escaped message fails loudly; and it can be told to answer the next call of a method with a 429
(``retry_after``), a 400 or a dropped connection.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TOKEN = "123456789:AAFakeTokenForWegwijzerTests-abcdefgh"
BOT_USER = {"id": 777000111, "is_bot": True, "first_name": "Wegwijzer", "username": "wegwijzer_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
MESSAGE_LIMIT = 4096

# Telegram's HTML dialect: https://core.telegram.org/bots/api#html-style
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                 "tg-emoji", "code", "pre", "blockquote"}
_HTML_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>"
                         r"|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]")


_CANT = "can't parse entities:"


def parse_telegram_html(text: str) -> str:
    """The plain text Telegram would show, or ValueError with Telegram's kind of reason."""
    stack: list[str] = []
    plain: list[str] = []
    pos = 0
    for m in _HTML_TOKEN.finditer(text):
        plain.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if token in "<>&":
            raise ValueError(f"{_CANT} unexpected {token!r} at byte offset {m.start()}")
        if token.startswith("&"):
            plain.append(html.unescape(token))
            continue
        closing, name = m.group(1), m.group(2).lower()
        if name not in _ALLOWED_TAGS:
            raise ValueError(f'{_CANT} Unsupported start tag "{name}" at byte offset {m.start()}')
        if closing:
            if not stack or stack[-1] != name:
                raise ValueError(f'{_CANT} Can\'t find end tag corresponding to start tag "{name}"')
            stack.pop()
        else:
            stack.append(name)
    plain.append(text[pos:])
    if stack:
        raise ValueError(f'{_CANT} Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(plain)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One request the bot made, and how it was answered."""

    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard buttons, flattened."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None = None
    drop: bool = False
    chat_id: int | None = None  # only for calls to this chat (None: any call of the method)


def _decode(raw: dict[str, str]) -> dict[str, Any]:
    """Bot API form values are strings, with JSON for structured ones (reply_markup, ...)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in "{[":
            try:
                out[key] = json.loads(value)
                continue
            except ValueError:
                pass
        out[key] = value
    return out


class FakeBotAPI:
    """The server; use as a context manager or call start()/stop()."""

    def __init__(self, token: str = TOKEN, bot_user: dict[str, Any] | None = None) -> None:
        self.token = token
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._next_message_id = 1000
        self._failures: dict[str, list[_Failure]] = {}
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.downloads: list[str] = []  # file_paths fetched through /file/bot<token>/...
        self._cond = threading.Condition()
        self._stopping = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """What WEGWIJZER_TELEGRAM_API_URL should be: the token is appended by the bot."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what the test injects

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (its update_id is added)."""
        with self._cond:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def _new_message_id(self) -> int:
        with self._cond:
            self._next_message_id += 1
            return self._next_message_id

    def message(self, text: str, user_id: int, chat_id: int | None = None, chat_type: str = "private",
                reply_to: dict[str, Any] | None = None, first_name: str = "Test",
                with_entities: bool = True) -> dict[str, Any]:
        """Queue a text message from ``user_id``; commands and @mentions get entities, as from Telegram.

        ``with_entities=False`` imitates a Bot API server or client that leaves them out.
        """
        chat_id = user_id if chat_id is None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = "Testgroep"
        msg: dict[str, Any] = {
            "message_id": self._new_message_id(), "date": int(time.time()), "chat": chat, "text": text,
            "from": {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "nl"},
        }
        entities = []
        for m in re.finditer(r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|@[A-Za-z0-9_]{5,}", text):
            kind = "bot_command" if m.group(0).startswith("/") else "mention"
            if kind == "bot_command" and m.start() != 0:
                continue
            entities.append({"type": kind, "offset": utf16_len(text[:m.start()]),
                             "length": utf16_len(m.group(0))})
        if entities and with_entities:
            msg["entities"] = entities
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        return self.push({"message": msg})

    def add_file(self, content: bytes, name: str = "document.bin") -> str:
        """Register a file the bot may fetch with getFile and a download; returns its file_id."""
        with self._cond:
            file_id = f"file-{len(self._files) + 1}"
            suffix = name[name.rfind("."):] if "." in name else ""  # like Telegram: documents/file_12.docx
            self._files[file_id] = (f"documents/{file_id}{suffix}", content)
        return file_id

    def document(self, user_id: int, name: str, content: bytes, caption: str = "", chat_id: int | None = None,
                 chat_type: str = "private", declared_size: int | None = None) -> dict[str, Any]:
        """Queue a message with a document (as Telegram sends it: metadata and a file_id, not the bytes)."""
        file_id = self.add_file(content, name)
        chat_id = user_id if chat_id is None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Test"
        else:
            chat["title"] = "Testgroep"
        msg: dict[str, Any] = {
            "message_id": self._new_message_id(), "date": int(time.time()), "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "nl"},
            "document": {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": name,
                         "mime_type": "application/octet-stream",
                         "file_size": len(content) if declared_size is None else declared_size},
        }
        if caption:
            msg["caption"] = caption
        return self.push({"message": msg})

    def callback(self, data: str, user_id: int, message: dict[str, Any]) -> dict[str, Any]:
        """Queue a press on an inline button with ``data`` under the bot's ``message``."""
        query = {"id": str(self._new_message_id()), "chat_instance": "ci-1", "data": data, "message": message,
                 "from": {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "nl"}}
        return self.push({"callback_query": query})

    def fail_next(self, method: str, status: int = 429, description: str = "Too Many Requests: retry after 1",
                  retry_after: int | None = 1, drop: bool = False, chat_id: int | None = None) -> None:
        """Answer the next ``method`` call (to ``chat_id``, if given) with an error or a dropped connection."""
        params = {"retry_after": retry_after} if status == 429 and retry_after is not None else None
        with self._cond:
            self._failures.setdefault(method, []).append(_Failure(status, description, params, drop, chat_id))

    # ------------------------------------------------------------------ what the test checks

    def sent(self, chat_id: int | None = None, method: str = "sendMessage", ok: bool = True) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)
                    and (c.ok or not ok)]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0) -> list[Call]:
        """Block until ``predicate(calls)`` holds; AssertionError (with the calls so far) on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self.calls)):
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.params) for c in self.calls if c.method != "getUpdates"]
                    raise AssertionError(f"timed out; calls so far: {seen}")
                self._cond.wait(left)
            return list(self.calls)

    def wait_sent(self, chat_id: int, count: int = 1, method: str = "sendMessage",
                  timeout: float = 10.0) -> list[Call]:
        """Wait until ``count`` successful ``method`` calls reached ``chat_id``; returns them."""
        self.wait_for(lambda _: len(self.sent(chat_id, method)) >= count, timeout)
        return self.sent(chat_id, method)

    def quiet(self, seconds: float = 0.5) -> None:
        """Let the bot run a moment (to assert that nothing more happens)."""
        time.sleep(seconds)

    def result_message(self, call: Call) -> dict[str, Any]:
        """The Message object returned for a sendMessage call (to press buttons under it)."""
        return dict(call.params["_result"])

    # ------------------------------------------------------------------ HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            _api = api

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                from urllib.parse import unquote

                prefix = f"/file/bot{api.token}/"
                path = unquote(urlsplit(self.path).path)  # python-telegram-bot quotes the ':' of the token
                if path.startswith(prefix):
                    self._download(path[len(prefix):])
                    return
                self._dispatch({})

            def _download(self, file_path: str) -> None:
                content = api._file_content(file_path)
                if content is None:
                    self._reply(404, api._error(404, "Not Found"))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = {k: v if isinstance(v, str) else json.dumps(v)
                              for k, v in json.loads(body).items()}
                else:
                    params = dict(parse_qsl(body, keep_blank_values=True))
                self._dispatch(params)

            def _dispatch(self, raw: dict[str, str]) -> None:
                path = urlsplit(self.path)
                raw = {**dict(parse_qsl(path.query)), **raw}
                m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path.path)
                if m is None or m.group(1) != api.token:
                    status = 401 if m else 404
                    self._reply(status, self._api._error(status, "Unauthorized" if m else "Not Found"))
                    return
                method, params = m.group(2), _decode(raw)
                status, payload = api._handle(method, params)
                if payload is None:  # simulated network failure: drop the connection
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._reply(status, payload)

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the bot hung up (stopped mid long poll)
                    self.close_connection = True

        return Handler

    def _record(self, method: str, params: dict[str, Any], status: int) -> Call:
        with self._cond:
            call = Call(method, params, status)
            self.calls.append(call)
            self._cond.notify_all()
            return call

    def _handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        with self._cond:
            queue = self._failures.get(method) or []
            chat = params.get("chat_id")
            failure = next((f for f in queue if f.chat_id is None or str(f.chat_id) == str(chat)), None)
            if failure is not None:
                queue.remove(failure)
        if failure is not None:
            self._record(method, params, 0 if failure.drop else failure.status)
            if failure.drop:
                return 0, None
            return failure.status, self._error(failure.status, failure.description, failure.parameters)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            self._record(method, params, 404)
            return 404, self._error(404, "Not Found")
        try:
            result = handler(params)
        except ValueError as exc:
            self._record(method, params, 400)
            return 400, self._error(400, f"Bad Request: {exc}")
        if isinstance(result, dict) and "message_id" in result:
            params["_result"] = result
        self._record(method, params, 200)
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            out["parameters"] = parameters
        return out

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self.calls.append(Call("getUpdates", params))
            self._cond.notify_all()
            while not self._updates and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._updates[:limit]

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        plain = parse_telegram_html(text) if params.get("parse_mode") == "HTML" else text
        if not plain.strip():
            raise ValueError("message text is empty")
        if utf16_len(plain) > MESSAGE_LIMIT:
            raise ValueError("message is too long")
        chat_id = int(params["chat_id"])
        return {"message_id": self._new_message_id(), "date": int(time.time()), "text": plain,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
                **({"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {})}

    def _file_content(self, file_path: str) -> bytes | None:
        with self._cond:
            for path, content in self._files.values():
                if path == file_path:
                    self.downloads.append(file_path)
                    self._cond.notify_all()
                    return content
        return None

    def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        with self._cond:
            found = self._files.get(str(params.get("file_id")))
        if found is None:
            raise ValueError("wrong file_id or the file is temporarily unavailable")
        path, content = found
        return {"file_id": params["file_id"], "file_unique_id": f"u-{params['file_id']}", "file_size": len(content),
                "file_path": path}

    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self.bot_user

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:  # noqa: N802
        return True

    def _m_setMyCommands(self, params: dict[str, Any]) -> bool:  # noqa: N802
        return True

    def _m_sendChatAction(self, params: dict[str, Any]) -> bool:  # noqa: N802
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:  # noqa: N802
        return True

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._message(params)

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        result = self._message(params)
        result["message_id"] = int(params["message_id"])
        return result
