"""The bot's own Dutch (nl-BE) sentences, in one table (to be merged into assistant.messages).

Texts the web and the CLI share (not found, too long, index missing, ...) come from
:func:`assistant.messages.t`; only what is specific to Telegram lives here. Values are plain text
unless the key ends in ``_html``, in which case they are Telegram HTML and fill-ins must be escaped.
"""

from __future__ import annotations

from assistant.messages import DEFAULT_LANGUAGE

BOT_MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
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


def say(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The bot text for ``key`` in ``lang`` (falling back to Dutch), with ``values`` filled in."""
    table = BOT_MESSAGES.get(lang) or BOT_MESSAGES[DEFAULT_LANGUAGE]
    template = table.get(key) or BOT_MESSAGES[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
