"""Every user-facing sentence, in one place, Dutch (nl-BE) first.

Front ends (web, bot, CLI) and the assistant take their texts from :func:`t`, so a French or English
catalogue can be added by filling in another table with the same keys.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "nl"

CATALOG: dict[str, dict[str, str]] = {
    "nl": {
        # answers
        "answer.not_found": (
            "Ik vond geen antwoord op deze vraag in de documenten van Wegwijzer. "
            "Probeer je vraag anders te formuleren, of bekijk welke documenten er zijn."
        ),
        "answer.intro": "Dit vond ik in de documenten:",
        "answer.according_to": "Volgens {title}",
        "answer.see_also": "Zie ook {refs}.",
        # question validation
        "question.empty": "Stel een vraag: het veld is leeg.",
        "question.too_long": "Je vraag is te lang ({length} tekens). Houd het onder {limit} tekens.",
        "question.no_words": "Je vraag bevat geen woorden die ik kan opzoeken.",
        # index / service state
        "index.missing": "Er is nog geen index. Een beheerder moet de documenten eerst indexeren.",
        "index.model_mismatch": (
            "De index is gemaakt met een ander taalmodel ({built}) dan het model dat nu is ingesteld "
            "({configured}). Indexeer de documenten opnieuw of stel het oorspronkelijke model in."
        ),
        "index.busy": "Er loopt al een indexering op deze gegevensmap. Probeer het opnieuw als die klaar is.",
        "index.format": (
            "De index is gemaakt in formaatversie {found}; deze versie van Wegwijzer leest formaatversie "
            "{expected}. Voer `wegwijzer ingest` uit om de index opnieuw op te bouwen."
        ),
        "index.damaged": "De index is beschadigd ({reason}). Voer `wegwijzer ingest` uit om hem opnieuw op te bouwen.",
        "ingest.no_corpus": "De documentenmap {corpus} bestaat niet.",
        "ingest.no_documents": (
            "Geen enkel document in {corpus} kon worden geïndexeerd ({skipped} overgeslagen); "
            "de vorige index blijft in gebruik."
        ),
        "ingest.write_failed": (
            "De nieuwe index kon niet worden weggeschreven ({reason}); de vorige index blijft in gebruik."
        ),
        "ingest.unreadable": "kan niet gelezen worden ({reason})",
        "ingest.nothing_to_index": "geen tekst om te indexeren",
        "error.internal": "Er ging iets mis bij het beantwoorden. Probeer het later opnieuw.",
        # ingestion report
        "ingest.skipped": "{source} overgeslagen: {reason}",
        "doc.encrypted": "het PDF-bestand is beveiligd met een wachtwoord",
        "doc.corrupt": "het bestand is beschadigd of geen geldig {kind}-bestand",
        "doc.empty": "het bestand is leeg",
        "doc.no_text": "het bestand bevat geen leesbare tekst (misschien een scan zonder tekstlaag)",
        "doc.not_utf8": "het bestand is geen leesbare tekst (geen UTF-8)",
        "doc.unsupported": "dit bestandstype wordt niet ondersteund (alleen PDF, TXT en MD)",
        "doc.too_many_pages": "het PDF-bestand heeft te veel pagina's ({pages}; maximum {limit})",
        "doc.too_large": "het bestand is te groot ({size} MB; maximum {limit} MB)",
        # citations
        "cite.page": "p. {page}",
    },
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to Dutch), with ``values`` filled in."""
    table = CATALOG.get(lang) or CATALOG[DEFAULT_LANGUAGE]
    template = table.get(key) or CATALOG[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
