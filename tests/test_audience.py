"""Documents per audience (issue 21, item 4): deny by default, filtered inside retrieval (fake embedder).

The shipped corpus plus one staff-only note; every test asserts what an anonymous asker must not get and
what someone in the note's audience does get, so a filter that hides too much fails as well as one that leaks.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assistant import Assistant
from assistant import index as idx
from assistant.audience import EVERYONE, AudienceError, audiences_of, may_see, parse
from assistant.config import Settings
from assistant.errors import ConfigError, WegwijzerError
from assistant.stores.conversation import new_conversation_id
from bots.web.app import create_app
from bots.web.audience import request_audiences
from ingest.build import ingest
from tests.fakes import FakeEmbedder

NOTE = "personeelsnota-thuiswerk.md"
NOTE_TITLE = "Thuiswerkregeling personeel"
NOTE_TEXT = """# Thuiswerkregeling voor het personeel

De thuiswerkvergoeding voor medewerkers bedraagt 45 euro per maand. Medewerkers mogen twee dagen per week
thuiswerken na akkoord van hun leidinggevende. De aanvraag loopt via het formulier zeeliederenformulier.

## Bereikbaarheid

Wie thuiswerkt, is bereikbaar tussen 9 en 16 uur via het interne telefoonnummer.
"""
SECRET_WORDS = ("zeeliederenformulier", "45 euro", "twee dagen per week")  # none of them in the questions
STAFF = frozenset({"personeel"})
QUESTION = "Hoeveel bedraagt de thuiswerkvergoeding voor medewerkers?"


def add_note(corpus: Path, audience: str | None = '["personeel"]') -> None:
    (corpus / NOTE).write_text(NOTE_TEXT, encoding="utf-8")
    entry = f'\n["{NOTE}"]\ntitle = "{NOTE_TITLE}"\n' + (f"audience = {audience}\n" if audience else "")
    with (corpus / "catalog.toml").open("a", encoding="utf-8") as fh:
        fh.write(entry)


@pytest.fixture
def staff_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    add_note(settings.corpus_dir)
    report = ingest(settings, embedder=fake_embedder)
    assert report.ok and not report.skipped
    return settings


@pytest.fixture
def assistant(staff_index: Settings, fake_embedder: FakeEmbedder) -> Any:
    a = Assistant.load(settings=staff_index, embedder=fake_embedder, follow=False)
    yield a
    a.close()


def sources(answer: Any) -> set[str]:
    return {c.source for c in answer.citations + answer.related}


def note_ids(reader: idx.IndexReader) -> list[int]:
    found = reader.document(NOTE)
    assert found is not None
    return [p.id for p in found[1]]


# ---------------------------------------------------------------- names and the index format


def test_group_names_are_checked_and_case_folded() -> None:
    assert parse("Personeel, raad  personeel") == ("personeel", "raad")
    assert parse("") == ()
    assert audiences_of(None) == EVERYONE and audiences_of(["Raad"]) == frozenset({"raad"})
    for bad in ("met spatie", "a*b", "", "x" * 101, "a|b"):
        with pytest.raises(AudienceError):
            audiences_of([bad])
    with pytest.raises(AudienceError):
        audiences_of("personeel")  # a string is not a set of names
    assert may_see((), EVERYONE) and not may_see(("personeel",), EVERYONE)
    assert may_see(("personeel", "raad"), frozenset({"raad"})) and not may_see(("raad",), STAFF)


def test_the_audience_is_index_data(staff_index: Settings) -> None:
    manifest = idx.read_manifest(staff_index.index_dir)
    assert manifest.format_version == 3
    assert manifest.document(NOTE).audience == ("personeel",)  # type: ignore[union-attr]
    assert all(d.audience == () for d in manifest.documents if d.source != NOTE)
    vdir = staff_index.index_dir / idx.VERSIONS / manifest.version_id
    with sqlite3.connect(vdir / "passages.sqlite3") as con:
        rows = con.execute("SELECT source, audience FROM passages").fetchall()
    assert {a for s, a in rows if s == NOTE} == {"personeel"} and {a for s, a in rows if s != NOTE} == {""}


def test_an_index_of_format_2_still_opens_with_every_document_for_everyone(
        fake_index: Settings, fake_embedder: FakeEmbedder) -> None:
    vdir = fake_index.index_dir / idx.VERSIONS / idx.current_version(fake_index.index_dir)  # type: ignore[operator]
    data = json.loads((vdir / "manifest.json").read_text())
    data["format_version"] = 2
    for d in data["documents"]:
        d.pop("audience")
    (vdir / "manifest.json").write_text(json.dumps(data))
    a = Assistant.load(settings=fake_index, embedder=fake_embedder, follow=False)
    assert a.reader.manifest.format_version == 2 and sources(a.ask("Wat zijn pleinmakers?"))
    assert len(a.documents()) == len(data["documents"])
    a.close()


# ---------------------------------------------------------------- inside the search


def test_searches_filter_inside_so_the_top_k_is_full_of_visible_passages(assistant: Assistant,
                                                                          fake_embedder: FakeEmbedder) -> None:
    reader = assistant.reader
    hidden = set(note_ids(reader))
    view = reader.for_audiences(EVERYONE)
    assert view is not reader and reader.for_audiences(STAFF) is reader  # staff see all of it: no filter
    assert view.passage_count == reader.passage_count - len(hidden)
    query = fake_embedder.embed_queries([QUESTION])[0]
    terms = reader.query_terms(QUESTION)
    k = 10
    full_ids, _ = reader.dense_search(query, reader.passage_count)
    ids, scores = view.dense_search(query, k)
    assert not hidden & set(ids.tolist()) and len(ids) == k
    assert ids.tolist() == [i for i in full_ids.tolist() if i not in hidden][:k]  # the same order, no gaps
    assert hidden & set(reader.dense_search(query, k)[0].tolist())  # the unfiltered search does find the note
    lex_all, _ = reader.lexical_search(terms, reader.passage_count)
    lex_ids, _ = view.lexical_search(terms, k)
    assert not hidden & set(lex_ids.tolist())
    assert lex_ids.tolist() == [i for i in lex_all.tolist() if i not in hidden][:len(lex_ids)]
    assert lex_all[0] in hidden  # the note is the best lexical match, and the view never shows it
    # reading a hidden passage gives nothing; its scores and vectors are zeros
    some = sorted(hidden)[:2]
    assert view.passages(some) == [] and view.sentences(some) == [] and view.document(NOTE) is None
    assert not view.passage_vectors(some).any() and not view.dense_scores(query, some).any()
    assert not view.lexical_scores(terms, some).any() and view.passage_terms(some) == [frozenset()] * len(some)
    sids = [s.id for s in reader.sentences(some)]
    assert not view.sentence_vectors(sids).any() and reader.sentence_vectors(sids).any()
    # a word only the hidden note uses is unknown to the view's statistics
    word = reader.query_terms("zeeliederenformulier")
    assert reader.idf(word) and not view.idf(word) and view.max_idf < reader.max_idf
    assert NOTE not in {d.source for d in view.manifest.documents}


def test_hnsw_filters_inside_as_well(settings: Settings, fake_embedder: FakeEmbedder,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.index.files as files

    monkeypatch.setattr(files, "HNSW_THRESHOLD", 1)
    add_note(settings.corpus_dir)
    ingest(settings, embedder=fake_embedder)
    reader = idx.open_index(settings.index_dir)
    assert reader.manifest.vector_index == "hnsw"
    hidden = set(note_ids(reader))
    query = fake_embedder.embed_queries([QUESTION])[0]
    ids, _ = reader.for_audiences(EVERYONE).dense_search(query, 10)
    assert len(ids) == 10 and not hidden & set(ids.tolist())
    assert hidden & set(reader.for_audiences(STAFF).dense_search(query, 10)[0].tolist())
    reader.close()


# ---------------------------------------------------------------- the Python contract


def test_ask_answers_from_a_restricted_document_only_for_its_audience(assistant: Assistant) -> None:
    anonymous = assistant.ask(QUESTION)
    assert NOTE not in sources(anonymous)
    assert not any(w in anonymous.text for w in SECRET_WORDS)
    staff = assistant.ask(QUESTION, audiences=STAFF)
    assert NOTE in sources(staff)
    other = assistant.ask(QUESTION, audiences=frozenset({"raad"}))
    assert NOTE not in sources(other)
    for q in ("Wat is het zeeliederenformulier?", "thuiswerken leidinggevende", "Wanneer is men bereikbaar?"):
        assert NOTE not in sources(assistant.ask(q)), q
    with pytest.raises(WegwijzerError):
        assistant.ask(QUESTION, audiences="personeel")  # type: ignore[arg-type]


def test_documents_and_passages_are_hidden_from_outsiders(assistant: Assistant) -> None:
    assert NOTE not in {d["source"] for d in assistant.documents()}
    assert NOTE in {d["source"] for d in assistant.documents(STAFF)}
    assert assistant.document(NOTE) is None and assistant.document(NOTE, STAFF) is not None
    pid = note_ids(assistant.reader)[0]
    assert assistant.passage(pid) is None and assistant.passage(pid, STAFF) is not None
    assert assistant.audiences() == STAFF


def test_a_conversation_never_carries_a_passage_to_an_asker_who_may_not_see_it(assistant: Assistant) -> None:
    cid = new_conversation_id()
    first = assistant.ask(QUESTION, conversation=cid, audiences=STAFF)
    assert NOTE in sources(first)  # the fake embedder lists it (the real model cites it: test_audience_real)
    history = assistant.history(cid)
    assert history is not None and set(note_ids(assistant.reader)) & set(history.turns[-1].related)
    # the same conversation continued by someone outside the audience: a follow-up, a summary, a pointer
    for follow in ("En hoeveel dagen per week?", "Kan je dat samenvatten?", "Wie moet dat goedkeuren?",
                   "Tot wanneer is die bereikbaar?"):
        answer = assistant.ask(follow, conversation=cid)
        assert NOTE not in sources(answer), follow
        assert not any(w in answer.text for w in SECRET_WORDS), follow
    # and the staff member's own follow-up still reads the conversation
    assert NOTE in sources(assistant.ask("Kan je dat samenvatten?", conversation=cid, audiences=STAFF)) or \
        NOTE in sources(assistant.ask(QUESTION, conversation=cid, audiences=STAFF))


def test_a_changed_audience_takes_effect_at_the_next_publish_without_embedding_again(
        staff_index: Settings, fake_embedder: FakeEmbedder) -> None:
    from ingest.catalog import update_entry

    update_entry(staff_index.corpus_dir, NOTE, {"audience": ""})  # for everyone now
    embedded = fake_embedder.passages_embedded
    report = ingest(staff_index, embedder=fake_embedder)
    assert report.documents_embedded == 0 and fake_embedder.passages_embedded == embedded
    a = Assistant.load(settings=staff_index, embedder=fake_embedder, follow=False)
    assert NOTE in sources(a.ask(QUESTION)) and a.document(NOTE) is not None
    a.close()
    update_entry(staff_index.corpus_dir, NOTE, {"audience": "raad, Personeel"})
    ingest(staff_index, embedder=fake_embedder)
    a = Assistant.load(settings=staff_index, embedder=fake_embedder, follow=False)
    assert a.reader.manifest.document(NOTE).audience == ("personeel", "raad")  # type: ignore[union-attr]
    assert NOTE not in sources(a.ask(QUESTION)) and NOTE in sources(a.ask(QUESTION, audiences=frozenset({"raad"})))
    a.close()


def test_a_catalog_that_cannot_say_who_may_see_a_document_never_publishes_it(
        settings: Settings, fake_embedder: FakeEmbedder) -> None:
    add_note(settings.corpus_dir, audience='["niet geldig"]')
    report = ingest(settings, embedder=fake_embedder)
    assert NOTE in {s["source"] for s in report.skipped}
    assert NOTE not in {d.source for d in idx.read_manifest(settings.index_dir).documents}
    before = idx.current_version(settings.index_dir)
    (settings.corpus_dir / "catalog.toml").write_text('["x.md"\ntitle = ', encoding="utf-8")  # broken TOML
    with pytest.raises(WegwijzerError, match="catalog"):
        ingest(settings, embedder=fake_embedder)
    assert idx.current_version(settings.index_dir) == before  # the index in service is untouched


# ---------------------------------------------------------------- web


def test_anonymous_web_requests_show_nothing_of_a_restricted_document(staff_index: Settings,
                                                                      fake_embedder: FakeEmbedder) -> None:
    with TestClient(create_app(staff_index, embedder=fake_embedder)) as client:
        body = client.post("/api/ask", json={"question": QUESTION}).json()
        assert NOTE not in {c["source"] for c in body["citations"] + body["related"]}
        assert not any(w in json.dumps(body) for w in SECRET_WORDS)
        cid = body["conversation_id"]
        follow = client.post("/api/ask", json={"question": "En hoeveel dagen?", "conversation_id": cid}).json()
        assert NOTE not in {c["source"] for c in follow["citations"] + follow["related"]}
        for path in (f"/documents/{NOTE}", f"/documents/{NOTE}?passage=0", f"/files/{NOTE}"):
            r = client.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "document_not_found", path
        assert NOTE not in {d["source"] for d in client.get("/api/documents").json()}
        for page in ("/documents", "/transparantie"):
            assert NOTE_TITLE not in client.get(page).text, page

        client.app.dependency_overrides[request_audiences] = lambda: STAFF  # type: ignore[attr-defined]
        staff = client.post("/api/ask", json={"question": QUESTION, "conversation_id": cid}).json()
        assert NOTE in {c["source"] for c in staff["citations"] + staff["related"]}
        assert client.get(f"/documents/{NOTE}").status_code == 200
        assert NOTE in {d["source"] for d in client.get("/api/documents").json()}
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
        # the conversation now holds a staff turn; the anonymous follow-up still sees nothing of it
        again = client.post("/api/ask", json={"question": "Kan je dat samenvatten?", "conversation_id": cid}).json()
        assert NOTE not in {c["source"] for c in again["citations"] + again["related"]}
        assert not any(w in again["text"] for w in SECRET_WORDS)


def test_once_the_admin_routes_report_a_narrowed_audience_this_server_enforces_it(
        settings: Settings, fake_embedder: FakeEmbedder) -> None:
    """A version published behind the server's back (the job process) is served before /beheer or the admin
    API reports it, not at the follow thread's next look; here that thread never looks (follow=False)."""
    from ingest.catalog import update_entry

    add_note(settings.corpus_dir, audience=None)  # for everyone at first
    assert ingest(settings, embedder=fake_embedder).ok
    settings = settings.with_(admin_token="t" * 32)
    auth = {"Authorization": "Bearer " + "t" * 32}
    assistant = Assistant.load(settings=settings, embedder=fake_embedder, follow=False)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        ask = lambda: client.post("/api/ask", json={"question": QUESTION}).json()  # noqa: E731
        assert NOTE in {c["source"] for c in ask()["citations"] + ask()["related"]}
        assert client.post("/beheer/api/login", json={"token": "t" * 32}).status_code == 200
        for route in ("/api/admin/status", "/beheer/api/documents", "/beheer/api/jobs"):
            restricted = route != "/beheer/api/documents"  # narrowed, widened again, narrowed
            update_entry(settings.corpus_dir, NOTE, {"audience": "personeel" if restricted else ""})
            published = ingest(settings, embedder=fake_embedder).version_id
            stale = assistant.version
            assert stale != published  # the new version is out, and this server has not looked
            assert client.get(route, headers=auth).status_code == 200
            assert assistant.version == published, route
            body = ask()
            assert (NOTE in {c["source"] for c in body["citations"] + body["related"]}) is not restricted, route
    assistant.close()


def test_starter_questions_about_a_restricted_document_are_offered_to_its_audience_only(
        staff_index: Settings, fake_embedder: FakeEmbedder) -> None:
    starters = ("Wat zijn pleinmakers?", QUESTION, "Wat vraagt de VVSG rond taalbeleid?")
    with TestClient(create_app(staff_index.with_(suggested_questions=starters), embedder=fake_embedder)) as client:
        r = client.get("/api/widget")
        assert r.headers["cache-control"].startswith("private")
        assert QUESTION not in r.json()["suggestions"] and "Wat zijn pleinmakers?" in r.json()["suggestions"]
        client.app.dependency_overrides[request_audiences] = lambda: STAFF  # type: ignore[attr-defined]
        assert QUESTION in client.get("/api/widget").json()["suggestions"]


def test_the_admin_api_sets_an_audience(staff_index: Settings, fake_embedder: FakeEmbedder) -> None:
    from ingest.catalog import read_catalog

    settings = staff_index.with_(admin_token="t" * 32)
    auth = {"Authorization": "Bearer " + "t" * 32}
    with TestClient(create_app(settings, embedder=fake_embedder)) as client:
        r = client.post("/api/admin/documents", headers=auth, data={"audience": "Raad, personeel"},
                        files={"file": ("nota-raad.md", b"# Nota\n\nVertrouwelijk voor de raad.\n", "text/markdown")})
        assert r.status_code == 201 and r.json()["audience"] == ["personeel", "raad"]
        assert read_catalog(settings.corpus_dir)[0]["nota-raad.md"]["audience"] == "personeel,raad"
        r = client.post("/api/admin/documents", headers=auth, data={"audience": "niet geldig!"},
                        files={"file": ("b.md", b"# B\n\nTekst.\n", "text/markdown")})
        assert r.status_code == 422 and "doelgroep" in r.json()["error"]["message"]
        assert not (settings.corpus_dir / "b.md").exists()  # refused before the file was stored
        r = client.put(f"/api/admin/documents/{NOTE}/audience", headers=auth, json={"audience": []},
                       params={"reindex": "false"})
        assert r.status_code == 200 and r.json()["audience"] == []
        assert "audience" not in read_catalog(settings.corpus_dir)[0][NOTE]
        assert client.put("/api/admin/documents/bestaat-niet.md/audience", headers=auth,
                          json={"audience": ["raad"]}).status_code == 404


# ---------------------------------------------------------------- Telegram


def test_telegram_audiences_setting() -> None:
    s = Settings.from_env({"WEGWIJZER_TELEGRAM_AUDIENCES": "123:personeel, 456:Personeel|raad,123:raad"})
    assert dict(s.telegram_audiences) == {123: frozenset({"personeel", "raad"}), 456: frozenset({"personeel", "raad"})}
    for bad in ("abc:personeel", "123", "123:", "123:met spatie"):
        with pytest.raises(ConfigError):
            Settings.from_env({"WEGWIJZER_TELEGRAM_AUDIENCES": bad})


def test_telegram_access_gives_audiences_in_private_chats_to_allowed_users_only(tmp_path: Path) -> None:
    from bots.telegram.access import AccessPolicy

    policy = AccessPolicy(frozenset({1}), frozenset(), "", tmp_path / "m.json", "salt",
                          ((1, STAFF), (2, STAFF)))
    assert policy.audiences(1, private=True) == STAFF
    assert policy.audiences(1, private=False) == EVERYONE  # a group reads the answer
    assert policy.audiences(2, private=True) == EVERYONE  # mapped, but not allowed to use the bot
    assert policy.audiences(3, private=True) == EVERYONE


def test_scores_of_visible_passages_are_those_of_the_unfiltered_index(assistant: Assistant,
                                                                      fake_embedder: FakeEmbedder) -> None:
    reader = assistant.reader
    view = reader.for_audiences(EVERYONE)
    query = fake_embedder.embed_queries(["Wat zijn pleinmakers?"])[0]
    ids, scores = view.dense_search(query, 5)
    assert np.allclose(scores, reader.dense_scores(query, ids.tolist()), atol=1e-5)


def test_earlier_turns_are_checked_against_the_asker_of_every_new_turn(assistant: Assistant) -> None:
    from assistant.service import _visible_history
    from assistant.stores.conversation import Conversation, Turn

    note = note_ids(assistant.reader)[0]
    public = assistant.ask("Wat zijn pleinmakers?")
    other = public.related[0].passage_id if public.related else public.citations[0].passage_id
    version = assistant.version
    turns = (Turn(question="q1", query="q1", found=True, text="Het formulier zeeliederenformulier.", cited=(note,),
                  index_version=version),
             Turn(question="q2", query="q2", found=True, text="publiek", cited=(other,), index_version=version),
             Turn(question="q3", query="q3", found=True, text="oud", cited=(other,), index_version="elders"))
    history = Conversation(id="c" * 12, turns=turns)
    seen = _visible_history(history, assistant._scoped(EVERYONE)).turns
    assert (seen[0].text, seen[0].cited, seen[0].found, seen[0].question) == ("", (), False, "q1")
    assert seen[1] == turns[1]  # a turn the asker may see is used as it was
    assert seen[2].cited == () and seen[2].text == ""  # another version's ids cannot be checked
    assert _visible_history(history, assistant._scoped(STAFF)).turns[:2] == turns[:2]


# ---------------------------------------------------------------- PostgreSQL


def test_postgres_filters_inside_with_the_same_results_as_the_file_backend(
        staff_index: Settings, pg_url: str, fake_embedder: FakeEmbedder) -> None:
    from assistant.index.transfer import copy_version

    pg_settings = staff_index.with_(database_url=pg_url)
    store = idx.open_store(pg_settings)
    copy_version(idx.FileIndexStore(staff_index.index_dir), store)  # the same version, written by the PG store
    files, pg = idx.open_index(staff_index.index_dir), store.open()
    assert pg.manifest.document(NOTE).audience == ("personeel",)  # type: ignore[union-attr]
    assert pg.for_audiences(STAFF) is pg and pg.for_audiences(frozenset({"Raad"})) is not pg
    hidden = set(note_ids(pg))
    query = fake_embedder.embed_queries([QUESTION])[0]
    terms = pg.query_terms(QUESTION)
    for audiences in (EVERYONE, frozenset({"raad"})):
        fview, pview = files.for_audiences(audiences), pg.for_audiences(audiences)
        assert pview.passage_count == fview.passage_count == pg.passage_count - len(hidden)
        (fd, _), (fl, fls) = fview.search_both(query, terms, 10)
        (pd, _), (pl, pls) = pview.search_both(query, terms, 10)
        assert pd.tolist() == fd.tolist() and len(pd) == 10 and not hidden & set(pd.tolist())
        assert pl.tolist() == fl.tolist() and np.allclose(pls, fls, atol=1e-4) and not hidden & set(pl.tolist())
        assert pview.idf(terms).keys() == fview.idf(terms).keys()
        assert pview.passages(sorted(hidden)) == [] and pview.document(NOTE) is None
        assert not pview.lexical_scores(terms, sorted(hidden)).any()
    assert hidden & set(pg.lexical_search(terms, 10)[0].tolist())  # unfiltered, the note is found
    a = Assistant.load(settings=pg_settings, embedder=fake_embedder, follow=False)
    assert NOTE not in sources(a.ask(QUESTION)) and NOTE in sources(a.ask(QUESTION, audiences=STAFF))
    assert a.document(NOTE) is None and a.document(NOTE, STAFF) is not None
    a.close()
    files.close()
