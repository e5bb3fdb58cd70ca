"""A small smoke check with real browsers on loopback: N headless Chromium sessions open pages and change filters.

    python -m bench.browser --sessions 4 --seconds 30 [--scale demo] [--out FILE]

The headline load test is python -m bench.load (a client of Streamlit's own websocket protocol, no browser):
browsers on the same machine as the server measure the browsers as much as the server.

Starts one dashboard server on 127.0.0.1 with a seeded store, then drives N headless Chromium
sessions (Debian's chromium via Playwright) for a fixed time; each session opens pages by
address and changes the ICP area. Reports page loads, failures and the 50th and 95th
percentile time to a rendered page (title drawn and the script run finished). By default one
visitor first opens every page for every area (the server's caches then hold each view, as
after the first visits of a day); --no-warm-up starts the sessions together on a cold server.
The browsers run on the same machine as the server, so their rendering is part of the times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["", "network-growth", "survey-responses", "panel-coverage", "deprivation-map"]
AREAS = ["DGS", "East Kent", "Medway and Swale", "West Kent", ""]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def start_server(url: str) -> tuple[subprocess.Popen, str]:
    """The dashboard on a free loopback port, once it answers its health check."""
    from bench.server import start_server as start

    return start(url)


async def session(browser, base: str, until: float, times: list[float], failures: list[str], seed: int) -> None:
    rng = random.Random(seed)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    while time.monotonic() < until:
        path, area = rng.choice(PATHS), rng.choice(AREAS)
        query = f"?icp={area}" if area else ""
        start = time.monotonic()
        try:
            await page.goto(f"{base}/{path}{query}", timeout=60_000)
            await page.wait_for_selector("h1", timeout=60_000)
            await page.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
            if await page.locator("[data-testid='stException']").count():
                failures.append(f"exception on /{path}{query}")
            else:
                times.append(time.monotonic() - start)
        except Exception as exc:  # noqa: BLE001 - a failed load is counted, not fatal
            failures.append(f"/{path}{query}: {exc.__class__.__name__}")
    await context.close()


async def warm_up(browser, base: str) -> float:
    """Open every page for every area once, one after another (as the first visitors of the day would),
    so the timed sessions meet a server whose caches hold each view; returns the seconds it took."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    start = time.monotonic()
    for path in PATHS:
        for area in AREAS:
            await page.goto(f"{base}/{path}" + (f"?icp={area}" if area else ""), timeout=120_000)
            await page.wait_for_selector("h1", timeout=120_000)
            await page.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    await context.close()
    return time.monotonic() - start


async def drive(base: str, sessions: int, seconds: float, warm: bool = True) -> tuple[list[float], list[str], float | None]:
    from playwright.async_api import async_playwright

    times: list[float] = []
    failures: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        warmed = await warm_up(browser, base) if warm else None
        until = time.monotonic() + seconds
        await asyncio.gather(*(session(browser, base, until, times, failures, i) for i in range(sessions)))
        await browser.close()
    return times, failures, warmed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--scale", default="demo", choices=["demo", "county", "national"])
    parser.add_argument("--out")
    parser.add_argument("--dir", help="folder for the store (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="use the store already in --dir (see python -m bench)")
    parser.add_argument("--no-warm-up", dest="warm", action="store_false",
                        help="start the sessions on a just-started server with empty caches")
    args = parser.parse_args(argv)
    from bench.__main__ import build_store
    from bench.load import percentile

    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="load-"))
    folder.mkdir(parents=True, exist_ok=True)
    url, _took, _summary = build_store(args.scale, folder, reuse=args.reuse)
    proc, base = start_server(url)
    try:
        times, failures, warmed = asyncio.run(drive(base, args.sessions, args.seconds, args.warm))
    finally:
        from bench.server import stop

        stop(proc)
    text = "\n".join([
        f"# Browser smoke check: {args.sessions} concurrent browser sessions for {args.seconds:.0f} s ({args.scale} store)", "",
        (f"Warm-up first: every page for every area opened once, one after another ({warmed:.0f} s)."
         if warmed is not None else "No warm-up: the sessions start together on a just-started server."), "",
        "| page loads | failures | median to rendered page (s) | 95th percentile (s) |",
        "| --- | --- | --- | --- |",
        f"| {len(times)} | {len(failures)} | {statistics.median(times) if times else float('nan'):.2f} | "
        f"{percentile(times, 95):.2f} |", "",
        *(f"- failure: {f}" for f in failures[:20]),
    ])
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 1 if failures or not times else 0


if __name__ == "__main__":
    sys.exit(main())
