"""The report in a real browser: headless Chromium draws every chart, logs no error, loads nothing from
the network, and its screenshot is not blank.

Chromium is driven over the DevTools protocol on a local websocket. The
browser is required: without it this test fails (install Debian's
``chromium`` package; .ci/run does).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import subprocess
import time
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import websocket

from backtestr.analytics import write_report
from backtestr.outputs import write_manifest
from backtestr.sweep.plots import CURVES_FILE
from tests.statlogs import INIT, equity_records, position_records, utc_ns, write_run

T0 = utc_ns("2024-01-02T00:00")
S = 10**9
TIMEOUT = 60.0


def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    assert path, "headless Chromium is needed for this test: apt-get install -y chromium"
    return path


class Page:
    """A tab of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, tmp: Path) -> None:
        self.proc = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", f"--user-data-dir={tmp / 'profile'}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--window-size=1400,1000",
             "--enable-logging=stderr", "--v=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = self._port()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as r:
            target = json.load(r)
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=TIMEOUT,
                                              suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def _port(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                return int(m.group(1))
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError("Chromium did not start its DevTools endpoint")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        me = self.next_id
        self.ws.send(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == me:
                assert "error" not in msg, msg
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == method for e in self.events):
            assert time.monotonic() < deadline, f"no {method} within {TIMEOUT} s"
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expr: str):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait(timeout=30)


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (filter bytes included)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    return w, h, zlib.decompress(idat)


@pytest.fixture
def report(tmp_path) -> Path:
    rows = [(T0 + i * 600 * S, INIT + round(20_000 * np.sin(i / 90) + 40 * i)) for i in range(6 * 24 * 60)]
    pos = position_records([{"side": 1 if i % 3 else -1, "open_ts": T0 + i * 20_000 * S,
                             "close_ts": T0 + (i * 20_000 + 9000) * S, "net": (i % 7 - 3) * 900,
                             "entry_ticks": 110_000 + i, "exit_ticks": 110_000 + 2 * i,
                             "mae_minor": -(i % 5) * 400, "mfe_minor": (i % 4) * 600, "sl_ticks": 109_800}
                            for i in range(250)])
    run = write_run(tmp_path / "run", equity=equity_records(rows), positions=pos)
    return write_report(run, tmp_path / "report.html")


def render_in_chromium(html_file: Path, tmp_path: Path, expect: int) -> tuple[Page, bytes]:
    """Open ``html_file`` and wait until ``expect`` charts are drawn; check that nothing was logged as an
    error and nothing fetched from the network; returns the open page and a full-page screenshot."""
    page = Page(tmp_path)
    for domain in ("Page", "Runtime", "Log", "Network"):
        page.call(f"{domain}.enable")
    page.call("Page.navigate", url=html_file.resolve().as_uri())
    page.wait_for("Page.loadEventFired")
    deadline = time.monotonic() + TIMEOUT
    drawn = 0
    while time.monotonic() < deadline:
        drawn = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot'))"
                              ".filter(d => d._fullLayout && d.querySelector('svg.main-svg')).length")
        if drawn == expect:
            break
        time.sleep(0.2)
    assert drawn == expect, f"{drawn} of {expect} charts drawn"
    shot = base64.b64decode(page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    (tmp_path / f"{html_file.stem}.png").write_bytes(shot)
    errors = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"
              or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
              or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    assert not errors, errors
    urls = [e["params"]["request"]["url"] for e in page.events if e.get("method") == "Network.requestWillBeSent"]
    assert urls and all(u.startswith(("file:", "data:", "blob:")) for u in urls), urls  # nothing fetched
    return page, shot


def assert_not_blank(shot: bytes) -> None:
    w, h, raw = png_pixels(shot)
    assert w >= 1000 and h >= 1000
    # not blank: a blank page is one colour; the charts and tables give many distinct byte values
    assert len(set(raw)) > 64, f"screenshot looks blank ({len(set(raw))} distinct byte values)"


def test_report_renders_in_headless_chromium(report, tmp_path):
    page, shot = render_in_chromium(report, tmp_path, 5)  # equity, EURUSD trades, MAE/MFE, returns, months
    try:
        # the charts hold their data: the equity line has points, the trades chart its markers
        assert page.evaluate("document.getElementById('chart-0').querySelectorAll('path.js-line').length") >= 1
        assert page.evaluate("document.getElementById('chart-1').querySelectorAll('path.point').length") >= 250
        assert page.evaluate("document.querySelectorAll('table tr').length") > 40
    finally:
        page.close()
    assert_not_blank(shot)


@pytest.fixture
def sweep_report(tmp_path) -> Path:
    """A sweep page: 4 x 3 x 2 sets of a hand-made results frame with 60 periods of equity per set."""
    rng = np.random.default_rng(11)
    rows, curves = [], []
    periods = [T0 + h * 3600 * S for h in range(60)]
    for fast in (2, 4, 8, 16):
        for slow in (20, 40, 80):
            for model in ("perfect", "realistic"):
                sid = len(rows)
                eq = 100_000.0 * np.cumprod(1 + rng.normal(0.0002 * (fast == 4), 0.003, len(periods)))
                rows.append({"set_id": sid, "fast": fast, "slow": slow, "execution.model": model,
                             "final_equity": float(eq[-1]), "net_pnl": float(eq[-1] - 100_000.0), "fills": 2 * sid})
                curves.append(pl.DataFrame({"set_id": [sid] * len(periods), "period": periods, "equity": eq,
                                            "initial_cash": [100_000.0] * len(periods)})
                              .with_columns(pl.col("period").cast(pl.Datetime("ns", "UTC"))))
    out = tmp_path / "sweep"
    out.mkdir()
    pl.DataFrame(rows).sort("final_equity", descending=True).with_row_index("rank", 1).write_parquet(
        out / "results.parquet")
    pl.concat(curves).write_parquet(out / CURVES_FILE)
    write_manifest(out, "sweep", "sweep", ["results.parquet", CURVES_FILE])
    return write_report(out, tmp_path / "sweep.html")


def test_sweep_report_renders_in_headless_chromium(sweep_report, tmp_path):
    page, shot = render_in_chromium(sweep_report, tmp_path, 3)  # heatmap, parallel coordinates, PBO logits
    try:
        assert page.evaluate("document.querySelector('h1').textContent") == "backtestr sweep report: sweep"
        # the heatmap has its 4 x 3 cells (one image), the parallel coordinates an axis per parameter and the
        # objective, the histogram its bars; the ranked table its 20 rows and header
        assert page.evaluate("document.getElementById('chart-0').querySelectorAll('.hm image').length") == 1
        assert page.evaluate("document.getElementById('chart-1').querySelectorAll('g.y-axis').length") == 4
        assert page.evaluate("document.getElementById('chart-2').querySelectorAll('g.point').length") >= 3
        assert page.evaluate("document.querySelectorAll('table')[0].querySelectorAll('tr').length") == 21
    finally:
        page.close()
    assert_not_blank(shot)
