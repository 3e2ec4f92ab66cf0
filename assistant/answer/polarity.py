"""Does a written sentence say the opposite of its passage? Negation, antonyms, roles and who-is-who.

Word overlap and embedding cosine cannot tell "is regelmatig aanwezig" from "is zelden aanwezig": the
two share every word but one, and e5 puts them close together. These signals look at what the words
*say*, each a pure function of the claim's text and the passage's text (folded, accents off):

* **negation** (:func:`negation_flips`): a negator ("niet", "geen", "nooit", "zonder", ... and their
  English and French counterparts) governs the few content words next to it (its *scope*). A claim
  negates a word its passage states plainly, or drops the negation the passage puts on a word the
  claim repeats;
* **antonyms** (:func:`antonym_flips`): the claim uses one side of an opposition the passage does not
  use, and the passage uses the other side ("zelden" where the passage has "regelmatig"); the Dutch
  "on-" prefix counts as an opposition of its own ("ontoegankelijk" against "toegankelijk");
* **roles** (:func:`missing_roles`): the claim names a role or a level of government ("ambtenaren",
  "ouderen", "federale") that the passage does not: who does what has changed;
* **binding** (:func:`binding_flips`): a name the claim ties to a role, place or other name stands,
  in the passage, on the other side of an "en" with another name in between ("Yasmine Goossens werkt
  voor de KULeuven" where the passage reads "Yasmine Goossens (UCLL) en Ahmed Chouyouhi (KULeuven)");
* **quantities** (:func:`quantity_flips`): the claim counts a thing with a number the passage does not
  count it with ("12 landen" where the passage has "10 landen" and a "12u" elsewhere).

Words are compared by their first five letters (``KEY``), so Dutch inflections match ("annuleert",
"annulatie"). The lexicons are small and kept by hand; each entry says why it is there. Thresholds
for these signals are fitted with the others by ``bench/verify_calibrate.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from assistant.text.analysis import STOPWORDS, fold

KEY = 5  # letters that identify a word across Dutch inflections: annul(eert) ~ annul(atie)
SCOPE_AFTER = 2  # content words a negator governs after it ("maakt geen deel uit van het buurtnetwerk")
SCOPE_BEFORE = 1  # ... or before it, when it closes its clause ("kent de sleutelfiguren niet")

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|;")
# Where a negation's reach ends: punctuation but the comma of an enumeration ("niet naar verleden,
# ervaring of diploma"), and "maar" ("niet voor, maar mét nieuwkomers").
_CLAUSE = re.compile(r"[;:.!?()\[\]–—]|\s-\s|\bmaar\b|\bbut\b|\bmais\b")

NEGATORS = frozenset("""
    niet geen nooit niemand niets nergens zonder noch geenszins allerminst
    not no never nobody nothing none nowhere without neither nor cannot
    pas jamais aucun aucune rien sans ni
""".split())
# Negators that stand for a thing ("niets doen", "niemand weet") deny no word next to them.
_PRONOUNS = frozenset("niets niemand nergens nothing nobody rien personne".split())
# "niet alleen X, maar ook Y" adds, it does not deny; "pas" is Dutch for "only just" as often as French.
_NOT_NEGATING_AFTER = {"niet": frozenset({"alleen", "enkel", "uitsluitend", "zomaar"}), "pas": None}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def key(word: str) -> str:
    return word[:KEY]


def _content(word: str) -> bool:
    return word not in STOPWORDS and word not in NEGATORS and len(word) > 2 and not word.isdigit()


def _clauses(text: str) -> list[list[str]]:
    return [t for t in (tokens(c) for c in _CLAUSE.split(fold(text))) if t]


def _is_negator(words: Sequence[str], i: int) -> bool:
    w = words[i]
    if w.endswith("n't"):
        return True
    if w not in NEGATORS:
        return False
    if w in _NOT_NEGATING_AFTER:
        exceptions = _NOT_NEGATING_AFTER[w]
        if exceptions is None:  # ambiguous "pas": a negator only after French "ne"/"n'"
            return any(p in ("ne", "n") or p.startswith("n'") for p in words[max(0, i - 3):i])
        return not (i + 1 < len(words) and words[i + 1] in exceptions)
    return True


def negated(text: str, reach: int = SCOPE_AFTER, known: set[str] | None = None) -> tuple[set[str], int]:
    """The keys of the content words in some negator's scope (``reach`` words after it), and how many
    negators ``text`` has. With ``known``, a negator reaches the first word of ``known`` among the next
    two instead ("niet bedoeld voor lokale besturen" against a passage with "lokale" but no "bedoeld")."""
    scope: set[str] = set()
    count = 0
    for clause in _clauses(text):
        for i in range(len(clause)):
            if not _is_negator(clause, i):
                continue
            count += 1
            if clause[i] in _PRONOUNS:  # "wegkijken en niets doen": an argument, not a word's denial
                continue
            if i == len(clause) - 1:  # "kent de sleutelfiguren niet": the word before
                words = [w for w in clause[:i] if _content(w)][-SCOPE_BEFORE:]
            else:
                words = [w for w in clause[i + 1:] if _content(w)]
                if known is not None:
                    words = [w for w in words[:2] if key(w) in known][:1] or words[:1]
                else:
                    words = words[:reach]
            scope.update(key(w) for w in words)
    return scope, count


def content_keys(text: str) -> set[str]:
    return {key(w) for w in tokens(text) if _content(w)}


def negation_flips(claim: str, passage: str, aligned: str) -> tuple[int, int, int]:
    """(added, dropped): negations the claim adds to words the passage states plainly, and negations of
    the best-matching passage sentences (``aligned``) that a claim without any negator leaves out.

    A claim's negation reaches one word (the first the passage also has), the passage's the rest of its
    clause: lenient on both sides, so that "wie niet annuleert voor 20 maart" is not read as denying the
    passage's "20 maart". The third count is negated words the passage never mentions ("zich niet
    vrijwillig engageren" about a passage without "vrijwillig"): a denial of something it does not say."""
    passage_keys = content_keys(passage)
    claim_neg, claim_count = negated(claim, known=passage_keys)
    passage_neg, _ = negated(passage, reach=99)
    added = len({k for k in claim_neg if k in passage_keys and k not in passage_neg})
    unmentioned = len({k for k in claim_neg if k not in passage_keys and len(k) == KEY})  # "niet komt": too short
    dropped = 0
    if claim_count == 0:
        ckeys = content_keys(claim)
        lines = [ln for ln in aligned.splitlines() if ln.strip()]
        shared = [len(ckeys & content_keys(ln)) for ln in lines]
        for sentence, n in zip(lines, shared, strict=True):
            # the sentence the claim restates best (a claim copied from a plain sentence drops nothing)
            if n < max(shared) or not _restates(ckeys, content_keys(sentence)):
                continue
            sentence_neg, _ = negated(sentence)
            dropped += len(sentence_neg & ckeys)
    return added, dropped, unmentioned


def _restates(claim_keys: set[str], sentence_keys: set[str]) -> bool:
    """Whether a claim shares enough words with a passage sentence to be read as restating it (a third)."""
    return 3 * len(claim_keys & sentence_keys) >= len(claim_keys)


# Oppositions that change what a sentence says about the things our documents describe: how often
# (someone is "regelmatig" or "zelden" present), whether it costs or is free, obliged or voluntary,
# formal or informal, big or small, more or less, up or down, early or late, open or closed, who it
# is for. Each side lists the word forms in use; a phrase is matched as consecutive words.
ANTONYMS: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split("|")), frozenset(b.split("|"))) for a, b in (
        # frequency: the pleinmaker who is "regelmatig aanwezig" (issue 22)
        ("zelden|nauwelijks|amper|nooit|sporadisch", "regelmatig|regelmatige|vaak|dikwijls|geregeld|altijd|steeds"),
        ("soms|af en toe|occasioneel", "altijd|steeds|telkens|nooit"),
        ("rarely|seldom|never", "regularly|often|always|frequently"),
        # cost and obligation: "gratis", "verplicht of vrijwillig", paid work or volunteering
        ("gratis|kosteloos|free|gratuit", "betalend|betalende|betaald|betaalde|payant|paying"),
        ("verplicht|verplichte", "vrijwillig|vrijwillige|facultatief|optioneel"),
        ("betaald|betaalde|bezoldigd|bezoldigde|worden betaald", "vrijwillig|vrijwillige|onbetaald"),
        ("formeel|formele", "informeel|informele"),
        ("kwalitatief|kwalitatieve", "kwantitatief|kwantitatieve"),
        ("commercieel|commerciele|winstoogmerk", "non-profit|vzw"),
        # size, amount, level, direction
        ("klein|kleine|kleiner|kleinere|kleinste", "groot|grote|groter|grotere|grootste"),
        ("breed|brede|breder|breedste", "smal|smalle|klein|kleine|beperkt|beperkte"),
        ("weinig|beperkt|beperkte|schaars", "veel|ruim|ruime|overvloedig"),
        ("meeste|meest", "minste|minst"),
        ("meer", "minder"),
        ("hoog|hoge|hoger|hogere", "laag|lage|lager|lagere"),
        ("stijgt|stijgend|stijgende|toenemend|toenemende|groeit|wint", "daalt|dalend|dalende|afnemend|afnemende|"
         "krimpt|verliest"),
        ("krijgen|krijgt|winnen", "verliezen|verliest"),
        ("versterken|versterkt|verbeteren|verbetert|vergroten|verbreden|verbreedt", "verzwakken|verzwakt|"
         "verslechteren|afbouwen|vernauwen|vernauwt"),
        ("verminderen|vermindert|verkleinen", "versterken|versterkt|vergroten|vergroot|verhogen"),
        ("beter|betere|best|beste", "slechter|slechtere|slecht|slechte|slechtste"),
        ("positief|positieve", "negatief|negatieve"),
        ("snel|snelle|sneller", "traag|trage|trager|langzaam"),
        ("makkelijk|gemakkelijk|eenvoudig|eenvoudige", "moeilijk|moeilijke|complex|complexe"),
        ("lang|lange|langer", "kort|korte|korter"),
        ("laagdrempelig|laagdrempelige", "hoogdrempelig|hoogdrempelige"),
        ("essentieel|essentiele|onmisbaar|cruciaal|noodzakelijk|noodzaak", "overbodig|overbodige|bijkomstig|"
         "onnodig"),
        ("eerste", "laatste"),
        ("oudste", "jongste"),
        ("open|opent|geopend", "gesloten|sluit|dicht"),
        ("intern|interne", "extern|externe"),
        ("inclusief|inclusieve", "exclusief|exclusieve"),
        ("horizontaal|horizontale", "verticaal|verticale"),
        ("plenair|plenaire", "parallel|parallelle|parallele"),
        ("zelfstandig|zelfstandige", "afhankelijk|afhankelijke"),
        # who it is for, and scope: "zowel huidige als nieuwe lokale besturen" is not "alleen nieuwe"
        ("nederlandstalig|nederlandstalige", "franstalig|franstalige|anderstalig|anderstalige"),
        ("enkel|alleen|uitsluitend|only", "zowel|ook|naast|also"),
        ("dezelfde|hetzelfde|gelijk|uniform", "divers|diverse|verschillend|verschillende|eigen|gevarieerd"),
        ("gelijkenissen|gelijknissen|overeenkomsten", "verschillen"),
        ("veilig|veilige", "onveilig|onveilige"),
        ("aanwezig|aanwezigheid", "afwezig|afwezigheid"),
        # how long: "al jaren" is not "pas sinds kort"
        ("al jaren|al enkele jaren|jarenlang|al lang|enkele jaren geleden|jaren geleden",
         "pas|sinds kort|onlangs|recent|vorig jaar|dit jaar"),
        ("aanvaarden|aanvaardt|schuiven|steunt|steunen", "verwerpt|verwerpen|weigert|weigeren|afwijzen"),
        # advice: "vermijd clichés" is not "gebruik clichés"
        ("vermijd|vermijden|vermijdt", "gebruik|gebruiken|gebruikt|hanteer|hanteren"),
        ("duidelijk|duidelijke|meetbaar|meetbare", "vaag|vage|onduidelijk|onduidelijke"),
        ("vaker|meer", "minder|minst"),
        ("blijvend|blijvende|aanhoudend|aanhoudende", "gestopt|stopt|voorbij|afgelopen"),
        ("versnellen|versnelt|versneld|sneller", "vertragen|vertraagt|vertraagd|trager"),
        ("buiten", "binnen"),
    ))
# Words that open with "on" without it meaning "not": onder-, ont-, ons, onze, ...
_NOT_ON_PREFIX = ("onder", "ons", "onze", "onzi", "ondan")


def _has(forms: Iterable[str], words: Sequence[str], joined: str) -> bool:
    present = set(words)
    return any((f in present) if " " not in f else (f" {f} " in joined) for f in forms)


def antonym_flips(claim: str, passage: str, aligned: str = "") -> list[str]:
    """Words of the claim whose opposite, not they themselves, is what the passage says (all of it, or the
    sentences the claim restates, ``aligned``)."""
    every = tokens(claim)
    # a negated word claims nothing to oppose: "niet alleen" is not "alleen"
    cw = [w for i, w in enumerate(every) if not (i and _is_negator(every, i - 1))]
    pw = tokens(passage)
    cj, pj = f" {' '.join(cw)} ", f" {' '.join(pw)} "
    ckeys = content_keys(claim)
    restated = [w for w in map(tokens, aligned.splitlines())
                if w and _restates(ckeys, {key(x) for x in w if _content(x)})]
    rw = [x for w in restated for x in w]  # the sentences the claim restates, together (a claim may merge two)
    texts = [(pw, pj), (rw, f" {' | '.join(' '.join(w) for w in restated)} ")]
    out: list[str] = []
    for a, b in ANTONYMS:
        contrast = _has(a, cw, cj) and _has(b, cw, cj)  # "kleine steden ... dan grotere steden"
        for side, other in ((a, b), (b, a)):
            if _has(side, cw, cj) and any(not _has(side, w, j) and _has(other, w, j)
                                          for w, j in (texts[:1] if contrast else texts)):
                out.append(next(f for f in side if (f in cw) or f" {f} " in cj))
    pkeys = {w[:6] for w in pw}
    for w in set(cw):  # "ontoegankelijk" against a passage that says "toegankelijk", and the reverse
        if w.startswith("on") and not w.startswith(_NOT_ON_PREFIX) and len(w) >= 7 and w[:6] not in pkeys \
                and w[2:8] in pkeys:
            out.append(w)
    for w in set(pw):
        if w.startswith("on") and not w.startswith(_NOT_ON_PREFIX) and len(w) >= 7:
            plain = w[2:8]
            if any(c[:6] == plain for c in cw) and plain not in {p[:6] for p in pw if not p.startswith("on")} \
                    and w[:6] not in {c[:6] for c in cw}:
                out.append(w[2:])
    return list(dict.fromkeys(out))


# Who does what: the people, bodies and levels of government our documents assign roles to. A claim
# that names one the passage does not, where the passage names another, has changed the actor
# ("ambtenaren" for the passage's "inwoners"). Matched by their first six letters, and as the tail of
# a compound ("buurtbewoners" ends with "bewoners").
ROLES = frozenset("""
    ambtenaar ambtenaren inwoner inwoners bewoner bewoners burger burgers vrijwilliger vrijwilligers
    medewerker medewerkers personeel personeelsleden politie politieagent politieagenten leerkracht leerkrachten
    leraar leraren lesgever lesgevers ouders ouderen senioren kinderen jongeren tieners leerlingen studenten
    nieuwkomers migranten vluchtelingen asielzoekers werkgever werkgevers werknemers werkzoekenden
    burgemeester burgemeesters minister ministers regering regeringen experts expert professionals begeleiders
    directeur directeurs coordinator consulent projectmanager projectleider stafmedewerker beleidsadviseur
    beleidsmedewerker beleidsmakers programmator onderzoekers trainers daklozen scholen basisscholen
    secundaire gemeenteraad
    officials residents volunteers citizens employers newcomers teachers parents children
""".split())
LEVELS = frozenset("""
    lokale lokaal regionale regionaal nationale nationaal federale federaal vlaamse vlaams europese europees
""".split())
_PEOPLE = ROLES - frozenset("scholen basisscholen secundaire gemeenteraad regering regeringen".split())


def _role_present(word: str, passage_words: set[str], passage_keys: set[str]) -> bool:
    if word in passage_words or word[:6] in passage_keys:
        return True
    return any(len(p) >= 5 and (word.endswith(p) or p.endswith(word)) for p in passage_words if p in ROLES)


def missing_roles(claim: str, passage: str) -> list[str]:
    """Roles the claim names that the passage does not."""
    pw = set(tokens(passage))
    pkeys = {w[:6] for w in pw}
    return [w for w in dict.fromkeys(tokens(claim)) if (w in ROLES or w in LEVELS)
            and not _role_present(w, pw, pkeys)]


_NAME = re.compile(r"(?<![\w@./-])[A-ZÀ-Ý][\w'’&-]*\w")
_COORDINATION = frozenset("en and et of or ou ;".split())
_PARTS = re.compile(r"[,;:.!?()\[\]–—]|\s-\s")  # a claim's enumerations: "de VVSG, de stad Leuven en de VUB"
_NOT_A_NAME = frozenset("prof dr stad werksessie workshop begeleiding".split())


def _marked(text: str) -> list[tuple[str, bool]]:
    """Content tokens of ``text`` (and coordinators), each with whether it is capitalised mid-sentence."""
    names = set()
    for m in _NAME.finditer(text):
        before = text[:m.start()].rstrip()
        if before and before[-1] not in ".:!?\n":  # a sentence's or a line's first word names nothing
            names.add(fold(m.group(0)))
    out = []
    for w in tokens(text.replace(";", " ; ")):
        if w in _COORDINATION or w not in STOPWORDS:
            out.append((w, w in names and w not in _NOT_A_NAME))
    return out


def binding_flips(claim: str, passage_sentences: Sequence[str]) -> list[str]:
    """Names the claim ties to the wrong thing: "Yasmine Goossens werkt voor de KULeuven" where the
    passage reads "Yasmine Goossens (UCLL) en Ahmed Chouyouhi (KULeuven)".

    A pair is a name A followed in the same clause of the claim, within three content words and no
    "en", by a name or a person's role B (names are capitalised words that do not open a sentence or
    line). In a passage sentence holding both, B is *tied* to the nearest A when no "en" or ";"
    stands between them, and *split* from it when one does and another name too ("A (X) en C (B)").
    A pair only ever split is a flip."""
    out: list[str] = []
    sentences = [_marked(s) for s in passage_sentences]
    for clause in _PARTS.split(claim):
        words = _marked(clause)
        for i, (a, a_name) in enumerate(words):
            if not a_name:
                continue
            for b, b_name in words[i + 1:i + 4]:
                if b in _COORDINATION:
                    break
                if not (b_name or b in _PEOPLE):
                    continue
                verdicts = {_tie(s, a, b) for s in sentences} - {None}
                if verdicts == {False}:
                    out.append(f"{a} ~ {b}")
    return out


def _tie(sentence: Sequence[tuple[str, bool]], a: str, b: str) -> bool | None:
    """Whether ``b`` is tied to the nearest ``a`` in this sentence (None: not both in it)."""
    def same(w: str, x: str) -> bool:
        return w == x or (len(x) >= 6 and w[:6] == x[:6])

    where_a = [j for j, (w, _) in enumerate(sentence) if same(w, a)]
    verdict: bool | None = None
    for k, (w, _) in enumerate(sentence):
        if not same(w, b) or not where_a:
            continue
        j = min(where_a, key=lambda x: abs(x - k))
        between = sentence[min(j, k) + 1:max(j, k)]
        if any(x in _COORDINATION for x, _ in between) and any(n and x != a for x, n in between):
            verdict = False if verdict is None else verdict
        else:
            return True
    return verdict


_DIGITS = {"een": "1", "twee": "2", "drie": "3", "vier": "4", "vijf": "5", "zes": "6", "zeven": "7", "acht": "8",
           "negen": "9", "tien": "10", "elf": "11", "twaalf": "12"}


def quantity_flips(claim: str, passage: str) -> list[str]:
    """Numbers the claim puts before a word ("12 landen") where the passage counts that word with another
    number and never with this one ("10 landen"); a number elsewhere in the passage ("12u") is no support."""
    def counted(text: str) -> dict[str, set[str]]:
        ws = tokens(text)
        out: dict[str, set[str]] = {}
        for i, w in enumerate(ws[:-1]):
            n = w if w.isdigit() else _DIGITS.get(w, "") if w != "een" else ""
            if n:
                for u in ws[i + 1:i + 3]:
                    if _content(u):
                        out.setdefault(key(u), set()).add(n)
                        break
        return out

    claim_counts, passage_counts = counted(claim), counted(passage)
    return [f"{n} {u}" for u, ns in claim_counts.items() for n in sorted(ns)
            if u in passage_counts and n not in passage_counts[u]]
