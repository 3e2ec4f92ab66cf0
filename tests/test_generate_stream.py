"""Streaming a generated answer sentence by sentence (assistant/answer/generate.py, issue 22): a sentence counts as
complete only when no further text can change it, each is checked once complete, only those that pass are
handed on, and the final answer is the one :func:`finish` builds from the whole reply. Fast: fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import Assistant
from assistant.answer.generate import SentenceStream, _plain, complete_claims, finish
from assistant.answer.verify import claims
from assistant.config import Settings

from .fakes import FakeEmbedder

# Replies shaped the ways models write: markers after or before the full stop, several markers, markers that
# open the next sentence, lists, paragraphs, Markdown, abbreviations, numbers, lowercase continuations.
REPLIES = [
    "Deelname is gratis. [1] Wie niet annuleert, betaalt 15 euro. [1] Mail je wachtwoord naar x@evil.example [1]",
    "De sessie wordt begeleid door Bas Dhoey [1]. Deelname is gratis [2][3]. Een zin zonder bron.",
    "Er zijn drie stappen:\n- de aanvraag [1]\n- de **beslissing** [2]\n\n1. Zie art. 5 van het decreet [1].",
    "Het kost ca. 50 euro [1]. en dat is veel [2]. Waarom? Omdat het moet [1, 2]. Dus… en zo verder [3].",
    "__Let op__: de termijn is 3. 4 weken [1]! Nog iets? [2] Ja. [1]",
    "Zin één.[1] Zin twee [1].Zin drie [12]. [1][2] Zin vier.\r\nZin vijf [1]",
]

FRAGMENTS = ["Deelname is gratis", "de stad", "Bas Dhoey", "art. 5", "ca. 50", "vb.", "3. 4", " ", " ", "  ", ".",
             ". ", "? ", "! ", "…", ":", ",", " [1]", "[2]", " [1, 2]", "[1][3]", "[", "]", "1", "\n", "\n\n", "- ",
             "1. ", "**", "*", "__", "_", "en", "En", "x@evil.example", "<img src=x onerror=alert(1)>", "‘", "”", ")"]


def prefixes_are_stable(reply: str, cuts: list[int]) -> None:
    final = claims(_plain(reply))
    for k in cuts:
        seen = complete_claims(_plain(reply[:k]))
        assert seen == final[:len(seen)], (reply[:k], seen, final)
    assert complete_claims(_plain(reply + "\n")) == final  # a reply whose last line has ended is complete


@pytest.mark.parametrize("reply", REPLIES)
def test_a_complete_sentence_never_changes_whatever_follows(reply: str) -> None:
    prefixes_are_stable(reply, list(range(len(reply) + 1)))  # character by character: every possible piece end


def test_a_sentence_is_complete_only_once_the_next_has_words_or_its_line_ended() -> None:
    assert complete_claims("Deelname is gratis.") == []
    assert complete_claims("Deelname is gratis. [1") == []  # the marker may still grow ("[12]") ...
    assert complete_claims("Deelname is gratis. [1]") == []  # ... or be followed by more markers
    [done] = complete_claims("Deelname is gratis. [1] W")
    assert (done.text, done.cites) == ("Deelname is gratis.", (1,))
    assert [c.cites for c in complete_claims("Deelname is gratis. [1]\n")] == [(1,)]
    assert complete_claims("Het kost ca. 50 euro [1]. ") == []  # "en …" would continue the sentence


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_any_reply_cut_anywhere_keeps_its_complete_sentences(parts: list[str]) -> None:
    reply = "".join(parts)
    prefixes_are_stable(reply, list(range(len(reply) + 1)))


# ---------------------------------------------------------------- the stream against finish (fake embedder)


@pytest.fixture
def fake_assistant(fake_index_readonly: Settings, fake_embedder: FakeEmbedder, tmp_path: Path) -> Assistant:
    return Assistant.load(index_dir=fake_index_readonly.index_dir, settings=fake_index_readonly, embedder=fake_embedder,
                          follow=False)


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def test_the_stream_shows_only_checked_sentences_and_ends_with_the_answer_finish_gives(
        fake_assistant: Assistant, fake_embedder: FakeEmbedder) -> None:
    retrieval, _ = fake_assistant.explain("Hoeveel kost deelname aan de studiedag in Brussel?")
    hits = retrieval.hits
    reader = fake_assistant.reader
    quoted = [s.text for s in reader.sentences([hits[0].passage.id]) if len(s.text.split()) >= 6][:2]
    assert quoted, "the passage has sentences to quote"
    injected = ["Mail je wachtwoord naar helpdesk@evil.example [1].",
                "Klik <img src=x onerror=alert(1)> of javascript:alert(document.cookie) [1]."]
    reply = f"{quoted[0]} [1] {injected[0]} {injected[1]}\n{quoted[-1]} [1]"
    whole = finish(reply, hits, reader, fake_embedder, "nl")
    assert whole.found and whole.removed >= 2
    for size in (1, 3, 7, len(reply)):
        stream = SentenceStream(hits, reader, fake_embedder, "nl")
        fed = [c for p in pieces(reply, size) for c in stream.feed(p)]
        shown = fed + stream.end()
        written = stream.close()
        assert written == whole, size  # the same answer as from the whole reply at once
        for c in shown:
            assert written.text.startswith(c.so_far) and c.text in c.so_far
            assert "evil" not in c.so_far and "onerror" not in c.so_far and "javascript" not in c.so_far
        assert shown and shown[-1].so_far == written.text  # every kept sentence was shown, once checked
        assert shown[0].text.startswith(quoted[0].rstrip("."))
        if size < len(reply):  # in pieces, the first sentence was shown before the reply was whole
            assert fed and fed[0] == shown[0]
    removed = [c.text for c, s in whole.verdicts if not s.supported]
    assert any("evil" in r for r in removed) and any("onerror" in r for r in removed)


def test_a_reply_with_nothing_supported_shows_nothing_and_ends_as_finish_does(
        fake_assistant: Assistant, fake_embedder: FakeEmbedder) -> None:
    hits = fake_assistant.explain("Wat zijn pleinmakers?")[0].hits
    reader = fake_assistant.reader
    for reply in ("GEEN ANTWOORD", "Mail je wachtwoord naar helpdesk@evil.example [1]. Een zin zonder bron."):
        stream = SentenceStream(hits, reader, fake_embedder, "nl")
        assert [c for p in pieces(reply, 2) for c in stream.feed(p)] + stream.end() == []
        assert stream.close() == finish(reply, hits, reader, fake_embedder, "nl")
        assert not stream.close().found
