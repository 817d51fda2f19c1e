"""`eventlake serve`: the `nightly` (scheduled) and `backfill` (on demand) deployments, served by this process."""

from __future__ import annotations

from pathlib import Path

from flows.settings import Settings
from transforms.errors import ConfigError


def deployments(settings: Settings, config: Path) -> list:
    """Both deployments; their runs read `config` and write to the settings' data directory."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.backfill import backfill
    from flows.nightly import nightly

    common = {"data_dir": settings.warehouse.location, "config": str(config)}
    return [
        nightly.to_deployment(
            name="nightly",
            parameters=common,
            tags=["eventlake"],
            schedule=Cron(settings.schedule.nightly_cron, timezone=settings.schedule.timezone),
            description="Fetch and load new articles from the configured feeds, sitemaps and URL lists.",
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
        backfill.to_deployment(
            name="backfill",
            parameters=common,
            tags=["eventlake"],
            description="Load WARC archives and folders; parameters since, until (dates) and sources (paths).",
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]


def serve(settings: Settings, config: Path) -> None:
    """Register both deployments on the configured Prefect server and run their flow runs until stopped."""
    from prefect import serve as prefect_serve
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise ConfigError(
            "PREFECT_API_URL",
            "serve",
            "no Prefect server is configured",
            "start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api",
        )
    # One run at a time: runs on one data directory would only wait for each other's lock.
    prefect_serve(*deployments(settings, config), limit=1)
