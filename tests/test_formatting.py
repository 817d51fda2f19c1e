"""`eventlake sql` output: table cells cut with a marker, dates as dates, floats rounded, structs as
JSON in CSV; and the first look `eventlake run --example` prints."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone

from transforms.clean import content_hash
from transforms.records import ActorRef, Article, BatchOutput, EventMention
from warehouse.load import load_batch
from warehouse.store import Warehouse
from warehouse.views import MAX_CELL_WIDTH, _display_width, format_rows, run_query


def test_table_rounds_floats_and_shows_dates_and_structs_readably():
    columns = ["goldstein", "day", "at", "actor", "n"]
    rows = [
        (
            3.4000000953674316,
            date(2024, 4, 14),
            datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc),
            {"name": "Russia", "since": date(2024, 1, 2), "score": 0.4000000059604645},
            7,
        ),
        (-10.0, None, None, None, 12),
    ]
    lines = format_rows(columns, rows, "table").splitlines()
    assert lines[0].split() == columns
    first, second = lines[2], lines[3]
    assert "3.4 " in first and "3.4000000953674316" not in first
    assert "2024-04-14" in first and "2024-05-01 12:30:00 UTC" in first
    assert '{"name": "Russia", "since": "2024-01-02", "score": 0.4}' in first
    assert "datetime" not in first and second.split()[0] == "-10"
    # Numbers are right-aligned: the 7 ends where the 12 ends.
    assert first.index("7") == second.index("12") + 1
    assert lines[-1] == "(2 rows)"


def test_table_cuts_long_and_wide_cells_with_a_marker():
    long = "word " * 30
    wide = "北京" * 40
    lines = format_rows(["text", "wide"], [(long, wide), ("short", "x")], "table").splitlines()
    cells = lines[2].split("  ")
    assert cells[0].endswith("…") and _display_width(cells[0]) == MAX_CELL_WIDTH
    assert cells[-1].endswith("…") and _display_width(cells[-1]) <= MAX_CELL_WIDTH
    # A cell that fits is never cut.
    assert lines[3].startswith("short ") and "…" not in lines[3]


def test_csv_writes_structs_and_lists_as_json():
    rows = [({"role": "president", "since": date(2024, 1, 2)}, [1, 2], None, date(2024, 3, 4))]
    out = list(csv.reader(io.StringIO(format_rows(["s", "l", "n", "d"], rows, "csv"))))
    assert out[0] == ["s", "l", "n", "d"]
    assert json.loads(out[1][0]) == {"role": "president", "since": "2024-01-02"}
    assert json.loads(out[1][1]) == [1, 2] and out[1][2] == "" and out[1][3] == "2024-03-04"


def test_first_look_shows_coded_events_and_months_by_quad_class(tmp_path):
    from warehouse.report import FIRST_LOOK

    text = "Russian troops shelled Kharkiv on Monday.\nUkraine condemned the attack."
    article = Article(
        article_id="a",
        input="a.txt",
        text=text,
        content_hash=content_hash(text),
        language="en",
        published=date(2024, 4, 16),
    )
    rus, ukr = ActorRef("Russia", "RUSMIL", "RUS", "Russian troops"), ActorRef("Ukraine", "UKR", "UKR", "Ukraine")
    events = [
        EventMention(
            "a",
            0,
            0,
            41,
            rus,
            ukr,
            "194",
            "ASSAULT",
            4,
            -10.0,
            date(2024, 4, 15),
            None,
            None,
            None,
            None,
            text.splitlines()[0],
            0.9,
            "shelled",
        ),
        EventMention(
            "a",
            1,
            42,
            71,
            ukr,
            rus,
            "111",
            "DISAPPROVE",
            3,
            -2.0,
            date(2024, 3, 15),
            None,
            None,
            None,
            None,
            text.splitlines()[1],
            0.9,
            "condemned",
        ),
    ]
    load_batch(
        Warehouse(tmp_path),
        BatchOutput(articles=[article], event_mentions=events),
        "r",
        datetime(2024, 5, 1, tzinfo=timezone.utc),
    )
    (_, coded), (_, monthly) = FIRST_LOOK
    columns, rows = run_query(tmp_path, coded)
    assert columns == ["date", "source", "event", "target", "evidence"]
    assert (
        date(2024, 4, 15),
        "Russia",
        "Fight with artillery and tanks",
        "Ukraine",
        "Russian troops shelled Kharkiv on Monday.",
    ) in rows
    columns, rows = run_query(tmp_path, monthly)
    assert columns[0] == "month" and columns[-1] == "events"
    assert rows == [("2024-03", 0, 0, 1, 0, 1), ("2024-04", 0, 0, 0, 1, 1)]


def test_run_summary_says_how_many_were_skipped_and_where_to_see_why(capsys):
    from flows.cli import _skipped_note

    _skipped_note({"skipped": 2})
    err = capsys.readouterr().err
    assert err.startswith("note: 2 article(s) stored but skipped") and "skipped_reason" in err
    _skipped_note({"skipped": 0})
    assert capsys.readouterr().err == ""
