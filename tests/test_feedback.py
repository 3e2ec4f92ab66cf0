import sqlite3
import threading
import time
from pathlib import Path

from assistant.feedback import FeedbackStore, group_questions, hash_user


def test_feedback_is_stored_with_question_and_sources(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.record_answer("a1", "web", "Wat zijn pleinmakers?", True, [{"source": "x.txt", "page": None}])
    assert store.add_feedback("a1", "web", True, comment="Goed") == "new"
    assert store.add_feedback("onbekend", "web", False) is None
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
            s.add_feedback(f"{prefix}{i}", "web", i % 2 == 1)  # a second vote by the same person replaces

    threads = [threading.Thread(target=work, args=(s, p)) for s, p in ((store, "a"), (store, "b"), (other, "c"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(store.feedback()) == 150


def test_user_reference_is_a_salted_hash() -> None:
    ref = hash_user(123456789, "salt")
    assert "123456789" not in ref and ref == hash_user(123456789, "salt") != hash_user(123456789, "other")


def _age(path: Path, days: float) -> None:
    """Make every stored answer and vote ``days`` older."""
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE answers SET created_at = created_at - ?", (days * 86400,))
        con.execute("UPDATE feedback SET created_at = created_at - ?", (days * 86400,))
    con.close()


def test_questions_older_than_the_retention_period_are_removed_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path, retention_days=90)
    store.record_answer("oud", "web", "Een oude vraag van iemand", False, [])
    store.add_feedback("oud", "web", False, comment="Een persoonlijke opmerking", user_ref="u1")
    store.close()
    _age(path, 91)
    fresh = FeedbackStore(path, retention_days=90)
    fresh.record_answer("nieuw", "web", "Een nieuwe vraag", True, [])
    assert fresh.lookup_answer("oud") is None and fresh.lookup_answer("nieuw") is not None
    (row,) = fresh.feedback()
    assert row.question == "" and row.comment == "" and row.helpful is False  # the vote stays, the words go
    assert fresh.counts() == {"helpful": 0, "not_helpful": 1}


def test_questions_are_also_removed_periodically(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path, retention_days=1)
    store.start_purging(every_s=0.2)
    try:
        store.record_answer("a", "web", "vraag", True, [])
        _age(path, 2)
        deadline = time.monotonic() + 5
        while store.lookup_answer("a") is not None:
            assert time.monotonic() < deadline, "the periodic purge did not run"
            time.sleep(0.05)
    finally:
        store.close()


def test_one_vote_per_answer_and_person_a_later_vote_replaces(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.record_answer("a1", "web", "vraag", True, [])
    results = [store.add_feedback("a1", "web", i % 2 == 0, user_ref="p1") for i in range(10)]
    assert results == ["new"] + ["changed"] * 9
    assert store.add_feedback("a1", "web", False, user_ref="p1") == "same"
    assert store.add_feedback("a1", "web", True, user_ref="p2") == "new"
    rows = store.feedback()
    assert [(r.user_ref, r.helpful) for r in rows] == [("p1", False), ("p2", True)]


def test_an_old_database_with_duplicate_votes_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(_V1_SCHEMA)
    con.execute("INSERT INTO answers VALUES ('a', 1.0, 'web', 'v', 1, '[]')")
    for helpful in (1, 0, 1):
        con.execute("INSERT INTO feedback (created_at, answer_id, channel, helpful, question, sources, user_ref) "
                    "VALUES (?, 'a', 'web', ?, 'v', '[]', '')", (time.time(), helpful))
    con.commit()
    con.close()
    store = FeedbackStore(path)
    assert [r.helpful for r in store.feedback()] == [True]  # the newest of the three
    assert store.add_feedback("a", "web", False) == "changed" and len(store.feedback()) == 1


_V1_SCHEMA = """
CREATE TABLE answers (answer_id TEXT PRIMARY KEY, created_at REAL NOT NULL, channel TEXT NOT NULL,
    question TEXT NOT NULL, found INTEGER NOT NULL, sources TEXT NOT NULL);
CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, answer_id TEXT NOT NULL,
    channel TEXT NOT NULL, helpful INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '', question TEXT NOT NULL,
    sources TEXT NOT NULL, user_ref TEXT NOT NULL DEFAULT '');
PRAGMA user_version = 1;
"""


def _grouped(questions: list[str]) -> list[list[str]]:
    """The wordings of each group (first the one that leads it), for questions given newest first."""
    rows = [(1000.0 - i, "web", q) for i, q in enumerate(questions)]
    return [[g.question, *g.variants] for g in group_questions(rows)]


def test_typos_slips_and_word_order_count_as_one_question() -> None:
    groups = _grouped(["Hoe vraag ik een omgevingsvergunning aan?",
                       "hoe vraag ik een omgevinsgvergunnig aan",      # two typos in one word
                       "Hoe vraag ik nu een omgevingsvergunnig aan?",  # a word added and a typo
                       "aan: hoe vraag ik een omgevingsvergunning",      # another order
                       "Hoe vraag ik een omgevingsvergunning aan voor een verbouwing?"])  # more than a slip
    assert groups == [["Hoe vraag ik een omgevingsvergunning aan?", "hoe vraag ik een omgevinsgvergunnig aan",
                       "Hoe vraag ik nu een omgevingsvergunnig aan?", "aan: hoe vraag ik een omgevingsvergunning"],
                      ["Hoe vraag ik een omgevingsvergunning aan voor een verbouwing?"]]


def test_questions_of_one_template_about_different_things_stay_apart() -> None:
    questions = [f"Waar vind ik een premie voor {who} in {town}?"
                 for who in ("senioren", "jongeren", "studenten") for town in ("Aalst", "Genk", "Mechelen", "Tielt")]
    groups = _grouped([*questions, "Waar vind ik een premie voor senioren in Aalts?"])  # a typo in the town
    assert len(groups) == len(questions)
    assert ["Waar vind ik een premie voor senioren in Aalst?",
            "Waar vind ik een premie voor senioren in Aalts?"] in groups
