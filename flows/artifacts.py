"""Each flow run's summary as a Prefect artifact, so the Prefect UI shows what the run did:
its counts, and the events of the articles it wrote, most reported first."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.settings import Settings

TOP_EVENTS = 10

_RUN_EVENTS = f"""
SELECT e.event_date, e.source.name, e.cameo, e.cameo_name, e.target.name, e.num_mentions
FROM events e
WHERE e.event_id IN (SELECT m.event_id FROM event_mentions m JOIN articles a USING (article_id)
                     WHERE a.run_id = ?)
ORDER BY e.num_mentions DESC, abs(e.goldstein) DESC, e.event_date DESC, e.event_id
LIMIT {TOP_EVENTS}
"""


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def summary_markdown(flow: str, run_id: str, counts: dict, events: list[tuple]) -> str:
    lines = [f"# {flow} run {run_id}", "", "| count | value |", "| --- | --- |"]
    lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in counts.items()]
    lines += ["", f"## Top events of this run ({len(events)} shown)", ""]
    if events:
        lines += ["| date | source | CAMEO | event | target | mentions |", "| --- | --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in events]
    else:
        lines.append("No events were written by this run.")
    return "\n".join(lines) + "\n"


def publish_run_summary(
    flow: str, run_id: str, counts: dict, settings: Settings, logger: logging.Logger | logging.LoggerAdapter
) -> None:
    """Create the run's summary artifact (key `<flow>-summary`); a failure only warns."""
    from prefect.artifacts import create_markdown_artifact
    from warehouse.views import connect

    try:
        w = settings.warehouse
        connection = connect(
            w.location, storage_options=w.storage_options, min_confidence=settings.events.min_confidence
        )
        try:
            events = connection.execute(_RUN_EVENTS, [run_id]).fetchall()
        finally:
            connection.close()
        create_markdown_artifact(
            summary_markdown(flow, run_id, counts, events),
            key=f"{flow}-summary",
            description=f"counts and top events of {flow} run {run_id}",
        )
    except Exception as exc:  # the run's data is committed: a missing artifact must not fail it
        logger.warning("%s %s: the summary artifact could not be published (%s)", flow, run_id, exc)
