"""Benchmark: build stores with the demo generator, time every page, compare with a naive baseline.

    python -m bench                                 # county scale, 3 repetitions, results to stdout
    python -m bench --scale county national --repeat 5 --out bench/RESULTS.md

For each scale it reports: how long generation took; each page's full script run (Streamlit's
AppTest) cold (caches cleared), warm (the same view again) and after a filter change, as medians;
a naive baseline that loads whole tables into pandas and aggregates there, against the SQL
queries the pages use; and the peak memory (RSS) of the process. Timings are measurements,
not tests: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.server import load_average

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "Overview": "pages/overview.py",
    "Network growth": "pages/network_growth.py",
    "Survey responses": "pages/survey_responses.py",
    "Citizens' panel coverage": "pages/panel_coverage.py",
    "Deprivation map": "pages/deprivation_map.py",
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_store(scale: str, folder: Path, seed: int = 1, reuse: bool = False,
                database_url: str | None = None) -> tuple[str, float | None, str]:
    """A seeded store at the scale given: (url, seconds taken or None if reused, generator summary). A SQLite file
    in folder, or the PostgreSQL database at database_url (created if missing; its data are replaced)."""
    from data_access.db import init_db, make_engine
    from data_access.demo import seed_demo

    if database_url:
        url = _psycopg(database_url)
        summary_file = folder / f"bench-{scale}-{_slug(url)}.txt"
        _create_database(url)
    else:
        path = folder / f"bench-{scale}.db"
        url = f"sqlite:///{path}"
        summary_file = path.with_suffix(".txt")
        if reuse and path.exists() and summary_file.exists():
            return url, None, summary_file.read_text(encoding="utf-8")
        if path.exists():
            path.unlink()
    engine = make_engine(url)
    if database_url and reuse and summary_file.exists():
        from data_access.settings import get_setting

        with engine.connect() as conn:
            version = get_setting(conn, "data_version") or ""
        if version.startswith(f"demo-{seed}-{scale}-"):
            engine.dispose()
            return url, None, summary_file.read_text(encoding="utf-8")
    init_db(engine)
    start = time.perf_counter()
    summary = seed_demo(engine, seed=seed, scale=scale)
    took = time.perf_counter() - start
    engine.dispose()
    summary_file.write_text(f"{summary} (Generated in {took:.1f} s.)", encoding="utf-8")
    return url, took, summary


def _slug(url: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in url.rsplit("@", 1)[-1])


def _psycopg(url: str) -> str:
    """A PostgreSQL URL with the psycopg driver named, as DATABASE_URL is read (data_access.db)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _create_database(url: str) -> None:
    """Create the PostgreSQL database named in url if it does not exist (from the server's postgres database)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from data_access.db import make_engine

    parsed = make_url(url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                  {"d": parsed.database}).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def time_pages(url: str, repeat: int, timeout: float) -> pd.DataFrame:
    """Median seconds for each page: cold first run, warm rerun, and a change of ICP area."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from data_access import cached

    os.environ["DATABASE_URL"] = url
    rows = []
    for name, path in PAGES.items():
        cold, warm, change = [], [], []
        for _ in range(repeat):
            cached.clear()
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
            at.run()  # the engine and the shared frame, once per session
            at.switch_page(path)
            cached.clear()  # and the one cache of query results and charts, so the first run is cold
            t = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - t)
            _check(at, name)
            t = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t)
            at.sidebar.selectbox(key="flt_icp").select("East Kent")
            t = time.perf_counter()
            at.run()
            change.append(time.perf_counter() - t)
            _check(at, name)
        rows.append({"page": name, "first run (s)": statistics.median(cold),
                     "warm rerun (s)": statistics.median(warm), "filter change (s)": statistics.median(change)})
    return pd.DataFrame(rows)


def _check(at, name: str) -> None:
    if at.exception:
        raise RuntimeError(f"{name} raised: {at.exception[0].value}")


def naive_baseline(url: str, repeat: int) -> pd.DataFrame:
    """The same figures two ways: the SQL queries the pages use, and whole tables loaded into pandas."""
    from data_access.db import make_engine
    from data_access.filters import Filters
    from data_access.geography import engagement_by_lsoa
    from data_access.networks import membership_by_month
    from data_access.profiles import representation_for
    from data_access.surveys import survey_summary

    engine = make_engine(url)
    with engine.connect() as conn:
        last = pd.read_sql("SELECT MAX(joined_on) AS d FROM networkmembership", conn)["d"].iloc[0]
    end = pd.Timestamp(last).date()
    f = Filters(None, end - dt.timedelta(days=364), end)

    def sql_network(conn):
        return membership_by_month(conn, f)

    def naive_network(conn):
        t = pd.read_sql("SELECT * FROM networkmembership", conn, parse_dates=["joined_on", "left_on"])
        n = pd.read_sql("SELECT * FROM network", conn)
        t = t.merge(n, left_on="network_id", right_on="id")
        months = pd.date_range(pd.Timestamp(f.start).to_period("M").to_timestamp(), f.end, freq="MS")
        out = []
        for name, part in t.groupby("name"):
            for mth in months:
                month_end = mth + pd.offsets.MonthEnd(0)
                out.append((name, mth, int(((part["joined_on"] >= mth) & (part["joined_on"] <= month_end)).sum()),
                            int(((part["joined_on"] <= month_end) & (part["left_on"].isna()
                                                                    | (part["left_on"] > month_end))).sum())))
        return pd.DataFrame(out)

    def sql_survey(conn):
        return survey_summary(conn, f), representation_for(conn, "respondents", "age_band", f)

    def naive_survey(conn):
        r = pd.read_sql("SELECT * FROM surveyresponse", conn, parse_dates=["submitted_at"])
        a = pd.read_sql("SELECT * FROM answer", conn)
        return r.groupby("survey_id").size(), a.groupby("question_id").size()

    def sql_map(conn):
        return engagement_by_lsoa(conn, f)

    def naive_map(conn):
        frames = [pd.read_sql(f"SELECT * FROM {t}", conn) for t in ("networkmembership", "surveyresponse",
                                                                    "panelmember")]
        return [fr.groupby("lsoa_code").size() for fr in frames]

    rows = []
    for label, sql_fn, naive_fn in (("Network growth", sql_network, naive_network),
                                    ("Survey responses", sql_survey, naive_survey),
                                    ("Deprivation map (reach)", sql_map, naive_map)):
        sql_t, naive_t = [], []
        for _ in range(repeat):
            with engine.connect() as conn:
                t = time.perf_counter()
                sql_fn(conn)
                sql_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                naive_fn(conn)
                naive_t.append(time.perf_counter() - t)
        s, n = statistics.median(sql_t), statistics.median(naive_t)
        rows.append({"queries for": label, "SQL (s)": s, "whole tables in pandas (s)": n, "ratio": n / s})
    engine.dispose()
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (numbers to 3 decimal places)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", nargs="+", default=["county"], choices=["demo", "county", "national"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="write the Markdown report here as well as to stdout")
    parser.add_argument("--dir", help="folder for the benchmark stores (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true",
                        help="time the stores already in --dir instead of generating them again")
    parser.add_argument("--database-url", help="a PostgreSQL database for the store (its data are replaced; "
                                               "created if missing) instead of SQLite files in --dir")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    report = [f"# Benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}", "",
              f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
              f"{'PostgreSQL' if args.database_url else 'SQLite'} store; load average {load_average()}; "
              f"medians of {args.repeat} runs.", ""]
    for scale in args.scale:
        url, took, summary = build_store(scale, folder, reuse=args.reuse, database_url=args.database_url)
        made = f"Generation: {took:.1f} s. {summary}" if took is not None else f"Store reused: {summary}"
        report += [f"## {scale.capitalize()} scale", "", made, ""]
        report += [markdown(time_pages(url, args.repeat, timeout=600)), ""]
        pages_peak = peak_rss_mb()
        report += [markdown(naive_baseline(url, args.repeat)), ""]
        report += [f"Peak memory (RSS) of the benchmark process: {pages_peak:,.0f} MB after the pages ran (this and "
                   f"every earlier scale), {peak_rss_mb():,.0f} MB after the naive baseline, which loads whole "
                   "tables into pandas.", ""]
    text = "\n".join(report)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
