"""The evaluation gate (as trafilatura's): the dev-split scores may rise, never fall silently.

Scores `eventlake extract` output with ../shared/eval/score.py against the pins in
quality_baseline.json; skips when ../shared is absent (a user's clone has none).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


from support import shared_path

BASELINE = json.loads((Path(__file__).parent / "quality_baseline.json").read_text(encoding="utf-8"))
TOLERANCE = 0.005


def _scored(kind: str, gold: Path, inputs: Path, tmp_path: Path) -> dict:
    from flows.extract_command import extract_lines
    from flows.settings import load_settings

    settings = load_settings()
    out = tmp_path / f"{kind}.jsonl"
    with open(inputs, "rb") as handle, open(out, "w", encoding="utf-8") as sink:
        for record in extract_lines(handle, settings, str(inputs)):
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    result = subprocess.run(
        [sys.executable, str(shared_path("eval", "score.py")), kind, str(gold), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _gate(name: str, value: float) -> None:
    pinned = BASELINE[name]
    assert value >= pinned - TOLERANCE, f"{name} fell to {value} (pinned {pinned})"


def test_real_news_audit_does_not_fall(tmp_path):
    gold = shared_path("eval", "events", "realnews-dev.jsonl")
    score = _scored("audit", gold, gold, tmp_path)
    _gate("audit_precision", score["precision"])
    _gate("audit_recall", score["recall"])


def test_plover_gold_does_not_fall(tmp_path):
    gold = shared_path("eval", "events", "plover-gsr.jsonl")
    score = _scored("events", gold, gold, tmp_path)
    _gate("plover_type_recall", score["type_recall"])
    _gate("plover_precision", score["precision"])


def test_extraction_does_not_fall(tmp_path):
    score = _scored(
        "extraction",
        shared_path("eval", "extraction", "gold.jsonl"),
        shared_path("eval", "extraction", "input.jsonl"),
        tmp_path,
    )
    _gate("extraction_f1", score["f1"])
