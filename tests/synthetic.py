"""Generated corpora for the benchmark and the crash test: many distinct, plausible wire stories."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

COUNTRIES = [
    ("France", "French", "Paris"),
    ("Germany", "German", "Berlin"),
    ("Japan", "Japanese", "Tokyo"),
    ("Kenya", "Kenyan", "Nairobi"),
    ("Brazil", "Brazilian", "Brasilia"),
    ("India", "Indian", "New Delhi"),
    ("Poland", "Polish", "Warsaw"),
    ("Egypt", "Egyptian", "Cairo"),
    ("Turkey", "Turkish", "Ankara"),
    ("Mexico", "Mexican", "Mexico City"),
    ("Indonesia", "Indonesian", "Jakarta"),
    ("Nigeria", "Nigerian", "Abuja"),
    ("Canada", "Canadian", "Ottawa"),
    ("Vietnam", "Vietnamese", "Hanoi"),
]
SENTENCES = [
    "{a} and {b} signed an agreement on {topic} in {cap_a} on {day}.",
    "The {adj_a} foreign minister met his {adj_b} counterpart in {cap_b} to discuss {topic}.",
    "{a} condemned {b} over its handling of {topic}, officials said.",
    "Police in {cap_a} arrested dozens of protesters who rallied against {topic} on {day}.",
    "{a} imposed sanctions on {b} after talks on {topic} collapsed.",
    "{a} pledged to send humanitarian aid to {b} following floods that displaced thousands.",
    "Troops from {a} clashed with rebels near the border with {b}, the army said.",
    "{a} threatened to expel {adj_b} diplomats unless {b} changed its stance on {topic}.",
    "Officials from {a} and {b} will hold further talks next month, a spokesman said.",
    "Analysts said the dispute over {topic} would weigh on trade between the two countries.",
]
TOPICS = [
    "fishing rights",
    "energy prices",
    "migration",
    "border security",
    "a rail link",
    "grain exports",
    "water sharing",
    "cyber attacks",
    "election monitoring",
    "debt relief",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def article_text(rng: random.Random, number: int) -> tuple[str, str, date]:
    (a, adj_a, cap_a), (b, adj_b, cap_b) = rng.sample(COUNTRIES, 2)
    topic = rng.choice(TOPICS)
    published = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
    values = dict(a=a, b=b, adj_a=adj_a, adj_b=adj_b, cap_a=cap_a, cap_b=cap_b, topic=topic, day=rng.choice(DAYS))
    paragraphs = [" ".join(s.format(**values) for s in rng.sample(SENTENCES, 3)) for _ in range(rng.randint(3, 6))]
    # The serial number keeps every text distinct, so none is a duplicate of another.
    paragraphs.append(f"This is report number {number} in the series.")
    title = f"{a} and {b} at odds over {topic}"
    return title, "\n\n".join(paragraphs), published


def write_corpus(folder: Path, count: int, seed: int = 7) -> Path:
    """`count` text pages shaped like the seed article (widget line, dateline, headline, body, footer)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        title, body, published = article_text(rng, number)
        page = f"{rng.uniform(-5, 35):.1f} C\n{published:%A, %B %d, %Y}\n\n{title}\n\n{body}\n\nMost Popular Articles\n"
        (folder / f"article_{number:06d}.txt").write_text(page, encoding="utf-8")
    return folder
