"""Golden event-coding tests: hand-written news sentences with the events they should yield.

Each line of golden/events.jsonl is {"id", "text", "date", "events": [...]} with optional
"event_date" (the resolved date of a relative expression) and "negated_root" (for negation records).
An expected event is {"root", "plover", "source", "target"}: a CAMEO root ("01".."20"), a PLOVER type
(null for roots 01/02), and the ISO3 country (or code prefix such as "IGO") of each actor; a null
target is not checked. Every record is run through `eventlake extract` in one subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "events.jsonl"
RECORDS = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def predictions() -> dict[str, dict]:
    """Extractor output for every golden record, by id (one `extract -` run for the whole module)."""
    stdin = "".join(json.dumps({"id": r["id"], "text": r["text"], "date": r["date"]}) + "\n" for r in RECORDS)
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "extract", "-"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [o.get("id") for o in out] == [r["id"] for r in RECORDS]
    return {o["id"]: o for o in out}


def _actor_matches(expected: str, actor: dict | None) -> bool:
    """The ISO3 country of the actor, or the first letters of its code ("IGO" for IGOUNO, IGOEUREEC...)."""
    if actor is None:
        return False
    code = actor.get("code") or ""
    return expected == actor.get("country") or code[:3] == expected or (expected == "IGO" and code.startswith("IGO"))


def _event_matches(expected: dict, pred: dict, event_date: str | None) -> bool:
    if (pred.get("cameo") or "")[:2] != expected["root"]:
        return False
    if expected.get("plover") is not None and pred.get("plover") != expected["plover"]:
        return False
    if not _actor_matches(expected["source"], pred.get("source")):
        return False
    if expected.get("target") is not None and not _actor_matches(expected["target"], pred.get("target")):
        return False
    if event_date is not None and pred.get("date") != event_date:
        return False
    return True


def _summary(pred: dict) -> str:
    source, target = pred.get("source") or {}, pred.get("target") or {}
    return (
        f"{pred.get('cameo')} {pred.get('plover')} {source.get('code')}({source.get('country')})"
        f" -> {target.get('code') if target else None}({target.get('country') if target else None})"
        f" date={pred.get('date')}"
    )


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_golden_record(record: dict, predictions: dict[str, dict]) -> None:
    out = predictions[record["id"]]
    assert "error" not in out, out.get("error")
    predicted = out["events"]
    shown = "\n  ".join(_summary(p) for p in predicted) or "(none)"
    context = f"{record['text']!r}\npredicted:\n  {shown}"
    if record.get("negated_root"):
        wrong = [p for p in predicted if (p.get("cameo") or "")[:2] == record["negated_root"]]
        assert not wrong, f"negated root {record['negated_root']} was coded in {context}"
    elif not record["events"]:
        wrong = [p for p in predicted if p.get("plover")]
        assert not wrong, f"expected no event with a PLOVER type in {context}"
    for expected in record["events"]:
        assert any(_event_matches(expected, p, record.get("event_date")) for p in predicted), (
            f"expected {expected}"
            + (f" on {record['event_date']}" if record.get("event_date") else "")
            + f" in {context}"
        )
