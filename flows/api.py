"""The Prefect API a command's flow run reports to: the configured one, or a temporary server.

Prefect's own temporary server (`SubprocessASGIServer`) lives in a module that imports the whole
server application, about 80 MiB in the process that merely starts it. `TemporaryServer` starts
the same server (uvicorn on Prefect's app factory, in ephemeral mode, without the UI) from here
instead, so the flow process stays lean. The database is migrated by a short-lived process
first: run inside the server, Alembic and the migration scripts stay loaded for its lifetime
(about 40 MiB).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from transforms.errors import ConfigError

STARTUP_TIMEOUT_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux; elsewhere nothing)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class TemporaryServer:
    """A Prefect API server on a free loopback port, for the length of one command."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.api_url = ""

    def start(self) -> str:
        import prefect
        from prefect.settings import get_current_settings

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{port}/api"
        env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True)}
        env.pop("PREFECT_API_URL", None)
        migration = subprocess.run(
            [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
            env=env,
            capture_output=True,
            text=True,
            timeout=STARTUP_TIMEOUT_SECONDS,
        )
        if migration.returncode != 0:
            raise ConfigError(
                f"Prefect database (PREFECT_HOME {get_current_settings().home})",
                "migrate temporary Prefect server's database",
                (migration.stderr or migration.stdout).strip()[-500:],
                "run `prefect server database upgrade` to see the full error",
            )
        env.update(
            {
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
            }
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(prefect.__file__).parent.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            # Its own session: Ctrl-C at the terminal is for the run, which stops the server itself
            # when it is done; and it dies with this process even when that is killed outright.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return self.api_url
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        code = self.process.poll()
        self.stop()
        raise ConfigError(
            self.api_url,
            "start temporary Prefect server",
            f"it exited with code {code}" if code is not None else f"no answer within {STARTUP_TIMEOUT_SECONDS:.0f}s",
            "start one with `prefect server start` and set PREFECT_API_URL to it",
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class _NoDeadLinks(logging.Filter):
    """Drops Prefect's "View at http://127.0.0.1:PORT/runs/..." line: a temporary server's UI
    address is dead once the command ends (and it serves no UI)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("View at ")


@contextmanager
def prefect_api() -> Iterator[str]:
    """Make sure worker processes talk to the same Prefect API as this one.

    Without a configured API, Prefect starts a temporary server per process; worker processes
    would each start their own. One server is started here and handed down through the
    environment, which worker processes inherit.
    """
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    previous = os.environ.get("PREFECT_API_URL")
    url = get_current_settings().api.url
    server = None
    if not url:
        server = TemporaryServer()
        url = server.start()
    os.environ["PREFECT_API_URL"] = url
    no_dead_links = _NoDeadLinks()
    if server is not None:
        # Prefect's background threads (event and log forwarding) read the process-wide settings,
        # which predate the server: refreshed, or they would start a server of their own.
        refresh_global_settings_context()
        logging.getLogger("prefect.flow_runs").addFilter(no_dead_links)
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        if server is not None:
            # Send queued logs and events while the server is still up; afterwards they would be
            # retried against a closed port for a minute.
            from prefect.events.worker import EventsWorker
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=10)
            EventsWorker.drain_all(timeout=10)
            server.stop()
            refresh_global_settings_context()
            logging.getLogger("prefect.flow_runs").removeFilter(no_dead_links)
