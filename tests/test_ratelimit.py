"""The GCRA limiters: a burst of ``count``, then one per ``period / count``; shared through SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.ratelimit import Limit, MemoryLimiter, SQLiteLimiter

LIMIT = Limit("ask", 3, 60.0)  # 3 at once, then one every 20 s


@pytest.fixture(params=["memory", "sqlite"])
def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryLimiter | SQLiteLimiter:
    return MemoryLimiter() if request.param == "memory" else SQLiteLimiter(tmp_path / "r.sqlite3")


def test_a_burst_then_a_steady_rate(limiter: MemoryLimiter | SQLiteLimiter) -> None:
    t = 1_000_000.0
    assert [limiter.hit(LIMIT, "a", now=t).allowed for _ in range(3)] == [True] * 3
    refused = limiter.hit(LIMIT, "a", now=t)
    assert not refused.allowed and refused.retry_after == pytest.approx(20.0) and refused.retry_after_s == 20
    assert limiter.hit(LIMIT, "b", now=t).allowed  # another client has its own bucket
    assert not limiter.hit(LIMIT, "a", now=t + 19.9).allowed
    assert limiter.hit(LIMIT, "a", now=t + 20.0).allowed
    assert not limiter.hit(LIMIT, "a", now=t + 20.0).allowed
    assert [limiter.hit(LIMIT, "a", now=t + 200).allowed for _ in range(4)] == [True, True, True, False]


def test_zero_means_no_limit(limiter: MemoryLimiter | SQLiteLimiter) -> None:
    assert all(limiter.hit(Limit("off", 0, 60.0), "a").allowed for _ in range(100))


def test_two_limiters_on_one_file_share_the_limit(tmp_path: Path) -> None:
    one, two = SQLiteLimiter(tmp_path / "r.sqlite3"), SQLiteLimiter(tmp_path / "r.sqlite3")  # two workers
    t = 5_000.0
    results = [(one if i % 2 else two).hit(LIMIT, "a", now=t).allowed for i in range(6)]
    assert results.count(True) == 3


def test_an_unusable_database_lets_requests_through(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "r.sqlite3").mkdir()  # a directory where the database should be
    limiter = SQLiteLimiter(tmp_path / "r.sqlite3")
    assert all(limiter.hit(LIMIT, "a").allowed for _ in range(5))
    assert len([r for r in caplog.records if "rate-limit check" in r.getMessage()]) == 1
