"""Train the event confidence model (transforms/confidence.py) and write config/models/confidence.json.

    python config/train_confidence.py            # or: make model

The training data are the labelled articles in config/training/events/*.jsonl, written for this
project (never the evaluation sets): every sentence says which PLOVER events it reports, and which
trap it holds when it reports none (a negation, a forecast, a sports result ...). Three models:

1. article: is the page political news (its `political` flag), from the headline and opening words;
2. sentence: does the sentence report an event, from its words and word pairs;
3. event: is an event the rule coder finds in these articles right (its type is one the sentence
   reports), from the two scores (out-of-fold, so the event model sees them as on unseen text) and
   the rule coder's own signals. A logistic model, so its output is a calibrated probability.

Prints cross-validated figures for each model. Needs scikit-learn (the `train` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flows import resources  # noqa: E402
from flows.settings import load_settings  # noqa: E402
from transforms.confidence import (  # noqa: E402
    ConfidenceModel,
    LinearModel,
    article_text,
    event_features,
    text_features,
)
from transforms.records import Article  # noqa: E402

TRAINING = HERE / "training" / "events"
OUTPUT = HERE / "models" / "confidence.json"
FOLDS = 5
SEED = 7
MIN_WEIGHT = 1e-3
SENTENCE_C = 0.3  # weights smaller than this are dropped from the stored model


def load_articles(folder: Path) -> list[dict]:
    """Labelled articles, each with its text assembled and every sentence's span in it."""
    articles = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            text, spans = "", []
            for p, paragraph in enumerate(record["paragraphs"]):
                if p:
                    text += "\n\n"
                for s, sentence in enumerate(paragraph):
                    if s:
                        text += " "
                    start = len(text)
                    text += sentence["text"].strip()
                    spans.append((start, len(text), sentence))
            record["text"], record["spans"], record["where"] = text, spans, f"{path.name}:{number}"
            articles.append(record)
    return articles


def gold_types(sentence: dict, key: str) -> set[str]:
    return {t for e in sentence.get(key) or [] for t in (e.get("plover"), *(e.get("alt") or [])) if t}


def fit(
    features: list, labels: np.ndarray, c: float, balanced: bool = False
) -> tuple[LogisticRegression, DictVectorizer]:
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(features)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None).fit(matrix, labels)
    return model, vectorizer


def as_linear(model: LogisticRegression, vectorizer: DictVectorizer) -> LinearModel:
    weights = {
        name: round(float(w), 4) for name, w in zip(vectorizer.feature_names_, model.coef_[0]) if abs(w) >= MIN_WEIGHT
    }
    return LinearModel(round(float(model.intercept_[0]), 4), weights)


def out_of_fold_logits(
    features: list, labels: np.ndarray, groups: np.ndarray | None, c: float, balanced: bool = False
) -> np.ndarray:
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform(features)
    folds = GroupKFold(FOLDS) if groups is not None else KFold(FOLDS, shuffle=True, random_state=SEED)
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None)
    return cross_val_predict(model, matrix, labels, cv=folds, groups=groups, method="decision_function")


def report(name: str, logits: np.ndarray, labels: np.ndarray) -> None:
    predicted = logits > 0
    tp = int((predicted & (labels == 1)).sum())
    precision = tp / max(1, int(predicted.sum()))
    recall = tp / max(1, int((labels == 1).sum()))
    print(
        f"{name}: {len(labels)} examples, {int(labels.sum())} positive; cross-validated "
        f"precision {precision:.3f}, recall {recall:.3f} at 0.5"
    )


def coded_events(articles: list[dict]) -> list[tuple[int, int, object, str]]:
    """(article index, sentence index, event, label) for every typed event the rule coder finds."""
    settings = load_settings()
    extractor = resources.extractor_for(settings, scored=False)
    inputs = [
        Article(
            article_id=a["id"],
            input=a["where"],
            text=a["text"],
            content_hash="",
            language="en",
            title=a.get("title"),
            published=date.fromisoformat(a["date"]) if a.get("date") else None,
        )
        for a in articles
    ]
    output = extractor.extract(inputs)
    index = {a["id"]: i for i, a in enumerate(articles)}
    rows = []
    for event in output.event_mentions:
        if not event.plover:
            continue
        i = index[event.article_id]
        spans = articles[i]["spans"]
        overlap = [max(0, min(end, event.end) - max(start, event.start)) for start, end, _ in spans]
        k = int(np.argmax(overlap))
        sentence = spans[k][2]
        if event.plover in gold_types(sentence, "events"):
            label = "right"
        elif event.plover in gold_types(sentence, "marginal"):
            label = "marginal"
        else:
            label = "wrong"
        rows.append((i, k, event, label))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=Path, default=TRAINING)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    articles = load_articles(args.training)
    # 1. article model: whole pages, and their openings alone (a feed item, a single-sentence record
    # must be scored too), labelled by the page's flag; the opening of a political page is political
    # only when it reports an event itself
    article_samples = []
    for i, a in enumerate(articles):
        title, spans = a.get("title"), a["spans"]
        article_samples.append((i, article_text(title, a["text"]), bool(a["political"])))
        first = spans[0][2]
        article_samples.append((i, first["text"], bool(first["events"])))
        opening = " ".join(s["text"] for _, _, s in spans[:3])
        article_samples.append((i, article_text(title, opening), bool(a["political"])))
    article_features = [dict.fromkeys(text_features(text, bigrams=False), 1) for _, text, _ in article_samples]
    article_labels = np.array([int(label) for _, _, label in article_samples])
    article_groups = np.array([i for i, _, _ in article_samples])
    sample_oof = out_of_fold_logits(article_features, article_labels, article_groups, c=1.0)
    report("article", sample_oof, article_labels)
    article_oof = sample_oof[0::3]  # the whole-page score of each article, as the event model sees it
    article_model = as_linear(*fit(article_features, article_labels, c=1.0))

    # 2. sentence model (marginal sentences are neither: left out)
    sentence_rows = [
        (i, k, s)
        for i, a in enumerate(articles)
        for k, (_, _, s) in enumerate(a["spans"])
        if not (s.get("marginal") and not s["events"])
    ]
    sentence_features = [dict.fromkeys(text_features(s["text"]), 1) for _, _, s in sentence_rows]
    sentence_labels = np.array([int(bool(s["events"])) for _, _, s in sentence_rows])
    groups = np.array([i for i, _, _ in sentence_rows])
    # balanced classes: the score ranks sentences, the event model below turns it into a probability
    sentence_oof = out_of_fold_logits(sentence_features, sentence_labels, groups, c=SENTENCE_C, balanced=True)
    report("sentence", sentence_oof, sentence_labels)
    sentence_model = as_linear(*fit(sentence_features, sentence_labels, c=SENTENCE_C, balanced=True))
    oof_by_sentence = {(i, k): float(v) for (i, k, _), v in zip(sentence_rows, sentence_oof)}
    partial = ConfidenceModel(article_model, sentence_model, LinearModel(0.0, {}))

    # 3. event model, on the rule coder's events in the same articles
    rows = [r for r in coded_events(articles) if r[3] != "marginal"]
    features, labels, events_groups = [], [], []
    for i, k, event, label in rows:
        sentence_logit = oof_by_sentence.get((i, k))
        if sentence_logit is None:
            sentence_logit = partial.sentence_logit(event.evidence)
        features.append(event_features(event, sentence_logit, float(article_oof[i])))
        labels.append(int(label == "right"))
        events_groups.append(i)
    labels = np.array(labels)
    rule_precision = labels.mean() if len(labels) else 0.0
    print(
        f"events coded by the rules: {len(labels)}, of which right {int(labels.sum())} "
        f"(rule precision {rule_precision:.3f})"
    )
    event_oof = out_of_fold_logits(features, labels, np.array(events_groups), c=1.0)
    report("event", event_oof, labels)
    for threshold in (0.3, 0.5, 0.7):
        keep = 1 / (1 + np.exp(-event_oof)) >= threshold
        kept = int(keep.sum())
        print(
            f"  threshold {threshold}: keeps {kept} events, precision "
            f"{(labels[keep].mean() if kept else 0):.3f}, share of right kept {labels[keep].sum() / max(1, labels.sum()):.3f}"
        )
    probabilities = 1 / (1 + np.exp(-event_oof))
    for low, high in ((0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01)):
        band = (probabilities >= low) & (probabilities < high)
        if band.any():
            print(
                f"  calibration {low:.1f}-{min(high, 1):.1f}: {int(band.sum())} events, "
                f"mean predicted {probabilities[band].mean():.2f}, right {labels[band].mean():.2f}"
            )
    event_model = as_linear(*fit(features, labels, c=1.0))

    model = ConfidenceModel(article_model, sentence_model, event_model)
    payload = {
        "about": "eventlake event confidence model; rebuild with `make model` (config/train_confidence.py)",
        "training": {"articles": len(articles), "sentences": len(sentence_rows), "events": len(labels)},
        **model.to_json(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
