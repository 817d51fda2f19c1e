"""The actor and verb dictionaries as typed, validated objects.

Files are read by the caller (flows.resources); this module only turns their rows into lookups,
so a bad row is reported with its file and line.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from transforms.errors import ConfigError

# Sectors that make an actor political wherever it appears (transforms/relevance.py).
POLITICAL_SECTORS = frozenset("GOV MIL COP JUD LEG OPP REB SPY UAF INS SEP RAD MOD ELI PTY IGO NGO".split())
PLACE_KINDS = frozenset({"name", "adjective", "seat", "capital", "city", "region"})
# A verbs.tsv row with this code marks a sense that is no event ("agree that ...", "fight the charges"):
# it matches like any pattern, so it wins over a less specific row of the same word.
NO_EVENT = "none"
CUE_KINDS = frozenset(
    "negation failure hedge_modal intent_modal obligation_modal desire plan appeal commitment threat casualty refusal allegation non_agent implicative speech_noun "
    "intent_noun intent_adjective prediction unreal condition light_verb occurrence declaring "
    "generic person_title".split()
)


@dataclass(frozen=True, slots=True)
class Place:
    phrase: str
    country: str
    kind: str


@dataclass(frozen=True, slots=True)
class Organisation:
    phrase: str
    code: str
    name: str
    type: str
    country: str | None


@dataclass(frozen=True, slots=True)
class Office:
    country: str
    sectors: tuple[str, ...]
    role: str | None  # None when not known: before a person's first term
    start: date
    end: date | None

    def held_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(slots=True)
class Person:
    name: str
    aliases: set[str] = field(default_factory=set)
    offices: list[Office] = field(default_factory=list)

    def office_on(self, day: date | None) -> Office | None:
        """The office held on `day` (the most recent when several are), else None."""
        if day is None:
            return None
        held = [o for o in self.offices if o.held_on(day)]
        return max(held, key=lambda o: o.start) if held else None

    def latest_office(self) -> Office | None:
        return max(self.offices, key=lambda o: o.start) if self.offices else None

    def distance(self, day: date | None) -> int:
        """Days between `day` and this person's nearest term (0 while in office): for picking
        among people who share a name."""
        if day is None:
            return 0
        best = 10**9
        for office in self.offices:
            if office.held_on(day):
                return 0
            if day < office.start:
                gap = (office.start - day).days
            else:
                assert office.end is not None  # not held on a day after its start: the term has ended
                gap = (day - office.end).days
            best = min(best, gap)
        return best


@dataclass(frozen=True, slots=True)
class Agent:
    phrase: str
    sector: str


@dataclass(frozen=True, slots=True)
class VerbPattern:
    code: str
    pos: str
    lemma: str
    prep: str | None
    objects: frozenset[str]

    @property
    def specificity(self) -> int:
        return bool(self.prep) + bool(self.objects) * 2


@dataclass(frozen=True, slots=True)
class CameoCode:
    code: str
    name: str
    goldstein: float
    quad_class: int
    plover: str | None


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    name: str
    country: str
    latitude: float
    longitude: float


@dataclass
class Dictionaries:
    places: dict[str, Place]
    organisations: dict[str, Organisation]
    people: dict[str, Person]
    agents: dict[str, Agent]
    verbs: dict[tuple[str, str], list[VerbPattern]]
    cameo: dict[str, CameoCode]
    gazetteer: dict[str, GazetteerEntry]
    # ISO 3166-1 alpha-3 code -> display name, the names the `countries` lookup view shows.
    country_names: dict[str, str]
    cues: dict[str, frozenset[str]] = field(default_factory=dict)
    # The sector codes an actor code may carry (sectors.tsv, which the `sectors` view shows too).
    sectors: frozenset[str] = frozenset()

    def cue(self, kind: str) -> frozenset[str]:
        """The words of one closed list in cues.tsv ("negation", "light_verb", ...); empty when absent."""
        return self.cues.get(kind, frozenset())

    @property
    def people_by_alias(self) -> dict[str, list[Person]]:
        """Every person a name or alias may stand for ("Hariri": Rafic or Saad); the date decides."""
        lookup: dict[str, list[Person]] = {}
        for person in self.people.values():
            for alias in dict.fromkeys((person.name, *person.aliases)):
                lookup.setdefault(alias, []).append(person)
        return lookup


def read_tsv(text: str, source: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a tab-separated file with a header (lines starting with # are comments), with line numbers."""
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")
    ]
    if not lines:
        raise ConfigError(source, "read dictionary", "file is empty", f"it needs a header: {' '.join(columns)}")
    header = lines[0][1].rstrip("\n").split("\t")
    missing = [c for c in columns if c not in header]
    if missing:
        raise ConfigError(
            f"{source}:{lines[0][0]}",
            "read dictionary",
            f"header lacks {missing}",
            f"the columns are {', '.join(columns)}",
        )
    rows = []
    for number, line in lines[1:]:
        values = next(csv.reader(io.StringIO(line), delimiter="\t", quoting=csv.QUOTE_NONE))
        if len(values) > len(header):
            raise ConfigError(
                f"{source}:{number}",
                "read dictionary",
                f"{len(values)} columns where the header has {len(header)}",
                "check the tabs",
            )
        row = dict(zip(header, [v.strip() for v in values] + [""] * (len(header) - len(values))))
        rows.append((number, row))
    return rows


def _date(value: str, where: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(where, "read dictionary", f"{value!r} is not a YYYY-MM-DD date") from None


def build_dictionaries(files: dict[str, tuple[str, str]]) -> Dictionaries:
    """Dictionaries from file texts: `files` maps a dictionary name to (source path, text)."""

    def rows(name: str, columns: tuple[str, ...]):
        source, text = files[name]
        return [(f"{source}:{n}", r) for n, r in read_tsv(text, source, columns)]

    sectors = frozenset(r["code"] for _, r in rows("sectors", ("code", "name", "description")))

    places: dict[str, Place] = {}
    for where, r in rows("places", ("phrase", "iso3", "kind")):
        if r["kind"] not in PLACE_KINDS or len(r["iso3"]) != 3:
            raise ConfigError(
                where, "read dictionary", f"bad place row {r}", f"iso3 is 3 letters, kind one of {sorted(PLACE_KINDS)}"
            )
        places.setdefault(r["phrase"], Place(r["phrase"], r["iso3"], r["kind"]))

    organisations: dict[str, Organisation] = {}
    for where, r in rows("organisations", ("phrase", "code", "name", "type", "country")):
        if not r["code"]:
            raise ConfigError(where, "read dictionary", "organisation without a code")
        organisations.setdefault(
            r["phrase"],
            Organisation(r["phrase"], r["code"], r["name"] or r["phrase"], r["type"] or "IGO", r["country"] or None),
        )

    people: dict[str, Person] = {}
    for where, r in rows("people", ("name", "aliases", "country", "sector", "role", "start", "end")):
        start = _date(r["start"], where)
        if start is None:
            raise ConfigError(where, "read dictionary", "office without a start date")
        office_sectors = tuple(s for s in r["sector"].split("|") if s)
        unknown = [s for s in office_sectors if s not in sectors]
        if unknown:
            raise ConfigError(where, "read dictionary", f"unknown sector codes {unknown}")
        person = people.setdefault(r["name"], Person(r["name"]))
        person.aliases.update(a.strip() for a in r["aliases"].split("|") if a.strip())
        person.offices.append(Office(r["country"], office_sectors, r["role"], start, _date(r["end"], where)))

    agents: dict[str, Agent] = {}
    for where, r in rows("agents", ("phrase", "sector", "note")):
        if r["sector"] not in sectors:
            raise ConfigError(where, "read dictionary", f"unknown sector {r['sector']!r}")
        agents.setdefault(r["phrase"].lower(), Agent(r["phrase"].lower(), r["sector"]))

    cameo: dict[str, CameoCode] = {}
    for where, r in rows("cameo", ("code", "name", "goldstein", "quadclass", "plover")):
        try:
            cameo[r["code"]] = CameoCode(
                r["code"], r["name"], float(r["goldstein"]), int(r["quadclass"]), r["plover"] or None
            )
        except ValueError:
            raise ConfigError(where, "read dictionary", "goldstein must be a number and quadclass 1-4") from None

    verbs: dict[tuple[str, str], list[VerbPattern]] = defaultdict(list)
    for where, r in rows("verbs", ("code", "pos", "lemma", "prep", "object")):
        if r["code"] != NO_EVENT and r["code"] not in cameo:
            raise ConfigError(where, "read dictionary", f"CAMEO code {r['code']!r} is not in cameo.tsv")
        if r["pos"] not in ("VERB", "NOUN"):
            raise ConfigError(where, "read dictionary", f"pos must be VERB or NOUN, not {r['pos']!r}")
        objects = frozenset(o.strip().lower() for o in r["object"].split("|") if o.strip())
        verbs[(r["pos"], r["lemma"].lower())].append(
            VerbPattern(r["code"], r["pos"], r["lemma"].lower(), r["prep"].lower() or None, objects)
        )
    for patterns in verbs.values():
        patterns.sort(key=lambda p: -p.specificity)

    gazetteer: dict[str, GazetteerEntry] = {}
    for where, r in rows("gazetteer", ("name", "iso3", "latitude", "longitude")):
        try:
            gazetteer.setdefault(
                r["name"], GazetteerEntry(r["name"], r["iso3"], float(r["latitude"]), float(r["longitude"]))
            )
        except ValueError:
            raise ConfigError(where, "read dictionary", "latitude and longitude must be numbers") from None

    country_names: dict[str, str] = {}
    for where, r in rows("countries", ("iso3", "name")):
        if len(r["iso3"]) != 3 or not r["name"]:
            raise ConfigError(where, "read dictionary", f"bad country row {r}", "iso3 is 3 letters and name is set")
        country_names.setdefault(r["iso3"], r["name"])

    cues: dict[str, set[str]] = defaultdict(set)
    if "cues" in files:
        for where, r in rows("cues", ("cue", "kind")):
            if not r["cue"] or r["kind"] not in CUE_KINDS:
                raise ConfigError(
                    where, "read dictionary", f"bad cue row {r}", f"kind is one of {', '.join(sorted(CUE_KINDS))}"
                )
            cues[r["kind"]].add(r["cue"].lower())

    return Dictionaries(
        places=places,
        organisations=organisations,
        people=people,
        agents=agents,
        verbs=dict(verbs),
        cameo=cameo,
        gazetteer=gazetteer,
        country_names=country_names,
        cues={kind: frozenset(words) for kind, words in cues.items()},
        sectors=sectors,
    )
