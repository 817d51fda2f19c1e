"""Exports of the events view: GDELT 2.0's event table, and POLECAT's event fields.

GDELT: column names and order follow the GDELT 2.0 Event codebook (61 tab-separated columns, no
header in GDELT's own files). Geo columns use GDELT's geo types (1 country, 2 US state, 3 US city,
4 world city, 5 world state) and FIPS 10-4 country codes; an actor's geography is the event's
place when the actor is of that place's country, else the actor's country. IsRootEvent is 1 when
the event is seen in an article's first paragraph. AvgTone is the mean over the event's articles
of VADER's positive minus negative share of the text, in percent (GDELT's tone is likewise the
share of positive minus negative words). Deviations from GDELT are listed in the README.

POLECAT: the PLOVER event fields of the POLECAT data set, under its column names, one row per
event with a PLOVER type (CAMEO statements and appeals have none), PLOVER types in their 16-type
release names (DEMAND as REQUEST, DISAPPROVE and INVESTIGATE as ACCUSE).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import duckdb

from warehouse.lookups import DICTIONARY_DIR

if TYPE_CHECKING:
    import _csv  # the type csv.writer returns

GDELT_ACTOR = [
    "Code",
    "Name",
    "CountryCode",
    "KnownGroupCode",
    "EthnicCode",
    "Religion1Code",
    "Religion2Code",
    "Type1Code",
    "Type2Code",
    "Type3Code",
]
GDELT_GEO = ["Type", "FullName", "CountryCode", "ADM1Code", "ADM2Code", "Lat", "Long", "FeatureID"]
GDELT_COLUMNS = (
    ["GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "FractionDate"]
    + [f"Actor1{c}" for c in GDELT_ACTOR]
    + [f"Actor2{c}" for c in GDELT_ACTOR]
    + [
        "IsRootEvent",
        "EventCode",
        "EventBaseCode",
        "EventRootCode",
        "QuadClass",
        "GoldsteinScale",
        "NumMentions",
        "NumSources",
        "NumArticles",
        "AvgTone",
    ]
    + [f"Actor1Geo_{c}" for c in GDELT_GEO]
    + [f"Actor2Geo_{c}" for c in GDELT_GEO]
    + [f"ActionGeo_{c}" for c in GDELT_GEO]
    + ["DATEADDED", "SOURCEURL"]
)
GEO_COUNTRY, GEO_US_STATE, GEO_US_CITY, GEO_WORLD_CITY, GEO_WORLD_STATE = 1, 2, 3, 4, 5
# POLECAT's feature type of a place, by its GDELT geo type.
POLECAT_FEATURES = {
    GEO_COUNTRY: "country",
    GEO_US_STATE: "region",
    GEO_WORLD_STATE: "region",
    GEO_US_CITY: "city",
    GEO_WORLD_CITY: "city",
}

# Per event: its first report's URL (else its file), whether a sighting is in a lead paragraph
# (offsets before the text's first line break), and the articles that report it.
_SIGHTINGS = """
sightings AS (
    SELECT m.event_id,
           arg_min(coalesce(m.url, a.url), m.published) FILTER (WHERE coalesce(m.url, a.url) IS NOT NULL) AS url,
           arg_min(a.source_path, m.published) AS source_path,
           bool_or(strpos(a.text, chr(10)) = 0 OR m.start < strpos(a.text, chr(10)) - 1) AS is_root,
           list(DISTINCT m.article_id) AS article_ids,
           min(m.article_id) AS story_id, arg_min(a.language, m.published) AS language
    FROM event_mentions m LEFT JOIN articles a USING (article_id)
    GROUP BY m.event_id)"""

_GDELT_QUERY = f"""
WITH {_SIGHTINGS.strip()}
SELECT e.event_id, e.event_date, e.source, e.target, e.cameo, e.cameo_root, e.quad_class, e.goldstein,
       e.num_mentions, e.num_sources, e.num_articles, e.location, e.location_country, e.latitude, e.longitude,
       e.last_reported, s.url, s.source_path, s.is_root, s.article_ids,
       lc.name, lc.fips, sc.name, sc.fips, tc.name, tc.fips
FROM events e LEFT JOIN sightings s USING (event_id)
LEFT JOIN countries lc ON lc.iso3 = e.location_country
LEFT JOIN countries sc ON sc.iso3 = e.source.country
LEFT JOIN countries tc ON tc.iso3 = e.target.country
WHERE e.event_date IS NOT NULL
ORDER BY e.event_date, e.event_id
"""


def sector_codes(connection: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The CAMEO sector codes (the `sectors` lookup): what GDELT reports as an actor's type codes."""
    return frozenset(row[0] for row in connection.execute("SELECT code FROM sectors").fetchall())


def _sectors(actor: dict | None, sectors: frozenset[str]) -> list[str]:
    if not actor:
        return []
    code, country = actor.get("code") or "", actor.get("country") or ""
    rest = code[len(country) :] if country and code.startswith(country) else code
    return [rest[i : i + 3] for i in range(0, len(rest), 3) if rest[i : i + 3] in sectors]


def _actor_columns(actor: dict | None, sectors: frozenset[str]) -> list:
    if not actor:
        return [""] * len(GDELT_ACTOR)
    code = actor.get("code") or ""
    country = actor.get("country") or ""
    types = _sectors(actor, sectors)[:3]
    known_group = code if code.startswith(("IGO", "NGO", "IMG")) else ""
    return (
        [code, (actor.get("name") or "").upper(), country if len(country) == 3 else "", known_group, "", "", ""]
        + types
        + [""] * (3 - len(types))
    )


def place_kinds(dictionary_dir: Path | None = None) -> dict[str, str]:
    """Place phrase -> kind (name, city, region, capital, ...) from places.tsv, first row wins."""
    kinds: dict[str, str] = {}
    with open(Path(dictionary_dir or DICTIONARY_DIR) / "places.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            kinds.setdefault(row["phrase"], row["kind"])
    return kinds


def geo_type(location: str | None, iso3: str | None, has_coordinates: bool, kinds: dict[str, str]) -> int | None:
    """GDELT's geo type of an event's place: a named city or capital, a region, or a country."""
    if not location:
        return GEO_COUNTRY if iso3 else None
    if not iso3 and not has_coordinates:
        return None  # a phrase the coder took for a place but could not place
    kind = kinds.get(location)
    if kind in ("name", "adjective") and not has_coordinates:
        return GEO_COUNTRY
    if kind == "region" and not has_coordinates:
        return GEO_US_STATE if iso3 == "USA" else GEO_WORLD_STATE
    return GEO_US_CITY if iso3 == "USA" else GEO_WORLD_CITY


def _geo(kind: int | None, full_name: str, fips: str | None, lat: float | None, lon: float | None) -> list:
    if kind is None:
        return [""] * len(GDELT_GEO)
    fips = fips or ""
    # At country level GDELT's ADM1Code and FeatureID are the FIPS country code itself.
    country_level = kind == GEO_COUNTRY
    return [
        kind,
        full_name,
        fips,
        fips if country_level else "",
        "",
        "" if lat is None else round(lat, 4),
        "" if lon is None else round(lon, 4),
        fips if country_level else "",
    ]


def article_tones(connection: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Tone of every article that reports an event: VADER's (positive - negative) share x 100."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    result = connection.execute(
        "SELECT article_id, text FROM articles WHERE article_id IN (SELECT DISTINCT article_id FROM event_mentions)"
    )
    tones: dict[str, float] = {}
    while batch := result.fetchmany(500):
        for article_id, text in batch:
            scores = analyzer.polarity_scores(text or "")
            tones[article_id] = (scores["pos"] - scores["neg"]) * 100
    return tones


def _source_url(url: str | None, path: str | None) -> str:
    if url:
        return url
    if path and Path(path).is_absolute():
        return Path(path).as_uri()
    return path or ""


def gdelt_rows(connection: duckdb.DuckDBPyConnection) -> Iterator[list]:
    """Rows of the events view as GDELT 2.0 event records."""
    kinds = place_kinds()
    tones = article_tones(connection)
    sectors = sector_codes(connection)
    result = connection.execute(_GDELT_QUERY)
    while True:
        batch = result.fetchmany(1000)
        if not batch:
            return
        for (
            event_id,
            day,
            source,
            target,
            cameo,
            root,
            quad,
            goldstein,
            mentions,
            sources,
            articles,
            location,
            location_country,
            lat,
            lon,
            reported,
            url,
            path,
            is_root,
            article_ids,
            location_country_name,
            location_fips,
            source_country_name,
            source_fips,
            target_country_name,
            target_fips,
        ) in batch:
            fraction = round(day.year + (day.timetuple().tm_yday - 1) / 365, 4)
            action_kind = geo_type(location, location_country, lat is not None, kinds)
            if action_kind == GEO_COUNTRY:
                action_name = location_country_name or location or ""
            else:
                action_name = ", ".join(p for p in (location, location_country_name) if p)
            action = _geo(action_kind, action_name, location_fips, lat, lon)
            actor_geo = []
            for actor, country_name, fips in (
                (source, source_country_name, source_fips),
                (target, target_country_name, target_fips),
            ):
                country = (actor or {}).get("country")
                if country and country == location_country and action_kind is not None:
                    actor_geo += action  # the actor acts in the place the sentence names
                elif country and country_name:
                    actor_geo += _geo(GEO_COUNTRY, country_name, fips, None, None)
                else:
                    actor_geo += _geo(None, "", None, None, None)
            known = [tones[a] for a in article_ids or [] if a in tones]
            tone = round(sum(known) / len(known), 4) if known else ""
            yield (
                [int(event_id[:15], 16), day.strftime("%Y%m%d"), day.strftime("%Y%m"), day.year, fraction]
                + _actor_columns(source, sectors)
                + _actor_columns(target, sectors)
                + [
                    1 if is_root else 0,
                    cameo,
                    cameo[:3],
                    root,
                    quad,
                    round(goldstein, 1),
                    mentions,
                    sources,
                    articles,
                    tone,
                ]
                + actor_geo
                + action
                + [reported.strftime("%Y%m%d000000") if reported else "", _source_url(url, path)]
            )


def _write_rows(writer: _csv.Writer, columns: list[str] | None, rows: Iterator[list]) -> int:
    """Write an optional header and the rows; the number of rows written."""
    if columns:
        writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def write_gdelt(connection: duckdb.DuckDBPyConnection, out: TextIO, header: bool = False) -> int:
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
    return _write_rows(writer, GDELT_COLUMNS if header else None, gdelt_rows(connection))


POLECAT_COLUMNS = [
    "Event ID",
    "Event Date",
    "Event Type",
    "Event Mode",
    "Quad Code",
    "Contexts",
    "Actor Name",
    "Actor Country",
    "Primary Actor Sector",
    "Actor Sectors",
    "Actor Name Raw",
    "Recipient Name",
    "Recipient Country",
    "Primary Recipient Sector",
    "Recipient Sectors",
    "Recipient Name Raw",
    "Placename",
    "Country",
    "Latitude",
    "Longitude",
    "Feature Type",
    "Source",
    "Publication Date",
    "Language",
    "Story ID",
    "Event Text",
    "Source URL",
]

_POLECAT_QUERY = f"""
WITH {_SIGHTINGS.strip()},
evidence AS (
    SELECT event_id, arg_min(evidence, published) AS text, arg_min(site, published) AS site
    FROM event_mentions GROUP BY event_id)
SELECT e.event_id, e.event_date, p.polecat_type, e.plover_mode, e.quad_class, e.source, e.target,
       e.location, e.location_country, e.latitude, e.longitude, ev.site, e.first_reported, s.story_id,
       ev.text, s.url, s.source_path, s.language
FROM events e
JOIN plover_types p ON p.type = e.plover
LEFT JOIN sightings s USING (event_id)
LEFT JOIN evidence ev USING (event_id)
WHERE p.polecat_type IS NOT NULL
ORDER BY e.event_date NULLS LAST, e.event_id
"""


def polecat_rows(connection: duckdb.DuckDBPyConnection) -> Iterator[list]:
    """Rows of the events view with POLECAT's event fields."""
    kinds = place_kinds()
    sectors = sector_codes(connection)
    result = connection.execute(_POLECAT_QUERY)
    while batch := result.fetchmany(1000):
        for (
            event_id,
            day,
            kind,
            mode,
            quad,
            source,
            target,
            location,
            country,
            lat,
            lon,
            site,
            published,
            story,
            text,
            url,
            path,
            language,
        ) in batch:
            actors = []
            for actor in (source, target):
                actor_sectors = _sectors(actor, sectors)
                country_code = (actor or {}).get("country") or ""
                actors += [
                    (actor or {}).get("name") or "",
                    country_code if len(country_code) == 3 else "",
                    actor_sectors[0] if actor_sectors else "",
                    ";".join(actor_sectors),
                    (actor or {}).get("text") or "",
                ]
            place_kind = geo_type(location, country, lat is not None, kinds)
            feature = POLECAT_FEATURES.get(place_kind, "") if place_kind is not None else ""
            yield (
                [event_id, day.isoformat() if day else "", kind, mode or "", quad, ""]
                + actors
                + [
                    location or "",
                    country or "",
                    "" if lat is None else round(lat, 4),
                    "" if lon is None else round(lon, 4),
                    feature,
                    site or "",
                    published.isoformat() if published else "",
                    language or "",
                    story or "",
                    text or "",
                    _source_url(url, path),
                ]
            )


def write_polecat(connection: duckdb.DuckDBPyConnection, out: TextIO, header: bool = True) -> int:
    writer = csv.writer(out, lineterminator="\n")
    return _write_rows(writer, POLECAT_COLUMNS if header else None, polecat_rows(connection))
