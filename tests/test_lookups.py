"""Codebook lookup views built from config/dictionaries, and the names they add to `events`."""

from __future__ import annotations

from datetime import date, datetime, timezone

from transforms.clean import content_hash
from transforms.records import ActorRef, Article, BatchOutput, EventMention
from warehouse.load import load_batch
from warehouse.store import Warehouse
from warehouse.views import connect, run_query

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def one(data_dir, sql: str) -> tuple:
    rows = connect(data_dir).execute(sql).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def test_cameo_codes_carry_root_quad_label_goldstein_plover_and_mode(tmp_path):
    assert one(tmp_path, "SELECT * FROM cameo_codes WHERE code = '1831'") == (
        "1831",
        "Carry out suicide bombing",
        "18",
        "Assault",
        4,
        "Material Conflict",
        -10.0,
        "ASSAULT",
        "suicide_bombing",
    )
    # A code without a mode of its own takes its parent's; a statement has no PLOVER type.
    assert one(tmp_path, "SELECT plover_mode FROM cameo_codes WHERE code = '1823'") == ("physical_assault",)
    assert one(tmp_path, "SELECT plover_type, quad_label FROM cameo_codes WHERE code = '010'") == (
        None,
        "Verbal Cooperation",
    )
    assert one(tmp_path, "SELECT count(*), count(DISTINCT code) FROM cameo_codes")[0] > 250


def test_countries_sectors_and_plover_types(tmp_path):
    assert one(tmp_path, "SELECT name, fips, region FROM countries WHERE iso3 = 'DEU'") == ("Germany", "GM", "Europe")
    # FIPS differs from ISO alpha-2 for many countries: GDELT's geo columns need it.
    assert one(tmp_path, "SELECT iso2, fips FROM countries WHERE iso3 = 'NAM'") == ("NA", "WA")
    assert one(tmp_path, "SELECT name FROM sectors WHERE code = 'MIL'") == ("Military",)
    assert one(tmp_path, "SELECT quad_class, polecat_type FROM plover_types WHERE type = 'DEMAND'") == (3, "REQUEST")
    # Every PLOVER type used by cameo.tsv is described in plover_types.
    assert (
        connect(tmp_path)
        .execute(
            "SELECT DISTINCT plover_type FROM cameo_codes WHERE plover_type IS NOT NULL "
            "AND plover_type NOT IN (SELECT type FROM plover_types)"
        )
        .fetchall()
        == []
    )
    # Every sector an actor code can carry (the dictionaries' sectors) has a name.
    from flows.resources import load_dictionaries
    from flows.settings import load_settings

    sectors = load_dictionaries(load_settings().dictionaries.dir).sectors
    named = {r[0] for r in connect(tmp_path).execute("SELECT code FROM sectors").fetchall()}
    assert sectors and sectors == named


def test_events_view_gains_the_names(tmp_path, monkeypatch):
    text = "Russian troops shelled Kharkiv on Monday, Ukraine's army said."
    article = Article(
        article_id="a1",
        input="a1.txt",
        text=text,
        content_hash=content_hash(text),
        language="en",
        published=date(2024, 4, 15),
    )
    event = EventMention(
        article_id="a1",
        sentence=0,
        start=0,
        end=len(text),
        source=ActorRef("Russia", "RUSMIL", "RUS", "Russian troops"),
        target=ActorRef("Ukraine", "UKR", "UKR", "Kharkiv"),
        cameo="194",
        plover="ASSAULT",
        quad_class=4,
        goldstein=-10.0,
        date=date(2024, 4, 15),
        location="Kharkiv",
        location_country="UKR",
        latitude=49.98,
        longitude=36.25,
        evidence=text,
        confidence=0.9,
        trigger="shelled",
    )
    load_batch(Warehouse(tmp_path), BatchOutput(articles=[article], event_mentions=[event]), "run1", NOW)
    columns, rows = run_query(
        tmp_path,
        "SELECT cameo_name, cameo_root_name, quad_label, plover_mode, "
        "location_country_name, source_country_name, target_country_name FROM events",
    )
    assert rows == [
        ("Fight with artillery and tanks", "Fight", "Material Conflict", "artillery", "Ukraine", "Russia", "Ukraine")
    ]
    # The duckdb CLI script defines the same views (its paths are relative to the data directory).
    from warehouse.views import write_views_script

    script = write_views_script(Warehouse(tmp_path)).read_text()
    monkeypatch.chdir(tmp_path)
    import duckdb

    cli = duckdb.connect(":memory:")
    cli.execute(script)
    assert cli.execute("SELECT cameo_name FROM events").fetchall() == [("Fight with artillery and tanks",)]
