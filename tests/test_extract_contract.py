"""`eventlake extract`: the contract of ../shared/eval/README.md, and the extraction score on the dev split."""

from __future__ import annotations

import json
import subprocess
import sys


from support import run_cli, shared_path


def extract(stdin: str, *args: str) -> list[dict]:
    result = run_cli("extract", *args, stdin=stdin.encode("utf-8"))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_one_output_line_per_input_line_in_order_with_errors_in_place():
    lines = [
        {"id": "a", "text": "Kenya and Tanzania signed a trade agreement in Nairobi on Tuesday.", "date": "2024-03-07"},
        "this is not json",
        {"id": "c", "html": "<html><body><nav>Home</nav></body></html>", "url": "https://example.org/c"},
        {"id": 4, "text": "Police in Lima arrested dozens of protesters."},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    out = extract(stdin, "-")
    assert [r.get("id") for r in out] == ["a", None, "c", "4"]
    assert out[0]["published"] == "2024-03-07"
    assert out[0]["text"] == lines[0]["text"]
    assert set(out[0]) >= {"id", "title", "published", "text", "actors", "events"}
    assert out[1]["error"] == "stdin:2: read: malformed JSON line (Expecting value at column 1)"
    assert out[2]["error"].startswith("stdin:3 (id c): clean: no article text found in the HTML page")
    for record in (out[0], out[3]):
        for actor in record["actors"]:
            assert record["text"][actor["start"] : actor["end"]] == actor["text"]


def test_missing_input_file_is_a_clear_error(tmp_path):
    result = run_cli("extract", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert (
        result.stderr == f"error: {tmp_path / 'nope.jsonl'}: extract: no such file; pass a JSONL file or - for stdin\n"
    )


def _score(kind: str, gold, predictions: str, tmp_path) -> dict:
    out = tmp_path / "out.jsonl"
    out.write_text(predictions, encoding="utf-8")
    scorer = shared_path("eval", "score.py")
    result = subprocess.run([sys.executable, str(scorer), kind, str(gold), str(out)], capture_output=True, text=True)
    return json.loads(result.stdout)


def test_extraction_dev_split_scores_at_least_0_975(tmp_path):
    inputs = shared_path("eval", "extraction", "input.jsonl")
    result = run_cli("extract", str(inputs))
    assert result.returncode == 0, result.stderr
    score = _score("extraction", shared_path("eval", "extraction", "gold.jsonl"), result.stdout, tmp_path)
    assert score["errors"] == 0 and score["empty"] == 0
    assert score["f1"] >= 0.975, score
