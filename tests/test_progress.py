"""The ingest progress bar: a total where one is known, rate and ETA, and Prefect's log lines
printed above the bar rather than through it."""

from __future__ import annotations

import io
import logging

from rich.console import Console

from support import SAMPLES
from flows.ingest import _prefect_console_handlers, _Progress, count_documents
from warehouse.load import LoadCounts


def test_document_total_is_known_for_pages_and_unknown_with_jsonl(tmp_path):
    pages = sorted(p for p in SAMPLES.iterdir() if not p.name.startswith("."))
    assert count_documents([SAMPLES]) == len([p for p in pages if p.suffix in (".html", ".txt", ".htm", ".gz")])
    assert count_documents([SAMPLES / "001_kenya_tanzania_talks.txt", tmp_path / "missing.txt"]) == 2
    (tmp_path / "records.jsonl").write_text('{"id": 1, "text": "x"}\n')
    assert count_documents([tmp_path]) is None


def test_bar_shows_total_rate_and_eta_and_takes_over_prefect_console_lines():
    import prefect.logging  # noqa: F401  (sets up Prefect's handlers)
    from prefect.logging.configuration import setup_logging

    setup_logging()
    handlers = _prefect_console_handlers()
    assert handlers, "Prefect's console handler is configured"
    before = [h.console for h in handlers]
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160)
    progress = _Progress(logging.getLogger("test"), total=40, console=console)
    try:
        assert all(h.console is progress.bar.console for h in handlers)
        progress.update(1, 10, LoadCounts(loaded=9, rejected=1))
        progress.bar.refresh()
    finally:
        progress.close()
    assert [h.console for h in handlers] == before
    shown = screen.getvalue()
    assert "10/40" in shown and "docs/s" in shown and "ETA" in shown and "9 loaded, 1 rejected" in shown


def test_without_a_terminal_each_batch_is_a_log_line_with_the_time_left(caplog):
    progress = _Progress(logging.getLogger("eventlake-test"), total=100)
    with caplog.at_level(logging.INFO, logger="eventlake-test"):
        progress.update(2, 20, LoadCounts(loaded=20))
    progress.close()
    assert "20 of 100 documents read" in caplog.text and "s to go" in caplog.text
