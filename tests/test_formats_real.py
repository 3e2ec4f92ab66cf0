"""Every format on the real model: a fact only one added document holds is cited in the top 3, from that file.

One DOCX, ODT, HTML page, image-only scanned PDF (fact on page 2), layout PDF (fact broken across a
line) and PPTX are added to a copy of the shipped corpus and ingested with multilingual-e5-small, on a
copy of the session's real-model index: the shipped documents' passages are reused, the six new ones embedded.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant import Assistant
from assistant.config import Settings
from ingest.build import ingest

from .documents import fact_documents
from .web_support import copy_index

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def corpus_with_formats(tmp_path_factory: pytest.TempPathFactory, real_embedder: Any,
                        real_index_settings: Settings) -> tuple[Assistant, dict[str, tuple[str, int | None]], Any]:
    import shutil

    from .conftest import CORPUS

    base = tmp_path_factory.mktemp("formats-real")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    facts = fact_documents(corpus)
    settings = copy_index(real_index_settings, Settings(data_dir=base / "data", corpus_dir=corpus))
    report = ingest(settings, embedder=real_embedder)
    return Assistant.load(settings=settings, embedder=real_embedder), facts, report


def test_every_format_is_indexed(corpus_with_formats: Any) -> None:
    assistant, facts, report = corpus_with_formats
    assert report.skipped == [] and report.documents == 5 + len(facts)
    formats = {d["source"]: d for d in assistant.documents()}
    assert formats["nota-onthaal-zwalmbeek.pdf"]["pages"] == 2
    assert formats["vormingsdag-taalondersteuning.pptx"]["pages"] == 2
    assert formats["onthaalbeleid-zonnebeke.docx"]["title"] == "Onthaalbeleid Zonnebeke 2025"


@pytest.mark.parametrize("source", ["onthaalbeleid-zonnebeke.docx", "fietsles-herselt.odt",
                                    "nederlands-leren-lindegem.html", "nota-onthaal-zwalmbeek.pdf",
                                    "reglement-taalpremie-kortemark.pdf", "vormingsdag-taalondersteuning.pptx"])
def test_each_format_s_fact_is_cited_in_the_top_3_from_its_file(corpus_with_formats: Any, source: str) -> None:
    assistant, facts, _ = corpus_with_formats
    question, page = facts[source]
    answer = assistant.ask(question, top_k=3)
    assert answer.found, (question, answer.text)
    hits = [c for c in answer.citations[:3] if c.source == source and (page is None or c.page == page)]
    assert hits, (question, [(c.source, c.page, c.section) for c in answer.citations])


def test_a_fact_broken_across_pdf_lines_is_quoted_whole(corpus_with_formats: Any) -> None:
    assistant, facts, _ = corpus_with_formats
    answer = assistant.ask(facts["reglement-taalpremie-kortemark.pdf"][0], top_k=3)
    cited = next(c for c in answer.citations if c.source == "reglement-taalpremie-kortemark.pdf")
    assert "slaagt op niveau B1" in cited.text and cited.section == "Artikel 1. Doel"
    assert "slaagt op niveau B1" in answer.text or "125 euro" in answer.text
