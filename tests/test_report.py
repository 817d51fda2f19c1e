"""`eventlake report` on the sample corpus: sections that agree with the warehouse, filters, and the
page opened in headless Chromium with no console errors and no request leaving the file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from chromium import chromium_binary, on_ci, visit
from support import REPO, write_config
from warehouse.views import connect


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, prefect_server) -> tuple[Path, subprocess.CompletedProcess]:
    """`eventlake run --example` on the sample corpus, as `make run` does."""
    folder = tmp_path_factory.mktemp("report")
    config = write_config(folder / "eventlake.toml", ingest={"batch_size": 16})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "run",
            "--example",
            "--config",
            str(config),
            "--data",
            str(folder / "data"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "data", result


@pytest.fixture(scope="module")
def sample_warehouse(first_run) -> Path:
    return first_run[0]


def test_make_run_closes_with_coded_events_and_months_by_quad_class(first_run):
    data, result = first_run
    out = result.stdout
    assert "a few coded events:" in out and "events per month by QuadClass:" in out
    coded = out.split("a few coded events:")[1].split("events per month by QuadClass:")[0].strip().splitlines()
    assert coded[0].split() == ["date", "source", "event", "target", "evidence"]
    assert coded[-1] == "(8 rows)"
    monthly = out.split("events per month by QuadClass:")[1].strip().splitlines()
    assert monthly[0].split()[:3] == ["month", "verbal", "coop"] and monthly[0].split()[-1] == "events"
    months = [line.split() for line in monthly[2:] if line[:4].isdigit()]
    assert sum(int(m[-1]) for m in months) == count(data, "SELECT count(*) FROM events WHERE event_date IS NOT NULL")
    assert all(int(m[1]) + int(m[2]) + int(m[3]) + int(m[4]) == int(m[5]) for m in months)
    assert "articles" not in monthly[0]  # no longer articles per month


def report(data: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "report", "--data", str(data), "--out", str(out), *options],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def count(data: Path, sql: str) -> int:
    return connect(data).execute(sql).fetchone()[0]


def test_report_is_one_self_contained_file(sample_warehouse, tmp_path):
    out = tmp_path / "report.html"
    result = report(sample_warehouse, out)
    assert result.returncode == 0, result.stderr
    events = count(sample_warehouse, "SELECT count(*) FROM events WHERE event_date IS NOT NULL")
    assert events > 50
    assert f"wrote a report of {events} events" in result.stderr
    page = out.read_text(encoding="utf-8")
    # Nothing loaded from elsewhere: no script or stylesheet by address, plotly.js inlined.
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", page)
    assert "Plotly.newPlot" in page and len(page) > 1_000_000
    for title in (
        "Events per month by QuadClass",
        "Top dyads",
        "Actor network",
        "Geolocated events",
        "Top events",
        "Run history",
    ):
        assert title in page


def test_report_filters_by_dates_and_country(sample_warehouse, tmp_path):
    out = tmp_path / "ukraine.html"
    result = report(sample_warehouse, out, "--country", "ukr", "--since", "2023-01-01", "--until", "2024-12-31")
    assert result.returncode == 0, result.stderr
    expected = count(
        sample_warehouse,
        """SELECT count(*) FROM events WHERE event_date BETWEEN '2023-01-01'
        AND '2024-12-31' AND 'UKR' IN (source.country, target.country, location_country)""",
    )
    assert 0 < expected < count(sample_warehouse, "SELECT count(*) FROM events")
    assert f"wrote a report of {expected} events" in result.stderr
    assert "country UKR" in out.read_text(encoding="utf-8")

    bad = report(sample_warehouse, tmp_path / "bad.html", "--country", "XYZ")
    assert bad.returncode == 2 and "XYZ: report: not an ISO 3166-1 alpha-3 country code" in bad.stderr
    assert not (tmp_path / "bad.html").exists()


def test_report_renders_in_headless_chromium_without_errors_or_requests(sample_warehouse, tmp_path):
    if chromium_binary() is None:
        if on_ci():
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    out = tmp_path / "report.html"
    assert report(sample_warehouse, out).returncode == 0
    screenshot = tmp_path / "report.png"
    seen = visit(
        out,
        screenshot,
        {
            "plots": "document.querySelectorAll('.js-plotly-plot .main-svg').length",
            "monthly_total": "document.getElementById('figure-0').data.reduce((n, t) => n + t.y.reduce((a, b) => a + b, 0), 0)",
            "map_points": "document.getElementById('figure-3').data[1].x.length",
            "top_event_rows": "document.querySelectorAll('section:nth-of-type(5) tbody tr').length",
            "run_rows": "document.querySelectorAll('section:nth-of-type(6) tbody tr').length",
            "links": "[...document.querySelectorAll('section:nth-of-type(5) a')].map(a => a.href)",
        },
    )
    assert seen.console_errors == []
    assert seen.external_requests == [] and seen.requests == [out.resolve().as_uri()]
    assert seen.values["plots"] >= 4  # each figure drew its SVG
    data = sample_warehouse
    assert seen.values["monthly_total"] == count(data, "SELECT count(*) FROM events WHERE event_date IS NOT NULL")
    assert seen.values["map_points"] == count(
        data,
        """SELECT count(*) FROM (SELECT DISTINCT location,
        round(latitude, 3), round(longitude, 3) FROM events WHERE latitude IS NOT NULL AND event_date IS NOT NULL)""",
    )
    assert seen.values["top_event_rows"] == 25
    assert seen.values["run_rows"] == count(data, "SELECT count(*) FROM runs") >= 1
    # Source links: the page's canonical URL, else the file it was read from.
    assert seen.values["links"] and all(link.startswith(("https://", "file:///")) for link in seen.values["links"])
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000
