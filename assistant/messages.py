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
        "answer.source": "Bron: {titles}.",
        "answer.sources": "Bronnen: {titles}.",
        "answer.see_also": "Zie ook {refs}.",
        # question validation
        "question.empty": "Stel een vraag: het veld is leeg.",
        "question.too_long": "Je vraag is te lang ({length} tekens). Houd het onder {limit} tekens.",
        "question.no_words": "Je vraag bevat geen woorden die ik kan opzoeken.",
        "question.top_k": "top_k moet een geheel getal tussen 1 en 20 zijn.",
        # configuration errors (assistant/config.py): one line per wrong setting, naming its variable
        "config.line": "{name} = '{value}': {reason}",
        "config.line_no_value": "{name}: {reason}",
        "config.int": "moet een geheel getal zijn.",
        "config.number": "moet een getal zijn.",
        "config.at_least": "moet minstens {limit} zijn.",
        "config.above": "moet groter dan {limit} zijn.",
        "config.at_most": "mag hoogstens {limit} zijn.",
        "config.bool": "moet aan of uit zijn (1/0, ja/nee, aan/uit, true/false, on/off).",
        "config.choice": "moet een van deze zijn: {choices}.",
        "config.unknown": "bestaat niet als instelling.",
        "config.invalid": "is ongeldig ({detail}).",
        "config.too_long": "is {length} tekens lang; houd het onder {limit}.",
        "config.too_many_questions": "bevat {count} vragen; de widget toont er hoogstens {limit}.",
        "config.network": (
            "moet een lijst van IP-adressen of netwerken zijn, gescheiden door komma's (zoals 10.0.0.5 of "
            "10.0.0.0/24); '{item}' is geen van beide."
        ),
        "config.user_id": (
            "moet een lijst van Telegram-gebruikersnummers zijn, gescheiden door komma's; '{item}' is geen getal."
        ),
        "config.audience_map": (
            "moet per persoon 'gebruikersnummer:groep' zijn (meerdere groepen met |, personen gescheiden door "
            "komma's), zoals 123:personeel,456:personeel|raad; '{item}' klopt niet."
        ),
        "config.http_url": "moet een http(s)-adres zijn, zoals https://wegwijzer.stad.be of http://localhost:11434/v1.",
        "config.database_url": "moet een PostgreSQL-adres zijn, zoals postgresql://gebruiker:wachtwoord@host:5432/wegwijzer.",
        "config.llm_model": (
            "WEGWIJZER_LLM_URL is ingesteld, maar WEGWIJZER_LLM_MODEL niet: geef de naam van het model dat het "
            "eindpunt moet gebruiken (bijvoorbeeld 'llama3.1:8b' bij Ollama)."
        ),
        "config.oidc_client_id": (
            "WEGWIJZER_OIDC_ISSUER is ingesteld, maar WEGWIJZER_OIDC_CLIENT_ID niet: geef de client-id (applicatie-id) "
            "die de aanmeldserver van de gemeente aan Wegwijzer gaf."
        ),
        "config.widget_signin": (
            "WEGWIJZER_WIDGET_SIGNIN staat aan, maar aanmelden via de gemeente niet: stel ook WEGWIJZER_OIDC_ISSUER "
            "en WEGWIJZER_OIDC_CLIENT_ID in, anders kan niemand nog vragen stellen."
        ),
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
        "ingest.write_failed": (
            "De nieuwe index kon niet worden weggeschreven ({reason}); de vorige index blijft in gebruik."
        ),
        "doc.not_regular": "geen gewoon bestand",
        # evaluation report (wegwijzer eval)
        "eval.ranking_header": "Rangschikking (beantwoordbare vragen; eerst de bronnen, dan de verwante passagen):",
        "eval.kind": "soort",
        "eval.reading_header": "Wat de gebruiker leest:",
        "eval.answerable": "vragen",
        "eval.states": "feit",
        "eval.lead": "vooraan",
        "eval.chars": "lengte",
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
            "zonder: vragen zonder antwoord in de documenten; geweigerd (rechts): hoeveel daarvan geweigerd werden; "
            "vooraan: aandeel beantwoordbare vragen waarvan het feit binnen de eerste 160 tekens van het antwoord "
            "begint; lengte: mediaan aantal tekens van een gevonden antwoord."
        ),
        "eval.mid_conversation": (
            "Midden in een gesprek (als 2e tot 4e vraag, na andere vragen): {changed} van {n} vragen krijgen een "
            "ander oordeel dan wanneer ze alleen gesteld worden."
        ),
        "eval.mid_change": "  {id} (vraag {turn}): alleen {alone}, in gesprek {now}",
    # ---- the language model's circuit breaker in /readyz (issue 20) ----
    "llm.circuit.closed": "Het taalmodel antwoordt; antwoorden worden geschreven en nagekeken.",
    "llm.circuit.open": (
        "Het taalmodel antwoordde niet ({reason}, {failures} keer na elkaar). Wegwijzer antwoordt intussen meteen "
        "met geciteerde zinnen uit de documenten en probeert het taalmodel over {seconds} s opnieuw."
    ),
    "llm.circuit.half_open": (
        "Het taalmodel antwoordde niet ({reason}). Eén vraag probeert het nu opnieuw; de andere krijgen meteen "
        "geciteerde zinnen uit de documenten."
    ),
    "llm.reason.timeout": "geen antwoord op tijd",
    "llm.reason.unreachable": "niet bereikbaar",
    "llm.reason.http_error": "een foutmelding",
    "llm.reason.malformed": "een onleesbaar antwoord",
        # ops: the one log configuration (assistant/logs.py)
        "config.log_format": "{name} moet een van {choices} zijn, niet '{value}'.",
        "audience.not_text": "Een doelgroep moet een groepsnaam zijn (tekst).",
        "audience.bad_name": (
            "De doelgroep '{value}' is geen geldige groepsnaam: gebruik letters, cijfers en . _ - @ : / "
            "(geen spaties of komma's; scheid meerdere groepen met een komma)."
        ),
        "audience.too_many": "Een document kan voor hoogstens {limit} groepen zijn.",
        "audience.not_a_set": "De doelgroepen moeten een lijst van groepsnamen zijn.",
        "audience.everyone": "iedereen",
        # ---- transparency (issue 22): the AI notice, /transparantie, and a person's own data ----
        # The AI notice: one sentence at the start of every conversation (WEGWIJZER_AI_NOTICE replaces it).
        "notice.ai": (
            "Wegwijzer is een geautomatiseerde assistent (AI) die antwoordt uit de documenten in de lijst en zich "
            "kan vergissen: controleer belangrijke antwoorden in de bron."
        ),
        "transparency.maintainer_default": (
            "de beheerders van Wegwijzer bij de gemeente; zij voegen documenten toe en verwijderen ze op de "
            "beheerpagina, en niets anders komt in de antwoorden."
        ),
        "transparency.feedback_default": (
            "de beheerders lezen de feedback (👍/👎 met opmerking) en de vragen zonder antwoord op de beheerpagina, "
            "en vullen de documenten aan waar iets ontbreekt."
        ),
        "transparency.contact_default": (
            "de functionaris voor gegevensbescherming (DPO) van je gemeente; er is nog geen contactadres ingesteld."
        ),
        # ---- conversations and generated answers (issue 11) ----
        "conversation.invalid": "Dit gesprek is onbekend. Begin een nieuw gesprek.",
        # the widget's starter questions (WEGWIJZER_SUGGESTED_QUESTIONS replaces them), separated by '|'
        "widget.suggestions": (
            "Wat vraagt de VVSG rond taalbeleid?|Wie begeleidt de werksessie over pleinmakers?|"
            "Hoeveel kost deelname aan de studiedag?"
        ),
        # ---- PostgreSQL (assistant/stores/pg.py, assistant/index/postgres/, bots/localdb.py, `wegwijzer db`) ----
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
    },
}




class Catalogue:
    """Texts per language for one layer, falling back to the layer below (front ends -> ingest -> core).

    Each layer keeps its own texts next to its code (``bots/texts.py``, ``ingest/texts.py``, this module for
    the assistant's); the lookup, the language fallback and the fill-in rules are this one class.
    """

    def __init__(self, tables: dict[str, dict[str, str]], below: Catalogue | None = None) -> None:
        self.tables = tables
        self.below = below

    def template(self, key: str, lang: str = DEFAULT_LANGUAGE) -> str | None:
        table = self.tables.get(lang) or {}
        found = table.get(key) or self.tables.get(DEFAULT_LANGUAGE, {}).get(key)
        if found is None and self.below is not None:
            return self.below.template(key, lang)
        return found

    def languages(self) -> list[str]:
        """The languages any layer has texts in (Dutch first)."""
        below = self.below.languages() if self.below is not None else []
        return list(dict.fromkeys([DEFAULT_LANGUAGE, *self.tables, *below]))

    def table_of(self, key: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        """The table that holds ``key`` (tests that swap one text)."""
        if key in self.tables.get(lang, {}):
            return self.tables[lang]
        if self.below is None:
            raise KeyError(key)
        return self.below.table_of(key, lang)

    def keys(self) -> list[str]:
        """Every key this catalogue can answer, its own first."""
        own = list(self.tables.get(DEFAULT_LANGUAGE, {}))
        return own + (self.below.keys() if self.below is not None else [])

    def t(self, key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
        """The text for ``key`` in ``lang`` (falling back to Dutch), with ``values`` filled in."""
        template = self.template(key, lang)
        if template is None:
            raise KeyError(key)
        return template.format(**values) if values else template

    def section(self, prefix: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        """Every text whose key starts with ``prefix``, keyed without it (a page's whole set at once)."""
        return {k[len(prefix):]: self.t(k, lang) for k in dict.fromkeys(self.keys()) if k.startswith(prefix)}


CORE = Catalogue(CATALOG)
t = CORE.t
section = CORE.section
