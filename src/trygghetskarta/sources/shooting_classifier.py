"""Is a police event a shooting? Rules over the event type and the Swedish text.

The police publish shootings under many types: ``Skottlossning`` but also ``Mord/dråp``,
``Mord/dråp, försök``, ``Vapenlagen``, ``Misshandel, grov`` … and the words of a shooting
("sköts", "skjuten", "skott") also occur where nobody fired a gun: a moose or an injured deer
put down by the police, fireworks and firecrackers, an air rifle or a softair gun, a green
laser, a warning shot by the police, "skjuts" (a ride), "skött" (managed), a threat to shoot,
"skott i foten". :func:`classify` reads the text sentence by sentence and weighs what it
finds; :func:`classify_events` does it for a frame of police events.

Evidence, strongest first
    *stated* — the text says shots were fired or someone was shot: "skott har avlossats mot
    en dörr", "en man har blivit skjuten", "skottskadad", "skotthål", "beskjuten",
    "skottlossning" told as a fact; also the type ``Skottlossning``.
    *reported* — calls, alarms or witnesses about shots: "samtal om skottlossning",
    "uppgifter om att skott avlossats", empty cases found.
    *suspected* — "misstänkt skottlossning", "misstänkt skotthål", "eventuella fynd".
Disqualifiers (in the same sentence as the shot words)
    an animal (älg, rådjur, vilt, avlivades), a weapon that is not a firearm (luftgevär,
    softair, laser, fyrverkerier, raketer, smällare), the police firing (varningsskott,
    verkanseld, "skjuten av polis"), a threat or a failed attempt ("hotar att skjuta",
    "inget skott går av"), an idiom ("skott i foten", "skjuta upp"), a negation ("inga
    uppgifter om skottlossning"), a follow-up notice (an appeal for witnesses, a press
    conference, a remand in custody).
Explanations (anywhere in the event)
    "visade sig vara fyrverkerier", "det rör sig om skott från ett luftvapen", "inte en
    skada som uppstått av ett vapen" — the event is not a shooting, unless some sentence
    states a shooting on its own.

Decision: stated evidence → ``shooting``; an explanation → ``not_shooting``; reported
evidence in an event the police treat as a serious crime (type ``Skottlossning``,
``Mord/dråp``, ``Mord/dråp, försök`` or ``Vapenlagen``, or the text names attempted murder,
murder or a weapons offence) → ``shooting``; the type ``Skottlossning`` alone →
``shooting``; otherwise any evidence → ``suspected``; nothing → ``not_shooting``. A text
that says the shooting is not confirmed ("inte bekräftat att skottlossning") caps reported
and type evidence at ``suspected``.

Measured on a hand-labelled set of Stockholm events (``tests/data/shootings_labels.csv``);
``bench/bench_shootings.py`` prints precision and recall against the baseline "type starts
with Skottlossning".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class Verdict(StrEnum):
    """The classifier's answer for one event."""

    SHOOTING = "shooting"
    SUSPECTED = "suspected"
    NOT_SHOOTING = "not_shooting"


#: Evidence levels, strongest first.
STATED, REPORTED, SUSPECTED_LEVEL = "stated", "reported", "suspected"

#: Police types under which a reported shooting counts as one (the police treat it as a crime).
SERIOUS_TYPES = frozenset({"Skottlossning", "Mord/dråp", "Mord/dråp, försök", "Vapenlagen"})
SHOOTING_TYPE = "Skottlossning"
SUSPECTED_TYPE = "Skottlossning, misstänkt"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_PERSON = (
    r"(?:man|mannen|män|männen|kvinna|kvinnan|kvinnor|person|personen|personer|pojke|pojken|"
    r"pojkar|flicka|flickan|ungdom|ungdomen|ungdomar|tonåring|tonåringen|målsägaren|"
    r"brottsoffret|offret)"
)
#: (name, pattern, immune to reported/suspected cues). Names appear in the reason.
_SHOT_PHRASES: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("skottskada", _rx(r"\bskottskad\w*|\bskottsår\w*"), True),
    ("skotthål", _rx(r"\b(?:skott|kul)hål\w*"), False),
    ("skottlossning", _rx(r"\bskot{1,2}lossning\w*"), False),
    ("skjutning", _rx(r"\bskjutning(?:en|ar|arna)?\b"), False),
    (
        "skott avlossade",
        _rx(
            r"\bskott(?:en|et)?\b[^.;]*?\bav(?:s)?lossa\w*|\bav(?:s)?lossa\w*\b[^.;]*?\bskott(?:en|et)?\b"
        ),
        False,
    ),
    ("avlossat vapen", _rx(r"\bavlossa\w*\s+(?:ett\s+|sitt\s+|flera\s+)?(?:skjut)?vapen\b"), False),
    ("skott mot", _rx(r"\bskott(?:en|et)?\s+(?:mot|in\s+i|genom)\b"), False),
    ("flera skott", _rx(r"\b(?:flera|ett\s+antal|ett\s+flertal|minst\s+ett|\d+)\s+skott\b"), False),
    ("träffad av skott", _rx(r"\bträffa\w*\s+av\s+(?:\w+\s+)?skott\b"), False),
    ("beskjuten", _rx(r"\bbeskjut\w*"), False),
    ("skjuten", _rx(r"\b(?:skjuten|skjutna|skjutits|ihjälskjut\w*)\b"), False),
    (
        "skjutit mot",
        _rx(
            r"\b(?:skjutit|skjuter|sköt)\s+(?:\w+\s+){0,3}?"
            r"(?:mot|in\s+i|in\s+genom|genom|ihjäl|till\s+döds)\b"
        ),
        False,
    ),
    ("skjutit skott", _rx(r"\b(?:skjutit|skjuter|sköt|skjutits)\s+(?:\w+\s+){0,3}?skott\b"), False),
    (
        "sköts",
        _rx(
            r"\b(?:sköts|skjuts)\s+(?:ihjäl|till\s+döds)\b"
            rf"|\b{_PERSON}\s+(?:som\s+)?sköts\b"
            rf"|\b{_PERSON}\s+skjuts\s+(?:på|i|vid|utanför|utomhus|inomhus|med)\b"
            rf"|\bsköts\s+(?:en|två|tre|flera)\s+(?:\w+\s+)?{_PERSON}\b"
        ),
        False,
    ),
    ("tomhylsor", _rx(r"\b(?:tom)?hyls(?:a|an|or|orna)\b"), False),
)

_ANIMAL = _rx(
    r"\b(?:älg\w*|rådjur\w*|vildsvin\w*|hjort\w*|djur(?:et|en)?|vilt(?:et)?|viltolyck\w*|"
    r"räv(?:en)?|grävling\w*|björn(?:en|ar|arna)?|varg(?:en|ar|arna)?|lo(?:djur\w*|n)|"
    r"säl(?:en|ar)?|bäver\w*|hare(?:n)?|fågel\w*|fåglar\w*|duv(?:a|an|or)|kråk\w*|gäss|"
    r"katt(?:en|er|erna)?|renar(?:na)?|renen|avliva\w*|kommunjägar\w*|"
    r"jägar\w*|viltvårdar\w*)\b"
)
_NOT_FIREARM = _rx(
    r"\b(?:luft(?:gevär|vapen|vapnet|pistol)\w*|soft\s*air\w*|airsoft\w*|kolsyre\w*|"
    r"paintball\w*|leksaks\w*|vattenpistol\w*|attrapp\w*|startpistol\w*|signalpistol\w*|"
    r"\w*laser\w*|\w*f[iy]r?verk\w*|smällare\w*|\w*raket(?:er|erna|en)?|pyroteknik\w*|bangers|"
    r"bengalisk\w*|slangbåge\w*|pilbåge\w*|spikpistol\w*)\b"
)
_POLICE_FIRE = _rx(
    r"\bvarningsskott\w*|\bverkans?eld\b|\btjänstevapn?\w*"
    r"|\b(?:skjuten|skjutits|sköts|beskjuten)\s+av\s+(?:en\s+)?polis\w*"
    r"|\bpolis\w*\s+(?:\w+\s+)?(?:sköt|skjuter|avlossa\w*|har\s+skjutit)\b"
)
_THREAT = _rx(
    r"\b(?:hot\w*|(?:ska|skulle)(?!\s+ha\b)|försök\w*|tänk\w*|låtsa\w*|handrörelse\w*)"
    r"\s+(?:\w+\s+){0,2}?(?:att\s+)?skjuta\b"
    r"|\binget\s+skott\s+(?:gick|går|har\s+gått)\s+av\b|\bklicka\w*"
)
_IDIOM = _rx(
    r"\bskott\s+i\s+foten\b"
    r"|\b(?:skjuta|skjuter|skjutit|sköt|skjuts|skjutits)\s+(?:upp|undan|på\s+framtiden)\b"
    r"|\bskottår\w*|\bskottkärr\w*|\bskottsäker\w*|\bsluta\s+skjut\w*"
)
_FOLLOW_UP = _rx(
    r"\b(?:efterlys\w*\s+(?:iakttagelser|vittnen|tips)|pressträff\w*|presskonferens\w*|"
    r"pressmeddelande\w*|identifiering\w*|häktad\w*|häktning\w*|åtal\w*|dömd\w*|"
    r"minnesstund\w*)\b"
)
_NEGATION = _rx(
    r"\b(?:inga|inget|ingen|inte|ej)\b(?:\s+\w+){0,4}?\s+(?:skot\w*|skjut\w*|beskjut\w*)"
)
_REPORTED_CUE = _rx(
    r"\b(?:samtal\w*|larm\w*|uppgift\w*|ring(?:er|de|t)|inringar\w*|observation\w*|uppges|"
    r"uppgav|hört|hörde|hörs|hörts|uppfatta\w*|vittne\w*\s+uppger|om\s+att)\b"
)
_SUSPECTED_CUE = _rx(r"\b(?:misstänk\w*|misstanke\w*|eventuell\w*|befara\w*|liknar|möjlig\w*)\b")
#: "stärker misstanken" strengthens a suspicion: reported, not merely suspected.
_STRENGTHENED = _rx(r"\bstärk\w*\s+misstanken\b")
_UNCONFIRMED = _rx(
    r"\binte\s+(?:\w+\s+){0,2}?(?:bekräftat|säkerställt|fastställt|klarlagt)\s+(?:att|om)\s+"
    r"(?:\w+\s+){0,3}?(?:skot\w*|skjut\w*)"
)
_EXPLAINED = _rx(
    r"\b(?:visa\w*\s+sig\s+vara|var|kom\s+från|komma\s+från|kommer\s+från|rör(?:de)?\s+sig\s+om|"
    r"handla\w*\s+om|bedöm\w*\s+(?:vara|komma\s+från)|antas\s+komma\s+från|orsaka\w*\s+av)"
    r"\s+(?:\w+\s+){0,3}?(?:\w*fyrverk\w*|smällare\w*|\w*raket\w*|luft\w*|soft\s*air\w*|"
    r"airsoft\w*|åsk\w*|en\s+bussmotor|\w*laser\w*|ett\s+åskväder)"
    r"|\binte\s+(?:är\s+)?(?:en\s+skada\s+som\s+uppstått\s+av|orsaka\w*\s+av)\s+(?:ett\s+)?"
    r"(?:skjut)?vapen\b"
)
_SERIOUS_WORDS = _rx(
    r"\b(?:mordförsök\w*|försök\s+till\s+mord|mord|dråp\w*|grovt\s+vapenbrott|vapenbrott)\b"
)
#: Every shot phrase contains one of these; a text without them needs no sentence analysis.
_STEMS = _rx(r"skot|skjut|sköt|beskj|av(?:s)?loss|hyls|kulhål")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[a-zåäö]\.)(?=[A-ZÅÄÖ])")
_SPACE = re.compile(r"[ \t\u00a0\u2009\u202f]+")


@dataclass(frozen=True)
class Classification:
    """One event's verdict and why.

    Attributes
    ----------
    verdict
        :class:`Verdict`.
    evidence
        The strongest evidence level found (``stated``, ``reported``, ``suspected``) or None.
    reason
        A short sentence naming the rule and the phrase that decided, for analysts.
    """

    verdict: Verdict
    evidence: str | None
    reason: str


def sentences(text: str) -> list[str]:
    """Split a police text into sentences (also where a page lacks the space after a dot)."""
    clean = _SPACE.sub(" ", text or "")
    return [s.strip() for s in _SENTENCE_SPLIT.split(clean) if s and s.strip()]


def _disqualifier(sentence: str) -> str | None:
    for name, pattern in (
        ("not a firearm", _NOT_FIREARM),
        ("an animal", _ANIMAL),
        ("the police fired", _POLICE_FIRE),
        ("a threat or a failed attempt", _THREAT),
        ("an idiom", _IDIOM),
        ("a follow-up notice", _FOLLOW_UP),
        ("negated", _NEGATION),
    ):
        if pattern.search(sentence):
            return name
    return None


def _evidence(sentence: str) -> list[tuple[str, str]]:
    """(level, phrase) for every shot phrase in one sentence that is not disqualified."""
    found = []
    reported = bool(_REPORTED_CUE.search(sentence)) or bool(_STRENGTHENED.search(sentence))
    suspected = bool(_SUSPECTED_CUE.search(sentence)) and not _STRENGTHENED.search(sentence)
    for name, pattern, immune in _SHOT_PHRASES:
        match = pattern.search(sentence)
        if match is None:
            continue
        weak = name == "tomhylsor" or (reported and not immune)
        level = REPORTED if weak else STATED
        if suspected and not immune:
            level = SUSPECTED_LEVEL
        found.append((level, match.group(0)))
    return found


_RANK = {STATED: 0, REPORTED: 1, SUSPECTED_LEVEL: 2}


def classify(source_type: str | None, *texts: str | None) -> Classification:
    """Decide whether one police event reports a shooting.

    Parameters
    ----------
    source_type
        The police event type, e.g. ``"Mord/dråp, försök"``.
    *texts
        The event's texts (summary, page body, …); ``None`` is skipped. The title adds
        nothing (it repeats the type).

    Returns
    -------
    Classification
        The verdict, the strongest evidence level and a reason quoting the deciding phrase.

    Examples
    --------
    >>> classify("Mord/dråp", "Man skjuten i Sätra.").verdict
    <Verdict.SHOOTING: 'shooting'>
    >>> classify("Djur", "Vid Skogskyrkogården sköts en älg.").verdict
    <Verdict.NOT_SHOOTING: 'not_shooting'>
    >>> classify("Kontroll person/fordon", "Samtal om smällar. Det visade sig vara fyrverkerier.")
    ... # doctest: +ELLIPSIS
    Classification(verdict=<Verdict.NOT_SHOOTING: 'not_shooting'>, ...)
    """
    kind = source_type.strip() if isinstance(source_type, str) else ""
    texts = tuple(t if isinstance(t, str) else None for t in texts)
    if not kind.startswith(SHOOTING_TYPE) and not any(t and _STEMS.search(t) for t in texts):
        return Classification(Verdict.NOT_SHOOTING, None, "no shot fired in the text")
    best: tuple[str, str] | None = None
    explained: str | None = None
    unconfirmed = False
    for text in texts:
        for sentence in sentences(text or ""):  # NA was turned into None above
            if _EXPLAINED.search(sentence):
                explained = explained or sentence
            if _UNCONFIRMED.search(sentence):
                unconfirmed = True
            phrases = _evidence(sentence)
            if not phrases:
                continue
            why = _disqualifier(sentence)
            if why == "not a firearm":
                explained = explained or sentence
            if why is not None:
                continue
            strongest = min(phrases, key=lambda p: _RANK[p[0]])
            if best is None or _RANK[strongest[0]] < _RANK[best[0]]:
                best = strongest

    serious = kind in SERIOUS_TYPES or any(_SERIOUS_WORDS.search(t or "") for t in texts)
    level = best[0] if best else None
    if (level == STATED and kind != SUSPECTED_TYPE) or (level == STATED and not unconfirmed):
        return Classification(Verdict.SHOOTING, STATED, f"the text states it: {best[1]!r}")
    if explained is not None:
        return Classification(
            Verdict.NOT_SHOOTING, level, f"explained as something else: {explained[:80]!r}"
        )
    if level == REPORTED and serious and not unconfirmed:
        why = f"type {kind!r}" if kind in SERIOUS_TYPES else "the text names a serious crime"
        return Classification(Verdict.SHOOTING, REPORTED, f"reported ({best[1]!r}) and {why}")
    if kind == SHOOTING_TYPE and not unconfirmed:
        return Classification(Verdict.SHOOTING, level or STATED, "the police type Skottlossning")
    if level is not None or kind in (SHOOTING_TYPE, SUSPECTED_TYPE):
        what = f"{level} evidence {best[1]!r}" if best else f"type {kind!r}"
        note = "; the text says it is not confirmed" if unconfirmed else ""
        return Classification(Verdict.SUSPECTED, level, f"only {what}{note}")
    return Classification(Verdict.NOT_SHOOTING, None, "no shot fired in the text")


def classify_events(events: pd.DataFrame) -> pd.DataFrame:
    """Classify police events.

    Parameters
    ----------
    events
        With ``event_uid``, ``source_type``, ``summary`` and ``body`` (as from
        :func:`trygghetskarta.sources.polisen.parse`).

    Returns
    -------
    pandas.DataFrame
        ``event_uid, verdict, evidence, reason``, one row per event, the input's index.
    """
    rows = [
        classify(t, s, b)
        for t, s, b in zip(
            events["source_type"].astype(object),
            events["summary"].astype(object),
            events["body"].astype(object),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "event_uid": events["event_uid"].to_numpy(),
            "verdict": [r.verdict.value for r in rows],
            "evidence": [r.evidence for r in rows],
            "reason": [r.reason for r in rows],
        },
        index=events.index,
    )
