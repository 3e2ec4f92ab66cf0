"""Who may use the bot: allowed user ids, admins, and people who sent the join code.

People who joined with the code are remembered across restarts, as salted hashes of their user id
(never the raw id or a name). Refusals are remembered in memory only: after a restart someone who
was refused may get the polite refusal once more, which is harmless.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from assistant.audience import EVERYONE
from assistant.stores.feedback import hash_user

log = logging.getLogger(__name__)

MAX_JOIN_ATTEMPTS = 5  # wrong codes per person before further codes are ignored (no guessing by script)


class AccessPolicy:
    """Decides per Telegram user id; thread-safe."""

    def __init__(self, allowed: frozenset[int], admins: frozenset[int], join_code: str,
                 members_file: Path, salt: str,
                 audiences: tuple[tuple[int, frozenset[str]], ...] = ()) -> None:
        self.allowed = allowed
        self._audiences = dict(audiences)
        self.admins = admins
        self.join_code = join_code
        self.members_file = Path(members_file)
        self._salt = salt
        self._lock = threading.Lock()
        self._members = self._read_members()
        self._refused: set[int] = set()
        self._failed_joins: dict[int, int] = {}

    def _read_members(self) -> set[str]:
        try:
            data = json.loads(self.members_file.read_text(encoding="utf-8"))
            return {str(item) for item in data.get("members", [])}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("cannot read %s (%s); nobody has joined with the code yet", self.members_file, exc)
            return set()

    def _write_members(self) -> None:
        self.members_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.members_file.parent, prefix=".members-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"members": sorted(self._members)}, fh)
        os.replace(tmp, self.members_file)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admins

    def is_allowed(self, user_id: int) -> bool:
        if user_id in self.allowed or user_id in self.admins:
            return True
        with self._lock:
            return hash_user(user_id, self._salt) in self._members

    def audiences(self, user_id: int, private: bool) -> frozenset[str]:
        """The groups whose documents ``user_id`` may be answered from (WEGWIJZER_TELEGRAM_AUDIENCES).

        Only in a private chat and only for someone who may use the bot: an answer in a group is read by every
        member of it, so it comes from documents for everyone (deny by default)."""
        if not private or not self.is_allowed(user_id):
            return EVERYONE
        return self._audiences.get(user_id, EVERYONE)

    def try_join(self, user_id: int, code: str) -> bool:
        """Admit ``user_id`` when ``code`` is the configured join code (compared in constant time).

        After MAX_JOIN_ATTEMPTS wrong codes, even the right one is refused until the bot restarts.
        """
        if not self.join_code:
            return False
        with self._lock:
            if self._failed_joins.get(user_id, 0) >= MAX_JOIN_ATTEMPTS:
                return False
            if not hmac.compare_digest(code.strip().encode(), self.join_code.encode()):
                self._failed_joins[user_id] = self._failed_joins.get(user_id, 0) + 1
                return False
            self._members.add(hash_user(user_id, self._salt))
            self._refused.discard(user_id)
            self._write_members()
        return True

    def how(self, user_id: int) -> str:
        """Why ``user_id`` may use the bot: ``admin`` or ``allowed`` (the settings), ``member`` (the join code),
        or ``none``. What /mijngegevens reports about access."""
        if user_id in self.admins:
            return "admin"
        if user_id in self.allowed:
            return "allowed"
        with self._lock:
            return "member" if hash_user(user_id, self._salt) in self._members else "none"

    def forget(self, user_id: int) -> bool:
        """/vergeet: drop ``user_id`` from the members who joined with the code (and from the in-memory
        bookkeeping of refusals and wrong codes); True when they were a member. The settings' lists stay."""
        with self._lock:
            self._refused.discard(user_id)
            self._failed_joins.pop(user_id, None)
            ref = hash_user(user_id, self._salt)
            if ref not in self._members:
                return False
            self._members.discard(ref)
            self._write_members()
        return True

    def first_refusal(self, user_id: int) -> bool:
        """True the first time ``user_id`` is refused: only then does the bot say so."""
        with self._lock:
            if user_id in self._refused:
                return False
            self._refused.add(user_id)
            return True
