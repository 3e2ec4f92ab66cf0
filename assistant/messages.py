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
        # Telegram bot (keys ending in _html are Telegram HTML; fill-ins must be escaped)
        "bot.welcome_html": (
            "<b>Welkom bij Wegwijzer</b> 👋\n\n"
            "Ik beantwoord vragen over lokaal integratiebeleid met wat er in de documenten van Wegwijzer "
            "staat, en ik vermeld altijd mijn bronnen. Ik verzin niets: staat het antwoord niet in de "
            "documenten, dan zeg ik dat.\n\n"
            "Stel je vraag gewoon in een bericht, bijvoorbeeld:\n"
            "<i>Rond hoeveel acties draait het Plan Samenleven?</i>\n\n"
            "/bronnen toont welke documenten ik ken, /help legt uit hoe ik werk."
        ),
        "bot.help_html": (
            "<b>Zo werkt Wegwijzer</b>\n\n"
            "• Stuur een vraag in gewone taal. Ik antwoord met zinnen uit de documenten, met "
            "genummerde bronnen [1], [2], …\n"
            "• <b>Toon bronnen</b> onder een antwoord toont de geciteerde passages volledig.\n"
            "• Met 👍 of 👎 laat je weten of het antwoord hielp. Zo verbeteren we Wegwijzer; je naam "
            "wordt niet bewaard.\n"
            "• In een groep antwoord ik alleen als je me vermeldt ({mention}) of op een bericht van mij "
            "antwoordt.\n"
            "• Eén vraag tegelijk, van hoogstens {limit} tekens.\n\n"
            "/bronnen: de documenten die ik ken\n/help: deze uitleg"
        ),
        "bot.help_admin_html": (
            "\n\n<b>Voor beheerders</b>\n/status: de index\n/herindexeer: de documenten opnieuw indexeren"
        ),
        "bot.sources_heading": "Bronnen",
        "bot.file": "Bestand: {files}",
        "bot.files": "Bestanden: {files}",
        "bot.not_found_hint": "Typ /bronnen om te zien welke documenten ik ken.",
        "bot.documents_heading": "Documenten in Wegwijzer ({count})",
        "bot.documents_none": "Er zijn nog geen documenten geïndexeerd.",
        "bot.document_line": "{passages} passages",
        "bot.button_sources": "Toon bronnen",
        "bot.button_helpful": "👍",
        "bot.button_not_helpful": "👎",
        "bot.sources_expired": "Deze bronnen zijn niet meer beschikbaar. Stel je vraag opnieuw om ze te zien.",
        "bot.sources_none": "Bij dit antwoord horen geen bronnen.",
        "bot.feedback_thanks": "Bedankt voor je feedback!",
        "bot.feedback_again": "Je feedback op dit antwoord was al genoteerd.",
        "bot.feedback_unknown": "Dit antwoord is niet meer bekend; je feedback kon niet bewaard worden.",
        "bot.busy": "Even geduld: ik ben je vorige vraag nog aan het beantwoorden.",
        "bot.refused": (
            "Sorry, deze bot is alleen toegankelijk voor medewerkers die toegang kregen. "
            "Vraag toegang aan de beheerder van Wegwijzer."
        ),
        "bot.refused_code": (
            "Sorry, deze bot is alleen toegankelijk voor medewerkers die toegang kregen. "
            "Heb je een toegangscode, stuur dan /start gevolgd door de code."
        ),
        "bot.joined": "Je toegangscode klopt: je kan Wegwijzer nu gebruiken.",
        "bot.admin_only": "Dit commando is alleen voor beheerders.",
        "bot.unknown_command": "Dat commando ken ik niet. Typ /help voor wat ik kan.",
        "bot.text_only": "Ik kan alleen vragen in tekst beantwoorden.",
        "bot.status_html": (
            "<b>Status van Wegwijzer</b>\n"
            "Indexversie: <code>{version}</code>\n"
            "Documenten: {documents}\n"
            "Passages: {passages}\n"
            "Laatste indexering: {last_ingest}"
        ),
        "bot.last_ingest": "{when} ({documents} documenten, {skipped} overgeslagen, {seconds} s)",
        "bot.last_ingest_failed": "{when}, mislukt: {error}",
        "bot.last_ingest_unknown": "onbekend",
        "bot.reindex_started": "Herindexering gestart…",
        "bot.reindex_done": (
            "Herindexering klaar: versie {version}, {documents} documenten, {passages} passages "
            "({embedded} passages nieuw berekend) in {seconds} s."
        ),
        "bot.reindex_skipped": "Overgeslagen: {items}",
        "bot.reindex_failed": "De herindexering is mislukt. De vorige index blijft in gebruik.",
    },
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to Dutch), with ``values`` filled in."""
    table = CATALOG.get(lang) or CATALOG[DEFAULT_LANGUAGE]
    template = table.get(key) or CATALOG[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
