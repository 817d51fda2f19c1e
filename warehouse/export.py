"""Export of the events view in GDELT 2.0 event-table layout, so GDELT tooling can read the warehouse.

Column names and order follow the GDELT 2.0 Event codebook (61 tab-separated columns, no header
in GDELT's own files). Where eventlake has no value the column is empty. Two differences remain:
country codes are ISO 3166-1 alpha-3 (GDELT's geo columns use FIPS 10-4), and AvgTone is empty
(no tone is computed).
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

import duckdb

GDELT_ACTOR = ["Code", "Name", "CountryCode", "KnownGroupCode", "EthnicCode", "Religion1Code",
               "Religion2Code", "Type1Code", "Type2Code", "Type3Code"]
GDELT_GEO = ["Type", "FullName", "CountryCode", "ADM1Code", "ADM2Code", "Lat", "Long", "FeatureID"]
GDELT_COLUMNS = (
    ["GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "FractionDate"]
    + [f"Actor1{c}" for c in GDELT_ACTOR] + [f"Actor2{c}" for c in GDELT_ACTOR]
    + ["IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass", "GoldsteinScale",
       "NumMentions", "NumSources", "NumArticles", "AvgTone"]
    + [f"Actor1Geo_{c}" for c in GDELT_GEO] + [f"Actor2Geo_{c}" for c in GDELT_GEO]
    + [f"ActionGeo_{c}" for c in GDELT_GEO]
    + ["DATEADDED", "SOURCEURL"]
)

_QUERY = """
SELECT event_id, event_date, source, target, cameo, cameo_root, quad_class, goldstein,
       num_mentions, num_sources, num_articles, location, location_country, latitude, longitude,
       last_reported, source_url
FROM events
WHERE event_date IS NOT NULL
ORDER BY event_date, event_id
"""

# CAMEO sector codes GDELT reports as an actor's type codes.
_TYPES = ("GOV MIL REB OPP JUD COP LEG BUS MED CVL REF EDU HLH LAB ELI SPY CRM UAF REL AGR ENV IGO NGO "
          "INS SEP MOD RAD").split()


def _actor_columns(actor: dict | None) -> list:
    if not actor:
        return [""] * len(GDELT_ACTOR)
    code = actor.get("code") or ""
    country = actor.get("country") or ""
    rest = code[len(country):] if country and code.startswith(country) else code
    types = [rest[i:i + 3] for i in range(0, len(rest), 3) if rest[i:i + 3] in _TYPES][:3]
    known_group = code if code.startswith(("IGO", "NGO", "IMG")) else ""
    return ([code, (actor.get("name") or "").upper(), country if len(country) == 3 else "", known_group, "", "", ""]
            + types + [""] * (3 - len(types)))


def gdelt_rows(connection: duckdb.DuckDBPyConnection) -> Iterator[list]:
    """Rows of the events view as GDELT 2.0 event records."""
    result = connection.execute(_QUERY)
    while True:
        batch = result.fetchmany(1000)
        if not batch:
            return
        for (event_id, day, source, target, cameo, root, quad, goldstein, mentions, sources, articles,
             location, location_country, lat, lon, reported, url) in batch:
            fraction = round(day.year + (day.timetuple().tm_yday - 1) / 365, 4)
            geo = ["4" if location else "", location or "", location_country or "", "", "",
                   "" if lat is None else round(lat, 4), "" if lon is None else round(lon, 4), ""]
            no_geo = [""] * len(GDELT_GEO)
            yield ([int(event_id[:15], 16), day.strftime("%Y%m%d"), day.strftime("%Y%m"), day.year, fraction]
                   + _actor_columns(source) + _actor_columns(target)
                   + [1, cameo, cameo[:3], root, quad, round(goldstein, 1), mentions, sources, articles, ""]
                   + no_geo + no_geo + geo
                   + [reported.strftime("%Y%m%d000000") if reported else "", url or ""])


def write_gdelt(connection: duckdb.DuckDBPyConnection, out: TextIO, header: bool = False) -> int:
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\")
    if header:
        writer.writerow(GDELT_COLUMNS)
    count = 0
    for row in gdelt_rows(connection):
        writer.writerow(row)
        count += 1
    return count
