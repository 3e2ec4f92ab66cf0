import sqlite3
import threading
import time
from pathlib import Path

import pytest

from assistant.errors import DatabaseError
from assistant.stores.feedback import SCHEMA_VERSION, FeedbackStore, Shown, group_questions, hash_user


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


def test_what_was_shown_goes_with_the_question_after_the_retention_period(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path, retention_days=90)
    store.record_answer("oud", "web", "Wat kost de studiedag?", True, [], shown=SHOWN)
    store.add_feedback("oud", "web", False, user_ref="u1")
    store.close()
    _age(path, 91)
    fresh = FeedbackStore(path, retention_days=90)
    (row,) = fresh.feedback()
    assert row.helpful is False and row.shown == Shown()  # text, mode, passages and index version all gone
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM answers").fetchone() == (0,)
    assert con.execute("SELECT answer_text, mode, passage_ids, index_version FROM feedback").fetchall() == [
        ("", "", "[]", "")]
    assert fresh.wrong_answers() == []


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


SHOWN = Shown(text="Deelname kost 25 euro per persoon [1].", mode="extractive", passage_ids=(41, 7),
              index_version="20240312T101500-ab12")


def test_each_vote_keeps_the_answer_that_was_shown(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    sources: list[dict[str, object]] = [{"source": "a.md", "title": "Studiedag", "page": None, "section": ""}]
    store.record_answer("a1", "web", "Wat kost de studiedag?", True, sources, shown=SHOWN)
    store.record_answer("a2", "telegram", "Wie is de schepen van sport?", False, [])  # nothing shown recorded
    assert store.add_feedback("a1", "web", False, comment="Het is 30 euro", user_ref="p1") == "new"
    assert store.add_feedback("a1", "web", False, comment="Het is 30 euro", user_ref="p1") == "same"
    store.add_feedback("a2", "telegram", False, user_ref="p1")
    refused, wrong = store.recent_feedback()
    assert (wrong.question, wrong.found, wrong.shown, wrong.sources) == ("Wat kost de studiedag?", True, SHOWN, sources)
    assert (refused.found, refused.shown) == (False, Shown())
    assert [r.shown for r in store.feedback()] == [SHOWN, Shown()]
    assert store.lookup_answer("a1") == ("Wat kost de studiedag?", sources)  # unchanged contract


def test_answers_marked_wrong_are_counted_per_question_and_answer(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    other = Shown(text="Deelname is gratis [1].", mode="generated", passage_ids=(3,), index_version="v2")
    votes = [("a1", "Wat kost de studiedag?", True, SHOWN, False, "Fout bedrag"),
             ("a2", "wat kost de studiedag", True, SHOWN, False, ""),           # the same answer, another wording
             ("a3", "Wat kost de studiedag?", True, other, False, "Niet gratis"),  # another answer: its own row
             ("a4", "Wat kost de studiedag?", True, SHOWN, True, ""),           # 👍: not wrong
             ("a5", "Wie is de schepen van sport?", False, Shown(), False, "")]  # a refusal: in the other list
    for answer_id, question, found, shown, helpful, comment in votes:
        store.record_answer(answer_id, "web", question, found, [], shown=shown)
        store.add_feedback(answer_id, "web", helpful, comment, user_ref="p")
        time.sleep(0.002)
    newest, oldest = store.wrong_answers()
    assert (newest.question, newest.shown, newest.count, newest.comments) == (
        "Wat kost de studiedag?", other, 1, ["Niet gratis"])
    assert (oldest.question, oldest.shown, oldest.count, oldest.comments, oldest.variants) == (
        "wat kost de studiedag", SHOWN, 2, ["Fout bedrag"], ["Wat kost de studiedag?"])
    assert oldest.first_marked < oldest.last_marked and oldest.channels == ["web"]


def _version_2_file(path: Path) -> None:
    """A feedback file as the previous release wrote it (schema version 2), with one answer and one 👎."""
    con = sqlite3.connect(path)
    con.executescript(_V1_SCHEMA)
    con.executescript("CREATE UNIQUE INDEX feedback_one_vote ON feedback(answer_id, user_ref); "
                      "PRAGMA user_version = 2;")
    con.execute("INSERT INTO answers VALUES "
                """('oud', 1.0, 'web', 'Wat zijn pleinmakers?', 1, '[{"source": "x.md"}]')""")
    con.execute("INSERT INTO feedback (created_at, answer_id, channel, helpful, comment, question, sources, user_ref) "
                """VALUES (2.0, 'oud', 'web', 0, 'Klopt niet', 'Wat zijn pleinmakers?', '[{"source": "x.md"}]', 'u')""")
    con.commit()
    con.close()


def test_a_version_2_file_keeps_its_rows_and_records_what_is_shown(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    _version_2_file(path)
    store = FeedbackStore(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (4,)
    assert store.lookup_answer("oud") == ("Wat zijn pleinmakers?", [{"source": "x.md"}])
    (old,) = store.recent_feedback()
    assert (old.comment, old.question, old.found, old.shown) == ("Klopt niet", "Wat zijn pleinmakers?", None, Shown())
    (wrong,) = store.wrong_answers()  # an older 👎 (found not recorded) still counts, without the answer text
    assert (wrong.question, wrong.shown.text, wrong.comments) == ("Wat zijn pleinmakers?", "", ["Klopt niet"])
    assert store.add_feedback("oud", "web", True, user_ref="u") == "changed"  # still one vote per person
    store.record_answer("nieuw", "web", "Wat kost de studiedag?", True, [], shown=SHOWN)
    store.add_feedback("nieuw", "web", False, user_ref="u")
    assert [r.shown for r in store.feedback()] == [Shown(), SHOWN]
    store.close()


def test_workers_starting_together_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    _version_2_file(path)
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            FeedbackStore(path).close()  # each with its own connection, as a worker process has
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert [r.comment for r in FeedbackStore(path).feedback()] == ["Klopt niet"]


def test_a_file_an_older_release_reopened_is_migrated_again(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    FeedbackStore(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 2")  # what the previous release writes when it opens the file
    con.close()
    store = FeedbackStore(path)  # the columns are there already: no "duplicate column" error
    store.record_answer("a", "web", "vraag", True, [], shown=SHOWN)
    store.add_feedback("a", "web", False)
    assert [r.shown for r in store.feedback()] == [SHOWN]


def test_a_file_of_a_newer_release_is_refused_in_dutch(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    FeedbackStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(DatabaseError, match="nieuwere versie van Wegwijzer") as caught:
        FeedbackStore(path)
    assert str(path) in str(caught.value) and "Werk Wegwijzer bij" in str(caught.value)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)  # untouched


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
