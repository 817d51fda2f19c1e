"""Date parsing for datelines and for relative expressions in event sentences."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Month names of other languages seen in datelines, so non-English articles keep their date too.
_MONTHS.update(
    {
        name: number
        for number, names in enumerate(
            [
                ("enero", "janvier", "januar", "janeiro"),
                ("febrero", "février", "fevrier", "februar", "fevereiro"),
                ("marzo", "mars", "märz", "marco", "março"),
                ("abril", "avril"),
                ("mayo", "mai", "maio"),
                ("junio", "juin", "juni", "junho"),
                ("julio", "juillet", "juli", "julho"),
                ("agosto", "août", "aout"),
                ("septiembre", "setiembre", "septembre", "setembro"),
                ("octubre", "octobre", "oktober", "outubro"),
                ("noviembre", "novembre", "novembro"),
                ("diciembre", "décembre", "decembre", "dezember", "dezembro"),
            ],
            start=1,
        )
        for name in names
        if name not in _MONTHS
    }
)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = (
    r"(?:(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?"
    r"|lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\.?,?\s+)?"
)
# A dateline may carry a label ("Published:", "Updated") and a time after the date.
_LABEL = r"^(?:(?:published|posted|updated|last updated|date)\s*(?:on)?\s*:?\s*)?"
_TAIL = r"(?:\s*(?:,|at|-|\|)?\s*\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[a-z]{2,4})?)?\s*$"
_DATELINE_PATTERNS = [
    re.compile(_LABEL + _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TAIL, re.I),
    re.compile(
        _LABEL
        + _WEEKDAY
        + r"(?P<day>\d{1,2})(?:st|nd|rd|th|er)?\.?\s+(?:de\s+)?"
        + _MONTH
        + r",?\s+(?:de\s+)?(?P<year>\d{4})"
        + _TAIL,
        re.I,
    ),
    re.compile(
        _LABEL + r"(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?\S*)?" + _TAIL, re.I
    ),
]


def parse_dateline(line: str) -> date | None:
    """The date a line consists of ("Sunday, April 14, 2024", "14 April 2024", "2024-04-14"), else None.

    Only whole-line dates count, so a body sentence that mentions a date is never taken for a dateline.
    """
    line = line.strip()
    if len(line) > 60:
        return None
    for pattern in _DATELINE_PATTERNS:
        match = pattern.match(line)
        if not match:
            continue
        parts = match.groupdict()
        month = int(parts["mnum"]) if parts.get("mnum") else _MONTHS[parts["month"].lower()]
        try:
            return date(int(parts["year"]), month, int(parts["day"]))
        except ValueError:
            return None
    return None


def parse_iso_datetime(value: object) -> datetime | None:
    """An ISO 8601 timestamp ("2024-03-04T10:00:00Z", or a bare date) as a datetime; None when
    absent or invalid. The one ISO parser: records, feeds, sitemaps and WARC-Date all use it."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_iso_date(value: object) -> date | None:
    """The date of a YYYY-MM-DD (or longer ISO timestamp) string, as written (no time-zone
    shift); None when absent or invalid."""
    parsed = parse_iso_datetime(value[:10]) if isinstance(value, str) else None
    return parsed.date() if parsed else None


_RELATIVE = re.compile(
    r"\b(?:(?P<simple>yesterday|today|tonight|last night|this morning|this week)"
    r"|(?:on|last|this past|late on|early on|earlier on)\s+(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(?P<lastunit>last|this|next) (?P<unit>week|month)"
    r"|(?P<num>\d+|two|three|four|five|six|seven) (?P<numunit>days|weeks) ago)\b",
    re.I,
)
_SMALL_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def is_day_precise(sentence: str) -> bool:
    """Whether the sentence's relative date names a day (a weekday, yesterday) rather than a period."""
    match = _RELATIVE.search(sentence)
    return match is not None and not match["unit"]


def resolve_relative_date(sentence: str, published: date) -> date | None:
    """The date a relative expression in the sentence points to, counted back from `published`.

    A bare weekday means the latest such day on or before publication (news reports the past).
    Coarse expressions ("last month", "this week") resolve to the first day of that period; years
    are too coarse to date an event by and are left to the publication date.
    """
    match = _RELATIVE.search(sentence)
    if not match:
        return None
    if match["simple"]:
        word = match["simple"].lower()
        return published - timedelta(days=1) if word in ("yesterday", "last night") else published
    if match["weekday"]:
        back = (published.weekday() - _WEEKDAYS.index(match["weekday"].lower())) % 7
        return published - timedelta(days=back)
    if match["unit"]:
        unit, which = match["unit"].lower(), match["lastunit"].lower()
        step = {"last": -1, "this": 0, "next": 1}[which]
        if unit == "week":
            monday = published - timedelta(days=published.weekday())
            return monday + timedelta(weeks=step)
        month_index = published.year * 12 + published.month - 1 + step
        return date(month_index // 12, month_index % 12 + 1, 1)
    count = int(match["num"]) if match["num"].isdigit() else _SMALL_NUMBERS[match["num"].lower()]
    days = count * (7 if match["numunit"].lower() == "weeks" else 1)
    return published - timedelta(days=days)
