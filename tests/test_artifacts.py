"""Every flow run publishes its summary (counts and top events) as a Prefect artifact."""

from __future__ import annotations

import shutil
from uuid import UUID

import pytest

from support import SAMPLES, write_config
from flows.artifacts import summary_markdown

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_summary_markdown_tables():
    text = summary_markdown(
        "ingest",
        "r1",
        {"read": 3, "loaded": 2},
        [("2024-04-15", "Russia", "194", "Fight with artillery | tanks", None, 2)],
    )
    assert "| read | 3 |" in text and "| loaded | 2 |" in text
    assert "| 2024-04-15 | Russia | 194 | Fight with artillery \\| tanks |  | 2 |" in text
    assert "No events were written" in summary_markdown("ingest", "r1", {}, [])


def test_ingest_run_publishes_its_summary_artifact(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from flows.ingest import run_ingest

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("005_us_treasury_sanctions_iran.txt", "024_saudi_iran_restore_ties.txt"):
        shutil.copy(SAMPLES / name, inputs / name)
    config = write_config(tmp_path / "eventlake.toml")
    summary = run_ingest([str(inputs)], str(config), str(tmp_path / "data"))
    assert summary["loaded"] == 2
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(summary["run_id"])]))
        )
    assert [a.key for a in artifacts] == ["ingest-summary"]
    text = artifacts[0].data
    assert "| loaded | 2 |" in text and "| rejected | 0 |" in text
    # The top events are this run's: Saudi Arabia and Iran agreeing to restore ties is among them.
    assert "Saudi Arabia" in text and "Iran" in text and "No events were written" not in text
