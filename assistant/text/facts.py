"""What a question asks for, and which kinds of fact a sentence holds. Pure functions, nl/en/fr.

An answer to "Hoeveel deelnemers…?" must hold a number, one to "Wie begeleidt…?" a person or an
organisation, one to "Wanneer…?" a date or a time. A sentence on the right topic that lacks the asked
kind of fact is no answer: this is how Wegwijzer tells "the documents are about this" from "the
documents answer this". The patterns are generic (number words, month names, titles, address and
e-mail shapes); none names anything in the corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.text.analysis import STOPWORDS, fold, stem

# Kinds of fact. A question asks for at most one; a sentence may hold several.
NUMBER, AMOUNT, PERSON, DATE, PLACE, CONTACT, DEFINITION, REASON, METHOD, NAME, OTHER = (
    "number", "amount", "person", "date", "place", "contact", "definition", "reason", "method", "name", "other")
# The kinds a sentence can be checked for; the others (method, reason, name, other) are judged by topic.
CHECKABLE = (NUMBER, AMOUNT, PERSON, DATE, PLACE, CONTACT, DEFINITION)
# The kinds whose absence refuses a question. A definition is checked (it helps choose the sentence to quote)
# but its absence does not refuse: policy texts rarely say "X is ..." of what they describe, and "Wat is X?" is
# answered by what they do say about X, judged like an open question (calibration in docs/benchmarks.md).
REQUIRED = (NUMBER, AMOUNT, PERSON, DATE, PLACE, CONTACT)


@dataclass(frozen=True)
class Ask:
    """What a question asks for: the kind of fact, and the word it counts or names ("deelnemers")."""

    kind: str
    focus: str = ""  # folded focus word, e.g. "deelnemers" in "hoeveel deelnemers", "" when none
    subject: str = ""  # for definitions: the thing to define ("pleinmakers")
    detail: str = ""  # dates: "year" or "time" when the question asks for just that; numbers: "label"

    @property
    def checkable(self) -> bool:
        return self.kind in CHECKABLE

    @property
    def required(self) -> bool:
        """Whether a sentence holding this kind of fact must exist for the question to be answered."""
        return self.kind in REQUIRED


_MONEY_WORDS = r"(?:kost|kosten|kostte|prijs|prijzen|bedrag|bedragen|budget|budgetten|subsidie|subsidies|vergoeding|" \
               r"premie|tarief|tarieven|betalen|betaalt|euro|middelen|financiering|cost|costs|price|fee|fees|budget|" \
               r"amount|funding|paid|pay|coute|coutent|cout|prix|montant|tarif|frais|financement)"
_CONTACT_WORDS = r"(?:adres|adressen|e-?mail|e-?mailadres|mailadres|telefoon|telefoonnummer|gsm|gsm-nummer|" \
                 r"website|webadres|url|contactgegevens|address|email|phone|telephone|website|adresse|courriel|" \
                 r"telephone|site)"

_LABEL_ASK = re.compile(r"\b(?:welk (?:actie)?nummer|welk actienummer|(?:onder |bij )?welke acties?|"
                        r"(?:which|what) (?:action )?number|which action|quel numero|quelle action)\b")
# A numbered label in a text: "Werksessie actie 22:", "actie 9 & 11", "sleutelfactor 3"
_LABELLED = re.compile(r"\b(?:actie|acties|action|actions|sleutelfactor|workshop|werksessie|deel|fiche|thema|stap)"
                       r"\s+(\d+(?:\s*(?:&|en|and|et|,)\s*\d+)*)\b", re.I)

# Words that say what is asked wherever they stand ("Wat is het adres van…", "Hoeveel kost…").
_CONTENT_CUES: list[tuple[re.Pattern[str], str]] = [
    # Who something is for asks for a group, not a person: "Voor wie is de studiedag bedoeld?", "À qui
    # s'adresse la journée ?". And "waar … om/over/aan…?" is a split "waarom/waarover/waaraan…", not a place:
    # "Waar draait sleutelfactor 3 om?". Both are open questions.
    (re.compile(r"\bvoor wie\b.*\b(?:bedoeld|bestemd)\b|\bqui s'adresse|\bfor whom\b|"
                r"\bwho (?:can|may) (?:take part|participate|join|attend)\b|"
                r"^waar\b.*\b(?:om|over|aan|op|mee|voor|van|naar|uit|bij|door|tegen|toe|in) ?\??$"), OTHER),
    (re.compile(rf"(?<!s')\b{_CONTACT_WORDS}\b"), CONTACT),
    (re.compile(r"\b(?:hoeveel|wat|hoe duur) (?:kost|kosten|kostte|betaal|betaalt|bedraagt|bedragen)\b|"
                r"\bhoe duur\b|\bhoeveel (?:geld|euro|subsidie|budget|middelen)\b|"
                r"\b(?:welk|welke|wat is het|wat zijn de) (?:bedrag|bedragen|budget|prijs|prijzen|tarief|tarieven|"
                r"kostprijs|vergoeding|subsidie|premie)\b|"
                r"\b(?:what|which) (?:is the )?(?:fee|price|cost|amount|budget|funding)\b|"
                r"\b(?:what|which)\b.*\b(?:amount|fee|price|cost|budget|funding)\b|"
                r"\bhow much (?:does|do|did|is|was|money|funding)\b|\bcombien (?:coute|coutent|d'argent)\b|"
                r"\b(?:quel|quelle) (?:est le |est la )?(?:prix|montant|cout|tarif|budget|indemnite)\b|"
                r"\b(?:salaris|salarissen|loon|lonen|wedde|salary|salaries|wage|wages|salaire|salaires)\b"),  # pay
     AMOUNT),
    # "Welk actienummer heeft…", "Onder welke actie valt…": the number a text gives something ("actie 22")
    (_LABEL_ASK, NUMBER),
    (re.compile(r"\b(?:openingsuren|openingsuur|openingstijden|opening hours|heures d'ouverture|horaires?|"
                r"date limite|deadline|uiterste datum)\b"), DATE),
]
# "Hoe laat begint…" asks for a time; "Hoe laat je kinderen kennismaken met kunst?" uses the verb "laten" (to let):
# a subject pronoun right after "laat" means the latter.
_HOE_LAAT = r"hoe laat(?! (?:je|jij|u|men|we|wij|ze|zij|jullie)\b)"
# Question words; the one that comes first in the question decides ("Welke steden vertellen hoe…" asks
# for places, not for a method).
_QUESTION_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:hoeveel|hoe groot|hoe hoog|hoe lang|hoe vaak|hoe oud|how many|how much|how long|how often|"
                r"combien|welk aantal|welk percentage|what percentage|quel pourcentage|quel nombre|what number|"
                r"het aantal)\b"), NUMBER),
    (re.compile(r"\b(?:wanneer|" + _HOE_LAAT + r"|welke datum|welke dag|welk jaar|op welke dag|when|what time|"
                r"what date|which year|what year|quand|quelle date|quelle annee|a quelle heure|date limite|"
                r"deadline)\b"), DATE),
    (re.compile(r"\b(?:waar|waarheen|(?:in |naar )?welke (?:stad|steden|gemeente|gemeenten|provincie|zaal|straat|"
                r"plaats|regio|land|locatie)|where|(?:in )?which (?:city|cities|town|place|country)|ou|"
                r"(?:dans )?quelles? (?:villes?|communes?))\b"), PLACE),
    # "qu'est-ce qui", "ce qui": "what", not "who"
    (re.compile(r"\b(?:wie|who|whom|(?<!ce )qui|welke (?:persoon|personen|spreker|sprekers|minister|partij|organisatie|"
                r"organisaties|vereniging|verenigingen|partner|partners|onderzoeker|onderzoekers|instantie|dienst|"
                r"universiteit)|welk (?:bureau|consultancybureau|agentschap|bedrijf)|which (?:organisation|"
                r"organization|party|minister|person|agency|consultancy)|quel (?:ministre|parti|organisme)|"
                r"quelle (?:organisation|personne))\b"), PERSON),
    (re.compile(r"\b(?:waarom|why|pourquoi|om welke reden)\b"), REASON),
    (re.compile(r"^(?:wat (?:is|zijn|betekent|betekenen|houdt)|what (?:is|are|does)|qu'est-ce que|qu'est ce que|"
                r"c'est quoi|que sont)\b"), DEFINITION),
    # "Hoe heet deel 1 van de studiedag?" asks for a name; "hoe" alone would make it a question of method
    (re.compile(r"\b(?:hoe heet|hoe heten|comment s'appelle|comment s'appellent)\b"), NAME),
    (re.compile(r"\b(?:hoe|how|comment|op welke manier|de quelle maniere|in what way)\b"), METHOD),
    # "Wat bepaalt bij 12work wie als eerste aan de slag mag?": a question that opens with "wat" asks what;
    # a "wie" or "wanneer" further on belongs to a clause.
    (re.compile(r"^wat\b"), OTHER),
    (re.compile(r"\b(?:welke|welk|which|what|quels?|quelles?)\b"), NAME),
]

_FOCUS_AFTER = re.compile(
    r"\b(?:hoeveel|welke|welk|how many|how much|which|what|combien de|combien d'|quels|quelles|quel|quelle)\s+"
    r"((?:[a-z0-9'-]+\s+){0,2}[a-z0-9'-]{3,})")
_DEFINE = re.compile(r"^(?:wat (?:is|zijn|betekent|betekenen)|what (?:is|are)|qu'est-ce que|qu'est ce que|"
                     r"c'est quoi|que sont)\s+(?:een |de |het |a |an |the |les |la |le |l')?(.+?)\s*\??$")
_ROLE_AFTER = re.compile(r"\b(?:wie|who|qui)\s+(?:is|was|zijn|are|were|est|sont)\s+(?:de|het|the|le|la|les|l')?\s*"
                         r"([a-z'-]{4,})")
_YEAR_ASK = re.compile(r"\b(?:welk jaar|in welk jaar|which year|what year|quelle annee|en quelle annee|opgericht|"
                       r"founded|fonde|fondee)\b")
_TIME_ASK = re.compile(r"\b(?:" + _HOE_LAAT + r"|openingsuren|openingsuur|openingstijden|what time|opening hours|"
                       r"a quelle heure|horaires?|heures d'ouverture)\b")
_FILLER = frozenset("de het een the a an le la les du des van in op voor er nog al zich".split())


_MODIFIERS = frozenset(("nieuwe lokale andere grote kleine belangrijkste eerste tweede derde laatste concrete "
                        "specifieke verschillende bepaalde extra vlaamse europese federale gentse mechelse").split())


def _modifier(word: str) -> bool:
    """An adjective or number before the noun a question asks about."""
    return (word in _MODIFIERS or word in _NUMBER_WORDS.split() or word.isdigit()
            or word.endswith(("isch", "sche")) or (word.endswith("e") and len(word) > 4 and word[-2] not in "ie"))


def ask_of(question: str) -> Ask:
    """The kind of fact ``question`` asks for, and its focus word when there is one."""
    q = " ".join(fold(question).replace("’", "'").split())
    kind = next((k for pattern, k in _CONTENT_CUES if pattern.search(q)), "")
    if not kind:
        first = [(m.start(), i, k) for i, (pattern, k) in enumerate(_QUESTION_WORDS) if (m := pattern.search(q))]
        kind = min(first)[2] if first else OTHER
    focus = ""
    m = _FOCUS_AFTER.search(q)
    if m:
        words = [w for w in m.group(1).split() if w not in _FILLER and w not in STOPWORDS]
        # "welk strategisch dossier", "welke vier thema's", "welke nieuwe projecten": skip to the noun
        while len(words) > 1 and _modifier(words[0]):
            words = words[1:]
        focus = words[0] if words else ""
        if kind == NUMBER and focus in ("kost", "kosten", "keer", "vaak", "lang", "groot", "hoog"):
            focus = ""
    if kind == PERSON and not focus:
        role = _ROLE_AFTER.search(q)
        focus = role.group(1) if role and role.group(1) not in STOPWORDS else ""
    detail = ""
    if kind == NUMBER and _LABEL_ASK.search(q):
        detail = "label"
    if kind == DATE:
        detail = "year" if _YEAR_ASK.search(q) else "time" if _TIME_ASK.search(q) else ""
    subject = ""
    if kind == DEFINITION:
        d = _DEFINE.search(q)
        subject = d.group(1).strip(" ?") if d else ""
    return Ask(kind, focus, subject, detail)


# ---------------------------------------------------------------- facts in sentences

_NUMBER_WORDS = ("twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien twintig "
                 "dertig veertig vijftig zestig zeventig tachtig negentig honderd honderden duizend duizenden "
                 "miljoen miljard tiental tientallen twintigtal dertigtal veertigtal vijftigtal honderdtal "
                 "two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
                 "hundreds thousand million deux trois quatre cinq six sept huit neuf dix douze vingt trente "
                 "quarante cinquante cent mille")
_MONTHS = ("januari februari maart april mei juni juli augustus september oktober november december "
           "jan feb mrt apr jun jul aug sep sept okt nov dec january february march may june july august october "
           "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre")
_WEEKDAYS = ("maandag dinsdag woensdag donderdag vrijdag zaterdag zondag monday tuesday wednesday thursday friday "
             "saturday sunday lundi mardi mercredi jeudi vendredi samedi dimanche")

# Dutch writes the part of the day onto the weekday: "donderdagavond", "zaterdagvoormiddag", "maandagen".
_DAY_PARTS = "en|avond|avonden|middag|middagen|namiddag|voormiddag|ochtend|ochtenden|morgen|nacht|s"
_NUM = re.compile(rf"(?<![\w/.-])(?:\d+(?:[.,]\d+)*(?:-tal)?|(?:{'|'.join(_NUMBER_WORDS.split())}))(?![\w/])")
_MONEY = re.compile(r"(?:€\s?\d|\d[\d.,]*\s?(?:€|euro\b|eur\b)|\bgratis\b|\bkosteloos\b|\bfree of charge\b|"
                    r"\bgratuit)", re.I)
# A number right after one of these words names something ("actie 22", "workshop 1"); it counts nothing.
_LABEL_WORDS = re.compile(r"(?:actie|acties|werksessie|sessie|workshop|deel|nr|nummer|artikel|art|hoofdstuk|"
                          r"sleutelfactor|fiche|punt|stap|fase|pagina|blz|p|thema|versie|niveau|action|session|step|"
                          r"page|chapter|article|level|sd|h)\.?\s*$", re.I)
_PERCENT = re.compile(r"\d\s?(?:%|procent\b|percent\b|pour cent\b)", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_DATE = re.compile(
    rf"\b\d{{1,2}}\s+(?:{'|'.join(_MONTHS.split())})\b|\b(?:{'|'.join(_MONTHS.split())})\s+(?:19|20)\d\d\b|"
    rf"\b\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19|20)?\d\d\b|\b(?:{'|'.join(_WEEKDAYS.split())})(?:{_DAY_PARTS})?\b|"
    r"\b(?:sinds|vanaf|tot|since|from|until|depuis|en)\s+(?:19|20)\d\d\b|"
    r"\b\d{1,2}\s?u(?:\d\d)?\b|\b\d{1,2}[:.]\d\d\s?(?:u|uur|h)?\b|\b\d{1,2}h\d\d\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+32|\b0)\s?\d{1,3}(?:[\s./]?\d{2,3}){2,4}\b")
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:be|eu|com|org|net|vlaanderen|brussels)\b", re.I)
_ADDRESS = re.compile(
    r"\b[A-Z][\w'-]*(?:straat|laan|plein|berg|weg|lei|dreef|kaai|steenweg|markt|hof|park|singel|vest|baan|rei)"
    r"\s+\d+[a-z]?\b|\b\d{4}\s+[A-Z][a-z]+|\b(?:rue|avenue|boulevard|place|chaussee)\s+[\w' -]+\d+", re.U)
_TITLE = re.compile(r"\b(?i:prof|dr|drs|dhr|mevr|mr|ir|doctorandi|minister|schepen|burgemeester|coördinator|"
                    r"coordinator|directeur|diensthoofd)\b\.?\s+[A-ZÀ-Ý]")
_CAPWORD = r"[A-ZÀ-Ý][a-zà-ÿ'-]+"
# Flemish surnames write their particle with a capital ("Maarten De Waele", "Sabine Van Cauwenberghe"), Dutch
# ones without ("Jan van der Berg"): both join a first name to a surname.
_PARTICLE = (r"(?:[Vv]an\s+[Dd]e[rn]?|[Vv]an\s+[Hh]et|[Vv]an|[Dd]e[rn]?|[Vv]and?en|[Vv]ander|[Tt]e[rn]|"
             r"le|la|du|des|&|en)")
_NAME = re.compile(rf"\b{_CAPWORD}(?:\s+{_PARTICLE})?\s+{_CAPWORD}\b")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,}(?:[a-z]{0,2}[A-Z]+)?\b")
_ORG_WORDS = re.compile(r"\b(?:vzw|v\.z\.w|agentschap|universiteit|vereniging|stad|gemeente|ocmw|dienst|bureau|"
                        r"overheid|ministerie|raad|huis|centrum|netwerk|platform|federatie|unie|commissie|"
                        r"university|agency|council|association|city of|ville de|service|agence)\b", re.I)
# A question's focus that names the category "organisation" rather than a kind of one ("welke organisatie").
_ORGANISATION_FOCUS = frozenset("organisatie organisaties organisation organisations organization organizations "
                                "instantie instanties instelling instellingen".split())
# "Stad Mechelen", "gemeente Lier": a municipality by name answers "in welke stad", wherever it stands.
_MUNICIPALITY = re.compile(r"\b(?i:stad|gemeente|provincie|city of|town of|ville de|commune de)\s+[A-ZÀ-Ý][\w'-]+|"
                           r"\b(?i:steden|gemeenten|cities|villes)\s+[A-ZÀ-Ý][\w'-]+(?:(?:,\s*|\s+(?:en|and|et)\s+)"
                           r"[A-ZÀ-Ý][\w'-]+)*")
# "Karima Adouiri, consulent diversiteit (Lier)": one capitalised word in brackets after someone is where they
# work: a town (or an organisation, which answers "waar" as well in a programme).
_AFFILIATION = re.compile(r"(?<=\w)[,)]?\s+\(([A-ZÀ-Ý][\w'-]+)\)")
_PLACE_WORDS = re.compile(r"\b(?:in|te|op|naar|at|in the|a|au|dans)\s+(?:het\s+|de\s+|la\s+|le\s+)?[A-Z][\w'-]+")
_QUOTED = re.compile(r"['‘\"“]([^'’\"”]{3,60})['’\"”]")
_COINED = re.compile(r"\b(?=\w*\d)(?=\w*[A-Za-z])\w{3,}\b|\b(?=\w*[a-z])(?=\w*[A-Z]\w*[A-Z])\w{3,}\b")
_COPULA = re.compile(r"\b(?:is|zijn|betekent|betekenen|verwijst|staat voor|bestaat uit|omvat|noemen we|heet|"
                     r"heten|are|means|refers|est|sont|désigne)\b", re.I)
# Capitalised words that do not make a sentence name someone: months, weekdays, sentence openers.
_NOT_NAMES = frozenset(fold(w) for w in (_MONTHS + " " + _WEEKDAYS).split()) | frozenset(
    "de het een in op voor met dit deze die dat er wij we ze zij hij je u ook en of maar als bij van tot na om "
    "the a an this these those we they it in on for with de la le les des un une nous ils elle".split())


@dataclass(frozen=True)
class Fact:
    """A fact found in a sentence: its kind, and the words that state it."""

    kind: str
    text: str


def facts_in(sentence: str) -> list[Fact]:
    """The facts ``sentence`` states, by kind (numbers, amounts, dates, people and organisations, places, contact)."""
    out: list[Fact] = []
    for m in _MONEY.finditer(sentence):
        out.append(Fact(AMOUNT, _around(sentence, m.start(), m.end())))
    for m in _PERCENT.finditer(sentence):
        out.append(Fact(NUMBER, _around(sentence, m.start(), m.end())))
    for m in _DATE.finditer(sentence):
        out.append(Fact(DATE, m.group(0)))
    for m in _YEAR.finditer(sentence):
        out.append(Fact(DATE, m.group(0)))
    dated = {f.text for f in out if f.kind == DATE}
    for m in _NUM.finditer(sentence):
        token = m.group(0)
        if _YEAR.fullmatch(token) or any(token in d for d in dated):
            continue
        before = sentence[max(0, m.start() - 16):m.start()]
        after = sentence[m.end():m.end() + 2]
        if _LABEL_WORDS.search(before) or after.startswith((":", ")")) or (m.start() == 0 and after.startswith(". ")):
            continue  # a label or list number, not a quantity
        out.append(Fact(NUMBER, _around(sentence, m.start(), m.end())))
    for pattern in (_EMAIL, _PHONE, _URL):
        for m in pattern.finditer(sentence):
            out.append(Fact(CONTACT, m.group(0)))
    for m in _ADDRESS.finditer(sentence):
        out.append(Fact(PLACE, m.group(0)))
        out.append(Fact(CONTACT, m.group(0)))
    for m in _TITLE.finditer(sentence):
        out.append(Fact(PERSON, _around(sentence, m.start(), m.end(), after=3)))
    for m in _NAME.finditer(sentence):
        words = m.group(0).split()
        if m.start() == 0 and len(words) == 2:
            continue  # "Pleinmakers zijn": a capital at the start of a sentence names nobody
        if fold(words[0]) in _NOT_NAMES or fold(words[-1]) in _NOT_NAMES:
            continue
        out.append(Fact(PERSON, m.group(0)))
    for m in _ACRONYM.finditer(sentence):
        out.append(Fact(PERSON, m.group(0)))  # organisations answer "wie" as well as people do
    for m in _ORG_WORDS.finditer(sentence):
        out.append(Fact(PERSON, _around(sentence, m.start(), m.end(), after=2)))
    for m in _MUNICIPALITY.finditer(sentence):
        out.append(Fact(PLACE, m.group(0)))
    for m in _AFFILIATION.finditer(sentence):
        if sum(ch.isupper() for ch in m.group(1)) == 1:  # "(VVSG)", "(AgII)", "(HOGent)": organisations
            out.append(Fact(PLACE, m.group(1)))
    for m in _PLACE_WORDS.finditer(sentence):
        if m.start() > 0 or len(sentence) < 40:
            out.append(Fact(PLACE, m.group(0)))
    # Names answer "welk project / welke taskforces": a quoted title, a capitalised name, an acronym or a coined
    # word ("12work", "TALim", "SD3"). Whether it is new to the question is judged when matching.
    for pattern in (_QUOTED, _NAME, _ACRONYM, _COINED):
        for m in pattern.finditer(sentence):
            if pattern is _NAME and m.start() == 0 and len(m.group(0).split()) == 2:
                continue
            out.append(Fact(NAME, m.group(0).strip("'\"‘’“”")))
    copula = _COPULA.search(sentence)
    if copula and 0 < len(sentence[:copula.start()].split()) <= 8:
        out.append(Fact(DEFINITION, sentence[:copula.start()].strip(" :,")))  # the thing defined
    return out


def _around(text: str, start: int, end: int, after: int = 2) -> str:
    """The match with up to ``after`` following words (what is counted: "24 acties")."""
    tail = text[end:].split()[:after]
    head = text[start:end]
    return " ".join([head, *tail]).strip()


# ---------------------------------------------------------------- matching


_IS_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_IS_TIME = re.compile(r"\b\d{1,2}\s?(?:u|h|:|\.)\s?\d{0,2}\b|\b\d{1,2}\s?uur\b", re.I)


_TOKEN = re.compile(r"[\w'-]+")


@lru_cache(maxsize=8192)
def _stem_list(text: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _TOKEN.findall(fold(text)))


@lru_cache(maxsize=1024)
def _stems(text: str) -> frozenset[str]:
    return frozenset(_stem_list(text))


def fact_match(ask: Ask, facts: list[Fact], question: str, focus_terms: set[str] | None = None,
               sentence_terms: set[str] | frozenset[str] | None = None, text: str = "") -> float:
    """How well ``facts`` (of one sentence, whose ``text`` it is) supply what ``ask`` asks for: 1.0 exactly,
    0.5 loosely, 0 not.

    A fact that only repeats the question ("Plan Samenleven" in a question about Plan Samenleven) does
    not count. For counts, a number next to the counted word ("24 acties" for "hoeveel acties") is the
    exact match; any other number only a loose one. For "welk actienummer…", a numbered label in the text
    ("Werksessie actie 22") is the exact match (labels are not quantities, so they are not among ``facts``).
    """
    if not ask.checkable:
        return 0.0
    q_stems = _stems(question)

    def new(fact: Fact) -> bool:
        return any(w not in q_stems for w in _stem_list(fact.text))

    if ask.kind == DEFINITION:
        subject = [stem(w) for w in _TOKEN.findall(fold(ask.subject)) if w not in STOPWORDS]
        for f in facts:
            if f.kind == DEFINITION and subject:
                defined = _stems(f.text)
                if subject[0] in defined or sum(w in defined for w in subject) * 2 >= len(subject):
                    return 1.0
        return 0.0
    kinds = [f for f in facts if f.kind == ask.kind and new(f)]
    if ask.kind == NUMBER:
        if ask.detail == "label" and _labels_new_number(text, question):
            return 1.0
        if ask.focus:
            focus = stem(ask.focus)
            if any(focus in _stems(f.text) for f in kinds):
                return 1.0
        return 0.5 if kinds else 0.0
    if ask.kind == AMOUNT:
        return 1.0 if kinds else 0.0
    if ask.kind == PERSON:
        if ask.focus in _ORGANISATION_FOCUS and any(_ORG_WORDS.search(f.text) or _ACRONYM.search(f.text)
                                                    for f in kinds):
            return 1.0  # "welke organisatie": an agency, a vzw or an acronym is one, whether or not the word stands
        strong = [f for f in kinds if _NAME.search(f.text) or _TITLE.search(f.text)]
        if strong and focus_terms and sentence_terms is not None and not focus_terms & set(sentence_terms):
            return 0.5  # "wie is de burgemeester": a name, but not said to be the burgemeester
        return 1.0 if strong else (0.5 if kinds else 0.0)
    if ask.kind == NAME:
        if not kinds:
            return 0.0
        # "welke taskforces": the name should come with the word it names, here or in the question's focus
        if focus_terms and sentence_terms is not None and not focus_terms & set(sentence_terms):
            return 0.5
        return 1.0
    if ask.kind == DATE and ask.detail:
        shape = _IS_YEAR if ask.detail == "year" else _IS_TIME
        if any(shape.search(f.text) for f in kinds):
            return 1.0
        return 0.5 if kinds else 0.0
    return 1.0 if kinds else 0.0


def _labels_new_number(text: str, question: str) -> bool:
    """Whether ``text`` gives a numbered label ("Werksessie actie 22", "actie 9 & 11") with a number the
    question does not already hold ("Wat houdt actie 1 in?" is not answered by "actie 1")."""
    asked = set(re.findall(r"\d+", question))
    return any(set(re.findall(r"\d+", m.group(1))) - asked for m in _LABELLED.finditer(text))


def encode_facts(facts: list[Fact]) -> str:
    """Facts as one compact string for the index (``kind:text|kind:text``)."""
    return "|".join(f"{f.kind}:{f.text.replace('|', ' ')}" for f in facts)


def decode_facts(raw: str) -> list[Fact]:
    out = []
    for item in raw.split("|") if raw else []:
        kind, _, text = item.partition(":")
        out.append(Fact(kind, text))
    return out
