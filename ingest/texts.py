"""Texts of ingestion (catalog.toml checks, jobs, the watched folder, document readers), Dutch (nl-BE).

:func:`t` finds a key here, else in the core catalogue (:mod:`assistant.messages`).
"""

from __future__ import annotations

from assistant.messages import CORE, Catalogue

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "ingest.no_corpus": "De documentenmap {corpus} bestaat niet.",
        "ingest.no_documents": (
            "Geen enkel document in {corpus} kon worden geïndexeerd ({skipped} overgeslagen); "
            "de vorige index blijft in gebruik."
        ),
        "ingest.unreadable": "kan niet gelezen worden ({reason})",
        "ingest.nothing_to_index": "geen tekst om te indexeren",
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
        # per-document budgets (issue 20, ingest/budgets.py): which limit was hit and what to do about it
        "doc.budget_time": (
            "het lezen duurde langer dan {limit} seconden en werd gestopt; splits het document in kleinere "
            "delen of sla het op in een eenvoudiger formaat (bijvoorbeeld PDF met tekstlaag)"
        ),
        "doc.budget_memory": (
            "het lezen had meer dan {limit} MB geheugen nodig en werd gestopt; splits het document in kleinere "
            "delen of sla het opnieuw op vanuit de tekstverwerker"
        ),
        "doc.budget_crashed": (
            "het lezen brak onverwacht af (geheugenlimiet {limit} MB of een beschadigd bestand); sla het "
            "document opnieuw op of splits het in kleinere delen"
        ),
        "doc.too_many_passages": (
            "het document levert te veel passages op ({passages}; maximum {limit}); splits het in kleinere "
            "documenten of verhoog WEGWIJZER_MAX_PASSAGES_PER_DOCUMENT"
        ),
        "doc.html_too_large": (
            "de webpagina is te groot ({size} MB HTML; maximum {limit} MB); bewaar alleen de pagina zelf, "
            "zonder ingesloten afbeeldingen of scripts"
        ),
        # entries of the corpus folder that are never read (ingest/corpuspath.py)
        "doc.symlink": (
            "is een snelkoppeling (symbolische link); alleen gewone bestanden die echt in de documentenmap "
            "staan worden gelezen: kopieer of verplaats het document naar de map"
        ),
        "doc.special": "is geen gewoon bestand maar {kind}; alleen gewone bestanden worden gelezen",
        "doc.special_fifo": "een named pipe (FIFO)",
        "doc.special_socket": "een socket",
        "doc.special_device": "een apparaatbestand",
        "doc.special_other": "een onbekend soort bestand",
        "doc.outside": "ligt buiten de documentenmap",
        "doc.changed": "werd vervangen terwijl het gelezen werd; het wordt bij de volgende indexering opnieuw bekeken",
        # command line
        "cli.ingest_done": (
            "index {version}: {documents} documenten, {passages} passages ({embedded_docs} documenten / "
            "{embedded} passages nieuw berekend, {reused} hergebruikt, {removed} verwijderd) in {seconds} s"
        ),
        "cli.embedding_passages": "Passages berekenen",
        "cli.embedding_sentences": "Zinnen berekenen",
    "upload.bad_name": "De bestandsnaam '{name}' is niet bruikbaar.",
    "upload.bad_type": (
        "Dit bestandstype wordt niet aanvaard. Laad een PDF-, Word- (DOCX), OpenDocument- (ODT), "
        "PowerPoint- (PPTX), HTML-, TXT- of MD-bestand op."
    ),
    "upload.too_large": "Het bestand is te groot (maximum {limit} MB).",
    "upload.exists": "Er bestaat al een document '{name}'. Kies replace=true om het te vervangen.",
    "upload.bad_content": "Het bestand '{name}' is niet bruikbaar: {reason}.",
    "delete.not_found": "Het document '{name}' staat niet in de documentenmap.",
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
        "watch.passive": (
            "Een ander proces bewaakt deze gegevensmap al; dit proces neemt over als dat stopt."
        ),
        "watch.requested": "Wijzigingen in de documentenmap ({changes}): herindexering {job}. {message}",
        "watch.finished": "Herindexering {job}: {outcome}",
        # ops: the watcher recognises the folder a requested job already read (one re-index per change)
        "watch.covered": "Wijzigingen in de documentenmap ({changes}): al meegenomen door herindexering {job}.",
        "watch.unreadable": "De documentenmap {corpus} is niet leesbaar ({reason}); ik probeer het opnieuw.",
        # ---- admin page /beheer, catalog editing, documents through the bot (issue 10: items 1, 5, 7) ----
        "catalog.field.title": "titel",
        "catalog.field.publisher": "uitgever",
        "catalog.field.date": "datum",
        "catalog.field.kind": "soort",
        "catalog.field.language": "taal",
        "catalog.not_text": "Het veld '{field}' moet tekst zijn.",
        "catalog.control_chars": "Het veld '{field}' bevat onzichtbare stuurtekens; typ de tekst opnieuw.",
        "catalog.too_long": "Het veld '{field}' is te lang (maximum {limit} tekens).",
        "catalog.bad_date": (
            "De datum '{value}' is ongeldig. Schrijf ze als jaar, jaar-maand of jaar-maand-dag, "
            "bijvoorbeeld 2024, 2024-03 of 2024-03-31."
        ),
        "catalog.bad_kind": "De soort '{value}' bestaat niet. Kies een van: {kinds}.",
        "catalog.bad_language": "De taal '{value}' is geen geldige taalcode, zoals nl-BE, nl, fr of en.",
        "catalog.unknown_field": "Het veld '{field}' bestaat niet in de catalogus.",
        "catalog.unreadable": (
            "De catalogus (catalog.toml) kan niet gelezen worden ({reason}). Herstel het bestand eerst; "
            "er werd niets gewijzigd."
        ),
        "catalog.not_a_table": "De catalogus heeft voor '{source}' geen geldige tabel; herstel catalog.toml eerst.",
        "catalog.busy": "De catalogus wordt net door iemand anders aangepast. Probeer het zo opnieuw.",
        "catalog.unwritable": "De catalogus kan niet worden weggeschreven ({reason}); er werd niets gewijzigd.",
        # ---- documents per audience (issue 21, item 4) ----
        "catalog.field.audience": "doelgroep",
        "ingest.bad_audience": "overgeslagen: de doelgroep in catalog.toml klopt niet ({reason})",
    },
}

CATALOGUE = Catalogue(TEXTS, below=CORE)
t = CATALOGUE.t
section = CATALOGUE.section
