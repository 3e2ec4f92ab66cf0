"""Helpers for tests that run the web service as real processes: start, wait, measure, stop; raw uploads.

Everything binds and connects to 127.0.0.1 only, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant.config import REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM, ...), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def child_pids(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(p) for p in (task / "children").read_text().split()]
    return out


def wegwijzer_serve(data_dir: Path, corpus_dir: Path, log_dir: Path, workers: int = 1,
                    **env: str) -> ServerProcess:
    """``wegwijzer serve`` (``python -m bots.cli serve``) on a free 127.0.0.1 port for a data and corpus dir.

    ``env`` adds settings (``WEGWIJZER_ADMIN_TOKEN="..."``, ``WEGWIJZER_WATCH="0"``, ...). Use it as a
    context manager: it waits for ``/readyz`` and stops the server (and its job processes) on exit.
    """
    port = free_port()
    args = ["-m", "bots.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    settings_env = {"WEGWIJZER_DATA_DIR": str(data_dir), "WEGWIJZER_CORPUS_DIR": str(corpus_dir),
                    "WEGWIJZER_CORS_ORIGINS": "", **env}
    return ServerProcess(args, log_dir, env=settings_env, port=port)


class ServerProcess:
    """A server subprocess in its own session, logging to files; stopped (then killed) on exit."""

    def __init__(self, args: Sequence[str], log_dir: Path, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.args = [sys.executable, *args]
        self.env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1",
                    "TRANSFORMERS_OFFLINE": "1", **(env or {})}
        log_dir.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = log_dir / "server.out", log_dir / "server.err"
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.err_path.read_text(errors="replace")[-3000:] if self.err_path.exists() else ""

    def start(self, ready_path: str = "/readyz", timeout: float = 120.0) -> ServerProcess:
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(self.args, cwd=REPO_ROOT, env=self.env, stdout=out, stderr=err,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log()}")
            if self.port is None:
                for line in self.out_path.read_text().splitlines():
                    if line.startswith("PORT "):
                        self.port = int(line.split()[1])
            if self.port is not None:
                try:
                    if httpx.get(self.url + ready_path, timeout=5).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready within {timeout:.0f} s: {self.log()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the session holds this server and its workers only
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class RawResult:
    status: int | None  # None when the server closed the connection without an answer
    body: Any
    sent: int  # body bytes the client managed to send
    seconds: float
    error: str = ""


def stream_upload(port: int, path: str, headers: dict[str, str], filename: str, head: bytes, total: int,
                  declare_length: bool, timeout: float = 60.0, chunk: int = 256 * 1024) -> RawResult:
    """POST a multipart upload of ``total`` body bytes (``head`` then zeros) over a raw socket.

    The body is produced on the fly, never held whole. Sending stops as soon as the server starts
    answering, as a browser does, so an early refusal is seen without pushing the rest.
    ``declare_length`` sends a Content-Length; otherwise the body is chunked (no size known up front).
    """
    boundary = "wegwijzer-test-boundary"
    preamble = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + head
    epilogue = f"\r\n--{boundary}--\r\n".encode()
    length = len(preamble) + (total - len(head)) + len(epilogue)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             f"Content-Type: multipart/form-data; boundary={boundary}",
             f"Content-Length: {length}" if declare_length else "Transfer-Encoding: chunked",
             *(f"{k}: {v}" for k, v in headers.items())]
    zeros = bytes(chunk)

    def frame(data: bytes) -> bytes:
        return data if declare_length else b"%x\r\n%s\r\n" % (len(data), data)

    def pieces():  # type: ignore[no-untyped-def]
        yield ("\r\n".join(lines) + "\r\n\r\n").encode()
        yield frame(preamble)
        left = total - len(head)
        while left > 0:
            n = min(chunk, left)
            left -= n
            yield frame(zeros[:n])
        yield frame(epilogue)
        if not declare_length:
            yield b"0\r\n\r\n"

    t0 = time.monotonic()
    deadline = t0 + timeout
    sent = 0
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    # a selector, not select.select: after hundreds of tests this process may hold descriptors above 1023
    poller = selectors.DefaultSelector()
    try:
        sock.setblocking(False)
        poller.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        source = pieces()
        pending = b""
        answered = False
        while time.monotonic() < deadline:
            if not pending:
                pending = next(source, b"")
                if not pending:
                    break
            events = poller.select(1.0)
            mask = events[0][1] if events else 0
            readable, writable = mask & selectors.EVENT_READ, mask & selectors.EVENT_WRITE
            if readable:
                answered = True
                break
            if writable:
                try:
                    n = sock.send(pending[:65536])
                except (BrokenPipeError, ConnectionResetError) as exc:
                    return RawResult(None, None, sent, time.monotonic() - t0, repr(exc))
                sent += n
                pending = pending[n:]
        if not answered and time.monotonic() >= deadline:
            return RawResult(None, None, sent, time.monotonic() - t0, "client deadline")
        sock.setblocking(True)
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        raw = b""
        try:
            while b"\r\n\r\n" not in raw or len(raw) < _expected(raw):
                data = sock.recv(65536)
                if not data:
                    break
                raw += data
        except (ConnectionResetError, TimeoutError) as exc:
            if not raw:
                return RawResult(None, None, sent, time.monotonic() - t0, repr(exc))
        seconds = time.monotonic() - t0
    finally:
        poller.close()
        sock.close()
    head_part, _, body = raw.partition(b"\r\n\r\n")
    if not head_part:
        return RawResult(None, None, sent, seconds, "connection closed without an answer")
    status = int(head_part.split(b" ", 2)[1])
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = body[:500]
    return RawResult(status, parsed, sent, seconds)


def _expected(raw: bytes) -> int:
    head, sep, _ = raw.partition(b"\r\n\r\n")
    if not sep:
        return 1 << 62
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return 1 << 62  # no length: read to EOF
