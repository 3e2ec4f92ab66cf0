import sqlite3
import threading
from pathlib import Path

from assistant.feedback import FeedbackStore, hash_user


def test_feedback_is_stored_with_question_and_sources(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.record_answer("a1", "web", "Wat zijn pleinmakers?", True, [{"source": "x.txt", "page": None}])
    assert store.add_feedback("a1", "web", True, comment="Goed")
    assert not store.add_feedback("onbekend", "web", False)
    rows = sqlite3.connect(tmp_path / "f.sqlite3").execute(
        "SELECT answer_id, helpful, comment, question, sources FROM feedback").fetchall()
    assert rows == [("a1", 1, "Goed", "Wat zijn pleinmakers?", '[{"source": "x.txt", "page": null}]')]
    assert store.counts() == {"helpful": 1, "not_helpful": 0}


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    other = FeedbackStore(tmp_path / "f.sqlite3")  # a second worker process sharing the file

    def work(s: FeedbackStore, prefix: str) -> None:
        for i in range(50):
            s.record_answer(f"{prefix}{i}", "web", "v", False, [])
            s.add_feedback(f"{prefix}{i}", "web", i % 2 == 0)

    threads = [threading.Thread(target=work, args=(s, p)) for s, p in ((store, "a"), (store, "b"), (other, "c"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(store.feedback()) == 150


def test_user_reference_is_a_salted_hash() -> None:
    ref = hash_user(123456789, "salt")
    assert "123456789" not in ref and ref == hash_user(123456789, "salt") != hash_user(123456789, "other")
