"""Confidence per event: how likely a coded event is a real, political event that the text asserts.

Three small linear models, trained by config/train_confidence.py on labelled articles written for
this project (config/training/events/) and stored as plain weights in config/models/confidence.json:

- `article`: is the page political news at all (sports, business, culture and science pages are not);
- `sentence`: does the sentence report a political event (not an opinion, a forecast, a statistic);
- `event`: the calibrated probability that a coded event is right, from the two scores above and
  what the rule coder knows (its own confidence, the actors, the kind of event).

Inference is a dot product over word features, so it needs no learning library at run time.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from transforms.errors import ConfigError
from transforms.records import ActorRef, EventMention
from transforms.dictionaries import POLITICAL_SECTORS

# Events below this confidence stay in event_mentions but are left out of the `events` view, the
# GDELT export and `eventlake extract` (the `events.min_confidence` setting changes it).
DEFAULT_MIN_CONFIDENCE = 0.25
WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?|\d+|[?!\"“”]")


def words(text: str) -> list[str]:
    """Lower-case word tokens; digits collapse to one token so numbers do not become features."""
    return ["0" if w.isdigit() else w for w in WORD.findall(text.lower())]


SUFFIXES = ("ations", "ation", "ings", "ing", "ied", "ies", "ed", "es", "s")


def stem(word: str) -> str:
    """A crude stem, so "killed", "kills" and "killing" share a feature the model has seen."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def text_features(text: str, bigrams: bool = True) -> set[str]:
    """Binary features of a text: its words, their stems (marked "~") and pairs of stems."""
    tokens = words(text)
    stems = [stem(w) for w in tokens]
    features = set(tokens) | {f"~{s}" for s in stems}
    if bigrams:
        features.update(f"{a} {b}" for a, b in zip(stems, stems[1:]))
    return features


def article_text(title: str | None, text: str, max_chars: int = 3000) -> str:
    """What the article model reads: the headline and the opening of the text."""
    return f"{title or ''}\n{text[:max_chars]}"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A logistic model over named features: logit = bias + sum of weights of the present features."""

    bias: float
    weights: dict[str, float]

    def logit(self, features: dict[str, float] | set[str]) -> float:
        if isinstance(features, set):
            return self.bias + sum(self.weights.get(f, 0.0) for f in features)
        return self.bias + sum(self.weights.get(f, 0.0) * v for f, v in features.items())

    def probability(self, features: dict[str, float] | set[str]) -> float:
        return _sigmoid(self.logit(features))

    def to_json(self) -> dict:
        return {"bias": self.bias, "weights": self.weights}

    @classmethod
    def from_json(cls, data: dict) -> LinearModel:
        return cls(float(data["bias"]), {str(k): float(v) for k, v in data["weights"].items()})


def _political(ref: ActorRef | None) -> bool:
    if ref is None or not ref.code:
        return False
    code = ref.code
    return (
        code.startswith(("IGO", "NGO"))
        or (len(code) == 3 and code.isalpha() and code.isupper())
        or code[3:6] in POLITICAL_SECTORS
    )


def event_features(event: EventMention, sentence_logit: float, article_logit: float) -> dict[str, float]:
    """What the event model weighs: the text scores and the rule coder's view of one event."""
    root = event.cameo[:2]
    evidence = event.evidence.lstrip()
    return {
        "sentence_logit": sentence_logit,
        "article_logit": article_logit,
        "rule_confidence": event.confidence or 0.0,
        "has_source": float(event.source is not None and bool(event.source.code)),
        "has_target": float(event.target is not None and bool(event.target.code)),
        "source_political": float(_political(event.source)),
        "target_political": float(_political(event.target)),
        "intent": float(root in ("03", "13")),
        "quoted": float(evidence[:1] in "\"“'‘"),
        f"quad_{event.quad_class}": 1.0,
    }


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """The three models, loaded once from config/models/confidence.json and handed to the extractor."""

    article: LinearModel
    sentence: LinearModel
    event: LinearModel

    def article_logit(self, title: str | None, text: str) -> float:
        return self.article.logit(text_features(article_text(title, text), bigrams=False))

    def sentence_logit(self, text: str) -> float:
        return self.sentence.logit(text_features(text))

    def event_confidence(self, event: EventMention, sentence_logit: float, article_logit: float) -> float:
        return round(self.event.probability(event_features(event, sentence_logit, article_logit)), 3)

    def to_json(self) -> dict:
        return {"article": self.article.to_json(), "sentence": self.sentence.to_json(), "event": self.event.to_json()}

    @classmethod
    def from_json(cls, data: dict, source: str = "confidence model") -> ConfidenceModel:
        try:
            return cls(
                LinearModel.from_json(data["article"]),
                LinearModel.from_json(data["sentence"]),
                LinearModel.from_json(data["event"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                source, "load confidence model", f"not a confidence model ({exc})", "rebuild it with `make model`"
            ) from None

    @classmethod
    def from_text(cls, text: str, source: str) -> ConfidenceModel:
        try:
            return cls.from_json(json.loads(text), source)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                source, "load confidence model", f"invalid JSON ({exc.msg})", "rebuild it with `make model`"
            ) from None
