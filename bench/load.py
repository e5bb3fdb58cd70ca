"""A bounded load test that speaks Streamlit's own websocket protocol: N concurrent sessions visit every page.

    python -m bench.load --sessions 20 --seconds 60 [--scale county] [--database-url URL] [--out FILE]

Each session is what one browser tab is to the server: one websocket to /_stcore/stream on 127.0.0.1. It asks
for a page as the browser does when a page is opened or a link followed (a BackMsg rerun_script with the page
and the query string, e.g. icp=East+Kent), and waits for the server to say the script run has finished
(ForwardMsg script_finished). A visit's time is from that request to script_finished: the server's side of
what a reader waits for, without a browser drawing the page. Sessions cycle through every page for every ICP
area given (by default the whole county and East Kent), each starting at a different place in the cycle.

By default one session first visits every view once, one after another (as the first visitors of the day do),
so the timed sessions meet warm caches; --no-warm-up starts them together on a just-started server. Reported:
visits, errors (an exception shown on a page, a page not found, a lost connection, or a visit over --timeout),
visits per second, the 50th and 95th percentiles and the maximum visit time, the server's CPU use and its
memory (RSS at the start and end, and the peak), and with --sample-every a timeline of the same per interval
(for soak tests). Connects only to 127.0.0.1. Ends after --seconds; visits still running are given until
--timeout to finish. Nothing fails on a slow machine: the exit status is 1 only if a visit errs or none is made.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import resource
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.server import ProcessSample, free_port, load_average, sample, start_nginx, start_server, stop, wait_healthy

PAGES = ["", "network-growth", "survey-responses", "panel-coverage", "deprivation-map"]
PAGE_NAMES = {"": "Overview", "network-growth": "Network growth", "survey-responses": "Survey responses",
              "panel-coverage": "Citizens' panel coverage", "deprivation-map": "Deprivation map"}
DEFAULT_AREAS = ["", "East Kent"]


@dataclasses.dataclass
class Visit:
    """One page visit: when it started (seconds since the timed run began), how long it took, any error."""

    session: int
    page: str
    area: str
    started: float
    seconds: float
    error: str | None = None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def loopback_only(base: str) -> str:
    """The websocket address for a server address, refusing anything but 127.0.0.1 or localhost."""
    parts = urllib.parse.urlsplit(base)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"The load test connects only to 127.0.0.1, not {parts.hostname}.")
    return f"ws://127.0.0.1:{parts.port or 80}{parts.path.rstrip('/')}/_stcore/stream"


class Session:
    """One browser tab's worth of Streamlit protocol: a websocket, the page hashes, the cached messages."""

    def __init__(self, ws_url: str, timeout: float, cookie: str = "load-0"):
        self.ws_url = ws_url
        self.cookie = cookie
        self.timeout = timeout
        self.ws = None
        self.page_hashes: dict[str, str] = {}
        self.cached: set[str] = set()

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           max_queue=None, open_timeout=self.timeout, compression=None,
                                           additional_headers={"Cookie": f"_streamlit_xsrf={self.cookie}"})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def visit(self, page: str, area: str) -> str | None:
        """Ask for a page (and ICP area) and wait for its script run to finish; returns an error or None."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = urllib.parse.urlencode({"icp": area}) if area else ""
        state.page_name = page
        state.page_script_hash = self.page_hashes.get(page, "")
        state.cached_message_hashes.extend(sorted(self.cached))
        await self.ws.send(msg.SerializeToString())
        return await asyncio.wait_for(self._until_finished(), self.timeout)

    async def _until_finished(self) -> str | None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        error = None
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await self.ws.recv())
            kind = fm.WhichOneof("type")
            if fm.metadata.cacheable and fm.hash:
                self.cached.add(fm.hash)  # as the browser's message cache does
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                if fm.delta.new_element.WhichOneof("type") == "exception" and error is None:
                    exc = fm.delta.new_element.exception
                    error = f"exception on the page: {exc.type}: {exc.message[:200]}"
            elif kind == "navigation":
                for p in fm.navigation.app_pages:
                    self.page_hashes[p.url_pathname] = p.page_script_hash
                    if p.is_default:
                        self.page_hashes[""] = p.page_script_hash
            elif kind == "page_not_found":
                error = error or f"page not found: {fm.page_not_found.page_name!r}"
            elif kind == "session_event" and fm.session_event.WhichOneof("type") == "script_compilation_exception":
                error = error or "the script did not compile"
            elif kind == "script_finished":
                if fm.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    return error or "the script did not compile"
                if fm.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return error
                # FINISHED_EARLY_FOR_RERUN or a fragment run: keep waiting for the run asked for


def views(areas: list[str]) -> list[tuple[str, str]]:
    """Every (page, area) pair, area by area."""
    return [(page, area) for area in areas for page in PAGES]


async def timed_visit(session: Session, index: int, page: str, area: str, t0: float) -> Visit:
    start = time.monotonic()
    try:
        error = await session.visit(page, area)
    except asyncio.TimeoutError:
        error = f"no answer within {session.timeout:.0f} s"
    except Exception as exc:  # noqa: BLE001 - a lost connection is counted, not fatal
        error = f"{exc.__class__.__name__}: {exc}"[:200]
    return Visit(index, page, area, start - t0, time.monotonic() - start, error)


async def run_session(index: int, ws_url: str, cycle: list[tuple[str, str]], until: float, t0: float,
                      timeout: float, visits: list[Visit], reconnect_every: int | None = None) -> None:
    """Visit pages in turn until the time is up; with reconnect_every, close the websocket after that many visits
    and open a new one (a new server session, as when a reader closes the tab and comes back)."""
    k = (index * 3) % len(cycle)  # sessions start at different places in the cycle
    while time.monotonic() < until:
        session = Session(ws_url, timeout, cookie=f"load-{index}")  # its own cookie, as each browser has
        try:
            await session.connect()
        except Exception as exc:  # noqa: BLE001
            visits.append(Visit(index, "", "", time.monotonic() - t0, 0.0, f"could not connect: {exc}"[:200]))
            return
        done = 0
        try:
            while time.monotonic() < until and (reconnect_every is None or done < reconnect_every):
                page, area = cycle[k % len(cycle)]
                k += 1
                done += 1
                visit = await timed_visit(session, index, page, area, t0)
                visits.append(visit)
                if visit.error and ("connect" in visit.error.lower() or "closed" in visit.error.lower()):
                    return
        finally:
            await session.close()


async def warm_up(ws_url: str, cycle: list[tuple[str, str]], timeout: float) -> list[Visit]:
    """Every view once, one after another, in one session."""
    session = Session(ws_url, timeout)
    await session.connect()
    t0 = time.monotonic()
    out = [await timed_visit(session, -1, page, area, t0) for page, area in cycle]
    await session.close()
    return out


def server_sample(pids: list[int]) -> ProcessSample | None:
    """The servers' CPU seconds, RSS and peak RSS added together (None if any cannot be read)."""
    samples = [sample(p) for p in pids]
    if not samples or any(s is None for s in samples):
        return None
    return ProcessSample(sum(s.cpu_seconds for s in samples), sum(s.rss_mb for s in samples),
                         sum(s.peak_rss_mb for s in samples))


@dataclasses.dataclass
class Result:
    """What a timed run measured."""

    visits: list[Visit]
    seconds: float
    warm: list[Visit] | None
    start: ProcessSample | None
    end: ProcessSample | None
    timeline: list[tuple[float, ProcessSample | None]]
    client_cpu: float
    load_before: str
    load_after: str
    per_process: list[tuple[float, float]] = dataclasses.field(default_factory=list)  # (cores, peak RSS MB) each


async def drive(base: str, pids: list[int], sessions: int, seconds: float, areas: list[str], warm: bool,
                timeout: float, sample_every: float | None, reconnect_every: int | None = None,
                warm_bases: list[str] | None = None) -> Result:
    """Warm up (every view once, on each of warm_bases if given, else through base), then run the sessions for
    the time given, sampling the server processes pids."""
    ws_url = loopback_only(base)
    cycle = views(areas)
    load_before = load_average()
    warmed = None
    if warm:
        warmed = []
        for address in warm_bases or [base]:  # each process behind a proxy has its own caches
            warmed += await warm_up(loopback_only(address), cycle, timeout)
    visits: list[Visit] = []
    timeline: list[tuple[float, ProcessSample | None]] = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    first = server_sample(pids)
    firsts = [sample(p) for p in pids]
    timeline.append((0.0, first))
    tasks = [asyncio.create_task(run_session(i, ws_url, cycle, t0 + seconds, t0, timeout, visits,
                                                   reconnect_every))
             for i in range(sessions)]

    async def sampler() -> None:
        while True:
            await asyncio.sleep(sample_every or 5)
            timeline.append((time.monotonic() - t0, server_sample(pids)))

    watcher = asyncio.create_task(sampler())
    await asyncio.gather(*tasks)
    watcher.cancel()
    took = time.monotonic() - t0
    last = server_sample(pids)
    lasts = [sample(p) for p in pids]
    per_process = [((b.cpu_seconds - a.cpu_seconds) / took, b.peak_rss_mb)
                   for a, b in zip(firsts, lasts) if a and b]
    timeline.append((took, last))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return Result(visits, took, warmed, first, last, timeline, client_cpu, load_before, load_average(),
                  per_process)


def _f(value: float) -> str:
    return "–" if value != value else f"{value:.2f}"


def report(result: Result, title: str, setup: list[str], sample_every: float | None) -> str:
    """The run as Markdown: the headline table, each page, a timeline (for soak tests) and any errors."""
    ok = [v.seconds for v in result.visits if not v.error]
    errors = [v for v in result.visits if v.error]
    lines = [f"# {title}", "", *setup, ""]
    if result.warm is not None:
        warm_ok = [v.seconds for v in result.warm if not v.error]
        lines += [f"Warm-up: {len(result.warm)} visits (each view once on each server process), one after another, in "
                  f"{sum(v.seconds for v in result.warm):.1f} s (slowest view {max(warm_ok, default=float('nan')):.2f} s"
                  f"{', ' + str(len(result.warm) - len(warm_ok)) + ' errors' if len(warm_ok) < len(result.warm) else ''}).",
                  ""]
    cpu = rss = peak = "–"
    if result.start and result.end:
        cpu = f"{(result.end.cpu_seconds - result.start.cpu_seconds) / result.seconds:.2f}"
        rss = f"{result.start.rss_mb:,.0f} → {result.end.rss_mb:,.0f}"
        peak = f"{result.end.peak_rss_mb:,.0f}"
    lines += ["| visits | errors | visits per second | p50 (s) | p95 (s) | max (s) | server CPU (cores) | "
              "server RSS start → end (MB) | server peak RSS (MB) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
              f"| {len(ok)} | {len(errors)} | {len(ok) / result.seconds:.2f} | {_f(percentile(ok, 50))} | "
              f"{_f(percentile(ok, 95))} | {_f(max(ok, default=float('nan')))} | {cpu} | {rss} | {peak} |", ""]
    lines += ["| page | visits | p50 (s) | p95 (s) | max (s) |", "| --- | ---: | ---: | ---: | ---: |"]
    for page in PAGES:
        times = [v.seconds for v in result.visits if v.page == page and not v.error]
        lines.append(f"| {PAGE_NAMES[page]} | {len(times)} | {_f(percentile(times, 50))} | "
                     f"{_f(percentile(times, 95))} | {_f(max(times, default=float('nan')))} |")
    lines.append("")
    if sample_every:
        lines += ["| from (min) | to (min) | visits | p50 (s) | p95 (s) | server RSS at end (MB) | "
                  "server CPU (cores) |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for (a, sa), (b, sb) in zip(result.timeline, result.timeline[1:]):
            times = [v.seconds for v in result.visits if a <= v.started + v.seconds < b and not v.error]
            cores = f"{(sb.cpu_seconds - sa.cpu_seconds) / (b - a):.2f}" if sa and sb and b > a else "–"
            lines.append(f"| {a / 60:.1f} | {b / 60:.1f} | {len(times)} | {_f(percentile(times, 50))} | "
                         f"{_f(percentile(times, 95))} | {f'{sb.rss_mb:,.0f}' if sb else '–'} | {cores} |")
        lines.append("")
    if len(result.per_process) > 1:
        lines.append("Each server process: " + "; ".join(
            f"{cores:.2f} cores, peak {peak:,.0f} MB" for cores, peak in result.per_process) + ".")
    lines.append(f"Load average (1, 5, 15 min) before: {result.load_before}; after: {result.load_after}. "
                 f"The load client itself used {result.client_cpu / result.seconds:.2f} cores.")
    if errors:
        lines += ["", *(f"- error: {PAGE_NAMES.get(v.page, v.page)}"
                        f"{' (' + v.area + ')' if v.area else ''}: {v.error}" for v in errors[:20])]
    return "\n".join(lines)


def parse_options(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs (Streamlit options) as a dict."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}.")
        out[key.strip()] = value.strip()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="how long the sessions keep visiting pages")
    parser.add_argument("--scale", default="county", choices=["demo", "county", "national"])
    parser.add_argument("--areas", nargs="+", default=DEFAULT_AREAS,
                        help="ICP areas to cycle through ('' is the whole county); default: '' 'East Kent'")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a visit may take before it is an error")
    parser.add_argument("--reconnect-every", type=int, metavar="VISITS",
                        help="each session opens a new websocket (a new server session) after this many visits")
    parser.add_argument("--sample-every", type=float, help="report a timeline with one row per this many seconds")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a Streamlit option for the server, e.g. runner.postScriptGC=false (repeatable)")
    parser.add_argument("--workers", type=int,
                        help="start this many server processes behind nginx (ui.workers.nginx_site) and load them "
                             "through it; without it, one server is loaded directly")
    parser.add_argument("--url", help="load an already running server (http://127.0.0.1:PORT) instead of starting one")
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="with --url: a server process to measure (repeatable)")
    parser.add_argument("--database-url", help="a PostgreSQL database for the store (its data are replaced) "
                                               "instead of a SQLite file in --dir")
    parser.add_argument("--dir", help="folder for the store (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="use the store already there (see python -m bench)")
    parser.add_argument("--no-warm-up", dest="warm", action="store_false",
                        help="start the sessions on a just-started server with empty caches")
    parser.add_argument("--title", help="the report's heading")
    parser.add_argument("--out", help="write the Markdown report here as well as to stdout")
    parser.add_argument("--append", action="store_true", help="add to --out instead of replacing it")
    args = parser.parse_args(argv)
    options = parse_options(args.set)
    proc = None
    if args.url:
        base, pids, store = args.url, args.pid, "an already running server"
    else:
        from bench.__main__ import build_store

        folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="load-"))
        folder.mkdir(parents=True, exist_ok=True)
        url, _took, _summary = build_store(args.scale, folder, reuse=args.reuse, database_url=args.database_url)
        store = f"{args.scale} store on {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}"
        if args.workers:
            from ui.workers import start_workers, stop_workers, worker_env

            ports = [free_port() for _ in range(args.workers)]
            env = dict(worker_env(), DATABASE_URL=url)
            workers = start_workers(ports, [f"--{k}={v}" for k, v in options.items()] +
                                    ["--server.fileWatcherType", "none"], env=env, log_dir=folder)
            try:
                for port in ports:
                    wait_healthy(f"http://127.0.0.1:{port}")
                proc, base = start_nginx(ports, folder / "nginx")
            except Exception:
                stop_workers(workers)
                raise
            pids = [w.pid for w in workers]
            store += f", {args.workers} server process{'es' if args.workers > 1 else ''} behind nginx"
        else:
            proc, base = start_server(url, options=options)
            pids = [proc.pid]
    try:
        result = asyncio.run(drive(base, pids, args.sessions, args.seconds, args.areas, args.warm, args.timeout,
                                   args.sample_every, args.reconnect_every,
                                   [f"http://127.0.0.1:{p}" for p in ports] if args.workers else None))
    finally:
        if proc is not None:
            stop(proc)
        if args.workers:
            stop_workers(workers)
    areas = ", ".join(a or "the whole county" for a in args.areas)
    title = args.title or (f"Load test: {args.sessions} websocket sessions for {args.seconds:.0f} s "
                           f"({store})")
    setup = [f"{dt.datetime.now():%Y-%m-%d %H:%M}; {os.cpu_count()} cores; {len(pids)} server process"
             f"{'es' if len(pids) != 1 else ''}"
             f"{'; options ' + ', '.join(f'{k}={v}' for k, v in options.items()) if options else ''}. "
             f"Each session cycles through the {len(PAGES)} pages for {areas}"
             f"{f', opening a new websocket every {args.reconnect_every} visits' if args.reconnect_every else ''}; "
             "a visit is timed from the request to the server's script_finished."]
    text = report(result, title, setup, args.sample_every)
    print(text)
    if args.out:
        mode = "a" if args.append else "w"
        with open(args.out, mode, encoding="utf-8") as fh:
            fh.write(("\n\n" if args.append else "") + text + "\n")
    errors = [v for v in result.visits if v.error] + [v for v in (result.warm or []) if v.error]
    return 1 if errors or not any(not v.error for v in result.visits) else 0


if __name__ == "__main__":
    sys.exit(main())
