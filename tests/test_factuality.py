"""Factuality, relevance and confidence: what makes a coded event one the text asserts.

The golden file (tests/golden/events.jsonl, ids "no-event-*" and "asserted-*") holds a sentence per
failure kind; these tests check the mechanisms underneath: why a trigger is blocked, that sentences
end at paragraph breaks, that confidence is stored and the threshold applied, and that the model
rebuilds from the training data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transforms.records import Article

REPO = Path(__file__).resolve().parents[1]


def _blockers(extractor, text: str) -> dict[str, str | None]:
    """Each event word of the sentence with the reason it is not asserted (None: asserted)."""
    coder = extractor.event_coder
    doc = extractor.nlp(text)
    found = {}
    for sent in doc.sents:
        for token in sent:
            if coder._match(token) is not None:
                found[token.text] = coder.factuality.blocker(token, sent)
    return found


@pytest.mark.parametrize(
    "text, word, reason",
    [
        ("China could finalize an agreement with the United States this month.", "finalize", "modal"),
        ("The president wants to meet Kim Jong Un again.", "meet", "desire"),
        ("Washington would like to see China agree to the terms.", "agree", ("desire", "modal")),
        ("The two sides failed to agree on a text.", "agree", "failure"),
        ("Tokyo has yet to sign the accord.", "sign", "failure"),
        ("Russia did not attack the convoy.", "attack", "negation"),
        ("Will Russia attack the convoy?", "attack", "question"),
        ("It is unclear whether Iran will attack the tanker.", "attack", "condition"),
        ("Iran was supposed to release the prisoners in May.", "release", "unreal"),
        ("The central bank is likely to criticize the plan.", "criticize", "prediction"),
    ],
)
def test_unasserted_triggers_say_why(extractor, text, word, reason):
    reasons = reason if isinstance(reason, tuple) else (reason,)
    assert _blockers(extractor, text).get(word) in reasons


def test_reported_and_plain_acts_are_asserted(extractor):
    blockers = _blockers(extractor, "Turkey said Syrian troops attacked a border post on Monday.")
    assert blockers["attacked"] is None
    assert _blockers(extractor, "Police arrested two protesters in Minsk.")["arrested"] is None


def test_a_topic_noun_codes_nothing_but_a_held_meeting_does(extractor):
    coder = extractor.event_coder
    for text, expected in (
        ("Markets rose on hopes for the trade talks.", False),
        ("China and the United States held talks in Geneva.", True),
        ("Talks between Serbia and Kosovo took place in Brussels.", True),
        ("Monday's attack on the convoy killed six.", True),
    ):
        doc = extractor.nlp(text)
        sent = next(doc.sents)
        nouns = [t for t in sent if t.pos_ == "NOUN" and coder._match(t) is not None]
        assert nouns, text
        assert any(coder.factuality.noun_asserted(n, sent) for n in nouns) is expected, text


def test_sentences_never_cross_a_paragraph_break(extractor):
    text = (
        "Macron and Scholz meet in Berlin to discuss aid for Ukraine\n\n"
        "President Emmanuel Macron of France held talks with Chancellor Olaf Scholz on Friday."
    )
    article = Article(article_id="a", input="a", text=text, content_hash="", language="en")
    output = extractor.extract([article])
    assert output.event_mentions
    assert all("\n" not in e.evidence for e in output.event_mentions)
    macron = [m for m in output.actor_mentions if m.name == "Emmanuel Macron"]
    assert macron and all(m.country == "FRA" for m in macron)


def test_events_need_a_political_actor(extractor):
    sport = Article(
        article_id="s",
        input="s",
        language="en",
        content_hash="",
        text="Manchester United beat Chelsea 2-1 at Old Trafford on Sunday. The striker attacked the goal.",
    )
    politics = Article(
        article_id="p",
        input="p",
        language="en",
        content_hash="",
        text="Israeli jets struck targets in southern Lebanon on Sunday, the army said.",
    )
    output = extractor.extract([sport, politics])
    assert not [e for e in output.event_mentions if e.article_id == "s" and e.plover]
    assert [e for e in output.event_mentions if e.article_id == "p" and e.plover == "ASSAULT"]


def test_confidence_is_a_calibrated_probability_that_ranks_news_above_noise(extractor):
    news = Article(
        article_id="n",
        input="n",
        language="en",
        content_hash="",
        title="Ministers meet",
        text="Foreign ministers of India and China met in Moscow on Thursday and agreed to "
        "disengage troops along the border, the two governments said.",
    )
    feature = Article(
        article_id="f",
        input="f",
        language="en",
        content_hash="",
        title="Best gadgets",
        text="Our reviewer says the phone could meet the needs of most buyers, and analysts "
        "expect it to beat rivals this winter.",
    )
    output = extractor.extract([news, feature])
    scores = {e.article_id: e.confidence for e in output.event_mentions}
    assert all(0.0 <= e.confidence <= 1.0 for e in output.event_mentions)
    assert scores.get("n", 0) >= 0.5
    assert scores.get("f", 0) < scores["n"]


def test_extract_applies_the_threshold_and_shows_confidence(tmp_path):
    from flows.cli import main
    import contextlib
    import io

    record = {
        "id": "x",
        "text": "Police arrested 40 protesters in Minsk on Sunday, a rights group said.",
        "date": "2024-03-03",
    }
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    config = tmp_path / "high.toml"
    config.write_text(
        f'[dictionaries]\ndir = "{REPO / "config" / "dictionaries"}"\n[events]\n'
        f'confidence_model = "{REPO / "config" / "models" / "confidence.json"}"\n'
        f"min_confidence = 1.0\n",
        encoding="utf-8",
    )
    outputs = {}
    for name, argv in (
        ("strict", ["extract", str(source), "--config", str(config)]),
        ("all", ["extract", str(source), "--config", str(config), "--all-events"]),
    ):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(argv) == 0
        outputs[name] = json.loads(buffer.getvalue().splitlines()[0])
    assert outputs["strict"]["events"] == []
    coerce = [e for e in outputs["all"]["events"] if e["plover"] == "COERCE"]
    assert coerce and 0 < coerce[0]["confidence"] < 1.0


def test_the_committed_model_is_small_and_loads():
    from transforms.confidence import ConfidenceModel

    path = REPO / "config" / "models" / "confidence.json"
    assert path.stat().st_size < 20 * 2**20
    model = ConfidenceModel.from_text(path.read_text(encoding="utf-8"), str(path))
    assert model.sentence_logit("Troops shelled the town, killing six civilians.") > model.sentence_logit(
        "The striker shot wide in the second half."
    )


def test_the_model_rebuilds_from_training_data(tmp_path):
    pytest.importorskip("sklearn")
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_confidence", REPO / "config" / "train_confidence.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    subset = tmp_path / "training"
    subset.mkdir()
    for path in sorted((REPO / "config" / "training" / "events").glob("*.jsonl"))[:4]:
        lines = path.read_text(encoding="utf-8").splitlines()[:12]
        (subset / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "model.json"
    assert train.main(["--training", str(subset), "--out", str(out)]) == 0
    from transforms.confidence import ConfidenceModel

    model = ConfidenceModel.from_text(out.read_text(encoding="utf-8"), str(out))
    assert model.event.weights and model.sentence.weights and model.article.weights
