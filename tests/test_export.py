"""GDELT 2.0 and POLECAT exports of a small hand-written warehouse, read back by their published
column names."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, datetime, timezone

import pytest

from support import REPO
from transforms.clean import content_hash
from transforms.records import ActorRef, Article, BatchOutput, EventMention
from warehouse.load import load_batch
from warehouse.store import Warehouse

# GDELT 2.0 Event Codebook, in file order (the files have no header row).
GDELT2_NAMES = """GLOBALEVENTID SQLDATE MonthYear Year FractionDate Actor1Code Actor1Name Actor1CountryCode
Actor1KnownGroupCode Actor1EthnicCode Actor1Religion1Code Actor1Religion2Code Actor1Type1Code Actor1Type2Code
Actor1Type3Code Actor2Code Actor2Name Actor2CountryCode Actor2KnownGroupCode Actor2EthnicCode Actor2Religion1Code
Actor2Religion2Code Actor2Type1Code Actor2Type2Code Actor2Type3Code IsRootEvent EventCode EventBaseCode
EventRootCode QuadClass GoldsteinScale NumMentions NumSources NumArticles AvgTone Actor1Geo_Type
Actor1Geo_FullName Actor1Geo_CountryCode Actor1Geo_ADM1Code Actor1Geo_ADM2Code Actor1Geo_Lat Actor1Geo_Long
Actor1Geo_FeatureID Actor2Geo_Type Actor2Geo_FullName Actor2Geo_CountryCode Actor2Geo_ADM1Code Actor2Geo_ADM2Code
Actor2Geo_Lat Actor2Geo_Long Actor2Geo_FeatureID ActionGeo_Type ActionGeo_FullName ActionGeo_CountryCode
ActionGeo_ADM1Code ActionGeo_ADM2Code ActionGeo_Lat ActionGeo_Long ActionGeo_FeatureID DATEADDED SOURCEURL""".split()

WAR = (
    "Russian troops shelled Kharkiv on Monday, killing civilians in a brutal and deadly attack.\n"
    "Ukraine's foreign ministry condemned the attack as a war crime."
)
VISIT = "The US president visited Chicago on Tuesday and praised the wonderful, friendly welcome."
RUSMIL = ActorRef("Russia", "RUSMIL", "RUS", "Russian troops", "agent:RUSMIL")
UKR = ActorRef("Ukraine", "UKR", "UKR", "Kharkiv", "country:UKR")
UKRGOV = ActorRef("Ukraine", "UKRGOV", "UKR", "Ukraine's foreign ministry", "agent:UKRGOV")
RUS = ActorRef("Russia", "RUS", "RUS", "the attack", "country:RUS")
USAGOV = ActorRef("Joe Biden", "USAGOV", "USA", "The US president", "person:Joe Biden")
WAR_START_2 = WAR.index("Ukraine's")


def event(
    article: str,
    start: int,
    text: str,
    source,
    target,
    cameo,
    plover,
    quad,
    goldstein,
    day,
    location=None,
    country=None,
    lat=None,
    lon=None,
) -> EventMention:
    return EventMention(
        article_id=article,
        sentence=0 if start == 0 else 1,
        start=start,
        end=start + len(text),
        source=source,
        target=target,
        cameo=cameo,
        plover=plover,
        quad_class=quad,
        goldstein=goldstein,
        date=day,
        location=location,
        location_country=country,
        latitude=lat,
        longitude=lon,
        evidence=text,
        confidence=0.9,
        trigger="x",
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    articles = [
        Article(
            article_id="war",
            input="war.html",
            text=WAR,
            content_hash=content_hash(WAR),
            language="en",
            url="https://news.example/kharkiv",
            site="news.example",
            published=date(2024, 4, 16),
        ),
        Article(
            article_id="visit",
            input=str(folder / "pages" / "visit.txt"),
            text=VISIT,
            content_hash=content_hash(VISIT),
            language="en",
            published=date(2024, 4, 17),
        ),
    ]
    day = date(2024, 4, 15)
    events = [
        event(
            "war",
            0,
            WAR.splitlines()[0],
            RUSMIL,
            UKR,
            "194",
            "ASSAULT",
            4,
            -10.0,
            day,
            "Kharkiv",
            "UKR",
            49.98177,
            36.25475,
        ),
        event("war", WAR_START_2, WAR.splitlines()[1], UKRGOV, RUS, "111", "DISAPPROVE", 3, -2.0, day),
        event(
            "visit",
            0,
            VISIT,
            USAGOV,
            None,
            "042",
            "CONSULT",
            1,
            1.9,
            date(2024, 4, 16),
            "Chicago",
            "USA",
            41.85003,
            -87.65005,
        ),
        event("visit", 0, VISIT, USAGOV, None, "010", None, 1, 0.0, date(2024, 4, 16)),
    ]
    load_batch(
        Warehouse(folder),
        BatchOutput(articles=articles, event_mentions=events),
        "run1",
        datetime(2024, 5, 1, tzinfo=timezone.utc),
    )
    return folder


def export(data, *options: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "export", "--data", str(data), *options],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout


def test_gdelt_export_reads_with_gdelt_2_column_names(data):
    reader = csv.DictReader(
        io.StringIO(export(data, "--format", "gdelt")),
        fieldnames=GDELT2_NAMES,
        delimiter="\t",
        quoting=csv.QUOTE_NONE,
        restkey="EXTRA",
    )
    rows = {r["EventCode"]: r for r in reader}
    assert set(rows) == {"194", "111", "042", "010"} and all("EXTRA" not in r for r in rows.values())
    shelling, condemnation, visit = rows["194"], rows["111"], rows["042"]

    # The event of the lead paragraph is the root event; the second paragraph's is not.
    assert (shelling["IsRootEvent"], condemnation["IsRootEvent"], visit["IsRootEvent"]) == ("1", "0", "1")
    # A world city, with FIPS country codes (Ukraine is UP in FIPS, UA in ISO alpha-2).
    assert (shelling["ActionGeo_Type"], shelling["ActionGeo_FullName"], shelling["ActionGeo_CountryCode"]) == (
        "4",
        "Kharkiv, Ukraine",
        "UP",
    )
    assert (float(shelling["ActionGeo_Lat"]), float(shelling["ActionGeo_Long"])) == (49.9818, 36.2548)
    # The Russian actor has no place named: its country; the target acts where the event happens.
    assert (shelling["Actor1Geo_Type"], shelling["Actor1Geo_FullName"], shelling["Actor1Geo_CountryCode"]) == (
        "1",
        "Russia",
        "RS",
    )
    assert (shelling["Actor2Geo_Type"], shelling["Actor2Geo_CountryCode"]) == ("4", "UP")
    # No place in the sentence: no ActionGeo, actors at country level.
    assert condemnation["ActionGeo_Type"] == "" and condemnation["Actor1Geo_CountryCode"] == "UP"
    assert condemnation["Actor1Geo_ADM1Code"] == "UP" and condemnation["Actor2Geo_FullName"] == "Russia"
    # A US city is geo type 3.
    assert (visit["ActionGeo_Type"], visit["ActionGeo_CountryCode"], visit["Actor1Geo_Type"]) == ("3", "US", "3")
    assert visit["Actor2Geo_Type"] == "" and visit["Actor2Code"] == ""
    # Tone from the VADER lexicon: the shelling report is negative, the friendly visit positive.
    assert float(shelling["AvgTone"]) < -5 < 5 < float(visit["AvgTone"])
    assert shelling["AvgTone"] == condemnation["AvgTone"]  # both from the same article
    # SOURCEURL: the article's URL, else the file it was read from.
    assert shelling["SOURCEURL"] == "https://news.example/kharkiv"
    assert visit["SOURCEURL"] == (data / "pages" / "visit.txt").as_uri()
    assert (shelling["Actor1Code"], shelling["Actor1CountryCode"], shelling["Actor1Type1Code"]) == (
        "RUSMIL",
        "RUS",
        "MIL",
    )
    assert (shelling["SQLDATE"], shelling["QuadClass"], shelling["GoldsteinScale"]) == ("20240415", "4", "-10.0")


def test_polecat_export_has_plover_fields(data):
    rows = list(csv.DictReader(io.StringIO(export(data, "--format", "polecat"))))
    by_type = {r["Event Type"]: r for r in rows}
    # CAMEO 010 (a statement) has no PLOVER type; DISAPPROVE is ACCUSE in POLECAT's PLOVER.
    assert set(by_type) == {"ASSAULT", "ACCUSE", "CONSULT"}
    assault, accuse, consult = by_type["ASSAULT"], by_type["ACCUSE"], by_type["CONSULT"]
    assert (assault["Event Mode"], assault["Quad Code"], assault["Event Date"]) == ("artillery", "4", "2024-04-15")
    assert (assault["Actor Name"], assault["Actor Country"], assault["Primary Actor Sector"]) == (
        "Russia",
        "RUS",
        "MIL",
    )
    assert (assault["Recipient Name"], assault["Recipient Country"], assault["Recipient Name Raw"]) == (
        "Ukraine",
        "UKR",
        "Kharkiv",
    )
    assert (assault["Placename"], assault["Country"], assault["Feature Type"]) == ("Kharkiv", "UKR", "city")
    assert (assault["Story ID"], assault["Source"], assault["Publication Date"]) == (
        "war",
        "news.example",
        "2024-04-16",
    )
    assert accuse["Event Mode"] == "" and accuse["Placename"] == "" and accuse["Primary Actor Sector"] == "GOV"
    assert consult["Event Mode"] == "visit" and consult["Source URL"].startswith("file:///")
    assert consult["Language"] == "en" and consult["Event Text"] == VISIT
