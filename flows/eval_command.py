"""`eventlake eval`: run extraction over a gold file and score it, for users validating the coder
on their own annotated data. The definitions match ../shared/eval/README.md:

- events: a gold event is found when a predicted event of the sentence has its PLOVER type (or,
  for CAMEO gold, its root); source/target accuracy count, among found events, those whose
  predicted source/target country (or code prefix) is one of the gold codes; precision is the
  share of predicted typed events whose type is among the sentence's gold types.
- extraction: word 4-gram shingle precision and recall of the cleaned text, averaged per document.
- actors: share of gold mentions contained in (or containing) a predicted actor's text.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

from flows.extract_command import extract_lines
from flows.settings import Settings
from transforms.errors import InputError

# Codes some gold sets use for countries, and older PLOVER type names.
CODE_ALIASES = {"JAP": "JPN", "ITL": "ITA", "VTN": "VNM"}
TYPE_ALIASES = {"FIGHT": "ASSAULT", "ACCUSE": "DISAPPROVE", "REQUEST": "DEMAND"}
_WORD = re.compile(r"\w+", re.UNICODE)


def _type(event: dict, by_plover: bool) -> str | None:
    if by_plover:
        value = (event.get("plover") or "").strip().upper()
        return TYPE_ALIASES.get(value, value) or None
    return str(event.get("cameo") or "")[:2] or None


def _codes_of(actor: dict | str | None) -> set[str]:
    if not actor:
        return set()
    if isinstance(actor, str):
        actor = {"code": actor}
    found = set()
    for key in ("country", "code"):
        value = (actor.get(key) or "").strip().upper()
        if value:
            found |= {value, value[:3]}
    return found


def _matches(actor: dict | str | None, gold_codes: list[str]) -> bool:
    codes = _codes_of(actor)
    for gold in gold_codes:
        gold = CODE_ALIASES.get(gold.upper(), gold.upper())
        if gold in codes or any(c.startswith(gold) for c in codes):
            return True
    return False


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def score_events(gold: list[dict], predicted: dict[str, dict]) -> dict:
    found = total = source_n = source_ok = target_n = target_ok = full = typed = typed_ok = 0
    # Per event type (a CAMEO root or PLOVER type; None for a gold event without one).
    per_gold: Counter[str | None] = Counter()
    per_hit: Counter[str | None] = Counter()
    per_pred: Counter[str | None] = Counter()
    per_pred_ok: Counter[str | None] = Counter()
    for record in gold:
        gold_events = record.get("events") or []
        by_plover = record.get("scheme") == "plover" or any(e.get("plover") for e in gold_events)
        pred_events = [e for e in (predicted.get(str(record["id"]), {}).get("events") or []) if isinstance(e, dict)]
        gold_types = {_type(e, by_plover) for e in gold_events}
        for event in pred_events:
            kind = _type(event, by_plover)
            if kind:
                typed += 1
                per_pred[kind] += 1
                if kind in gold_types:
                    typed_ok += 1
                    per_pred_ok[kind] += 1
        for event in gold_events:
            kind = _type(event, by_plover)
            total += 1
            per_gold[kind] += 1
            same = [e for e in pred_events if _type(e, by_plover) == kind]
            if not same:
                continue
            found += 1
            per_hit[kind] += 1
            sources, targets = event.get("source") or [], event.get("target") or []
            s_ok = not sources or any(_matches(e.get("source"), sources) for e in same)
            t_ok = not targets or any(_matches(e.get("target"), targets) for e in same)
            source_n += bool(sources)
            source_ok += bool(sources) and s_ok
            target_n += bool(targets)
            target_ok += bool(targets) and t_ok
            full += any(
                (not sources or _matches(e.get("source"), sources))
                and (not targets or _matches(e.get("target"), targets))
                for e in same
            )
    kinds = sorted(set(per_gold) | set(per_pred), key=str)
    return {
        "records": len(gold),
        "gold_events": total,
        "predicted_events": typed,
        "type_recall": _ratio(found, total),
        "source_accuracy": _ratio(source_ok, source_n),
        "target_accuracy": _ratio(target_ok, target_n),
        "full_recall": _ratio(full, total),
        "precision": _ratio(typed_ok, typed),
        "per_type": {
            k: {
                "gold": per_gold[k],
                "predicted": per_pred[k],
                "recall": _ratio(per_hit[k], per_gold[k]),
                "precision": _ratio(per_pred_ok[k], per_pred[k]),
            }
            for k in kinds
        },
    }


def _shingles(text: str | None, n: int = 4) -> Counter:
    words = _WORD.findall((text or "").lower())
    if len(words) < n:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def score_extraction(gold: list[dict], predicted: dict[str, dict]) -> dict:
    precisions, recalls = [], []
    for record in gold:
        expected, got = _shingles(record.get("text")), _shingles(predicted.get(str(record["id"]), {}).get("text"))
        overlap = sum((expected & got).values())
        precisions.append(overlap / sum(got.values()) if got else float(not expected))
        recalls.append(overlap / sum(expected.values()) if expected else 1.0)
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return {
        "documents": len(gold),
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
    }


def _mention_key(text: str) -> str:
    return " ".join(_WORD.findall((text or "").lower().replace("'s", "").replace("’s", "")))


def score_actors(gold: list[dict], predicted: dict[str, dict]) -> dict:
    found: Counter[str] = Counter()  # mentions per gold type
    total: Counter[str] = Counter()
    for record in gold:
        texts = {_mention_key(a.get("text")) for a in predicted.get(str(record["id"]), {}).get("actors") or []}
        texts.discard("")
        for text, kind in {(_mention_key(m["text"]), m["type"]) for m in record.get("mentions") or []}:
            if not text:
                continue
            total[kind] += 1
            found[kind] += any(text == t or f" {text} " in f" {t} " or f" {t} " in f" {text} " for t in texts)
    return {
        "documents": len(gold),
        "mentions": sum(total.values()),
        "recall": _ratio(sum(found.values()), sum(total.values())),
        "recall_by_type": {k: _ratio(found[k], v) for k, v in sorted(total.items())},
    }


SCORERS = {"events": score_events, "extraction": score_extraction, "actors": score_actors}


def _read_jsonl(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{number}", "eval", f"malformed JSON line ({exc.msg})") from None
    return records


def guess_kind(gold: list[dict]) -> str:
    first = gold[0] if gold else {}
    if "events" in first:
        return "events"
    if "mentions" in first:
        return "actors"
    return "extraction"


def evaluate(gold_path: Path, settings: Settings, kind: str | None = None, input_path: Path | None = None) -> dict:
    """Extract from the inputs (the gold records themselves unless `input_path` is given) and score."""
    gold = _read_jsonl(gold_path)
    kind = kind or guess_kind(gold)
    if input_path is not None:
        inputs = io.BytesIO(input_path.read_bytes())
    elif kind == "extraction":
        raise InputError(
            str(gold_path),
            "eval",
            "extraction gold holds only the expected text",
            "pass the pages with --input IN.jsonl",
        )
    else:
        inputs = io.BytesIO(
            "".join(
                json.dumps({k: r[k] for k in ("id", "text", "html", "url", "date") if r.get(k) is not None}) + "\n"
                for r in gold
            ).encode("utf-8")
        )
    predicted = {str(r.get("id")): r for r in extract_lines(inputs, settings, str(input_path or gold_path))}
    result = SCORERS[kind](gold, predicted)
    result["kind"] = kind
    result["errors"] = sum("error" in r for r in predicted.values())
    return result
