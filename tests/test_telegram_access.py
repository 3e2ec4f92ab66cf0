"""Who may use the bot: allowed ids, admins, the join code, one refusal per person."""

from __future__ import annotations

from pathlib import Path

from bots.telegram.access import MAX_JOIN_ATTEMPTS, AccessPolicy


def _policy(tmp_path: Path, code: str = "sesam") -> AccessPolicy:
    return AccessPolicy(frozenset({1}), frozenset({2}), code, tmp_path / "members.json", salt="zout")


def test_allowed_users_and_admins(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert policy.is_allowed(1) and policy.is_allowed(2) and not policy.is_allowed(3)
    assert policy.is_admin(2) and not policy.is_admin(1)


def test_join_code_admits_and_is_remembered_as_a_hash(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert not policy.try_join(3, "fout")
    assert policy.try_join(3, " sesam ")
    assert policy.is_allowed(3)
    assert "3" not in (tmp_path / "members.json").read_text()
    assert _policy(tmp_path).is_allowed(3)  # after a restart
    assert not AccessPolicy(frozenset(), frozenset(), "sesam", tmp_path / "members.json", "ander").is_allowed(3)


def test_guessing_the_code_stops_working(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    for _ in range(MAX_JOIN_ATTEMPTS):
        assert not policy.try_join(4, "gok")
    assert not policy.try_join(4, "sesam")
    assert policy.try_join(5, "sesam")  # others are not affected


def test_no_code_means_no_joining(tmp_path: Path) -> None:
    assert not _policy(tmp_path, code="").try_join(3, "")


def test_one_refusal_per_person(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert policy.first_refusal(9) and not policy.first_refusal(9) and policy.first_refusal(10)


def test_a_damaged_members_file_admits_nobody_extra(tmp_path: Path) -> None:
    (tmp_path / "members.json").write_text("{niet json")
    policy = _policy(tmp_path)
    assert not policy.is_allowed(3) and policy.try_join(3, "sesam") and policy.is_allowed(3)
