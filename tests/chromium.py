"""Open a local page in headless Chromium over the DevTools protocol: console errors, every request
the page made, what its scripts evaluate to, and a screenshot.

Debian's `chromium` package (`.ci/run` installs it when absent). Chromium starts with a fresh
profile and without its own background traffic, so every request seen is the page's.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-port=0",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)

    @property
    def external_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]


class _DevTools:
    def __init__(self, socket):
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def call(self, method: str, session: str | None = None, timeout: float = 60, **params) -> dict:
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def drain(self, seconds: float) -> None:
        """Collect events for a while (plotly draws after the load event)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=left)))
            except TimeoutError:
                return

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.socket.recv(timeout=left)))


def visit(
    page: Path,
    screenshot: Path | None = None,
    expressions: dict[str, str] | None = None,
    width: int = 1280,
    height: int = 1800,
    settle_seconds: float = 3.0,
) -> PageVisit:
    from websockets.sync.client import connect

    binary = chromium_binary()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="eventlake-chromium-"))
    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {process.poll()})")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30) as socket:
            tools = _DevTools(socket)
            target = tools.call("Target.createTarget", url="about:blank")["targetId"]
            session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                tools.call(f"{domain}.enable", session)
            tools.call(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            tools.events.clear()
            tools.call("Page.navigate", session, url=page.resolve().as_uri())
            tools.wait_for("Page.loadEventFired", 60)
            tools.drain(settle_seconds)
            result = PageVisit()
            for name, expression in (expressions or {}).items():
                value = tools.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
                result.values[name] = value.get("result", {}).get("value")
            if screenshot is not None:
                shot = tools.call("Page.captureScreenshot", session, format="png")
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            for event in tools.events:
                method, params = event.get("method"), event.get("params", {})
                if method == "Network.requestWillBeSent":
                    result.requests.append(params["request"]["url"])
                elif method == "Runtime.exceptionThrown":
                    details = params["exceptionDetails"]
                    result.console_errors.append(details.get("exception", {}).get("description") or details["text"])
                elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                    result.console_errors.append(
                        " ".join(str(a.get("value", a.get("description"))) for a in params.get("args", []))
                    )
                elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                    result.console_errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")
            return result
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
