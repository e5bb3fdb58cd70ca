"""The `engagement` command line: set up the store, seed demo data, load reference data."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError

from data_access.db import PROJECT_ROOT, StoreError, database_url, init_db, make_engine


def _cmd_init_db(args: argparse.Namespace) -> int:
    engine = make_engine()
    init_db(engine)
    print(f"The store is ready at {_safe_url(database_url())}.")
    return 0


def _cmd_seed_demo(args: argparse.Namespace) -> int:
    from data_access.demo import seed_demo

    engine = make_engine()
    init_db(engine)
    summary = seed_demo(engine, seed=args.seed, scale=args.scale, replace=True)
    print(summary)
    return 0


def _cmd_import_reference(args: argparse.Namespace) -> int:
    from data_access.reference_import import import_reference

    engine = make_engine()
    init_db(engine)
    report = import_reference(engine, Path(args.path))
    print(report.summary())
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from data_access.importing.kinds import KINDS
    from data_access.importing.pipeline import commit_import, preview_import
    from data_access.importing.responses import parse_mapping_file, parse_mapping_lines

    kind = KINDS[args.kind]
    if kind.wide and not args.survey:
        print("Error: say which survey the responses are for with --survey TITLE (a new title creates the "
              "survey).", file=sys.stderr)
        return 1
    mapping = {}
    if args.mapping:
        mapping.update(parse_mapping_file(kind, Path(args.mapping).read_text(encoding="utf-8-sig")))
    mapping.update(parse_mapping_lines(kind, args.map or []))
    engine = make_engine()
    init_db(engine)
    preview = preview_import(engine, args.kind, Path(args.file), survey=args.survey, mapping=mapping)
    print(preview.summary())
    if preview.rejected and not args.skip_rejected:
        print(f"Nothing was imported: {len(preview.rejected):,} rows were rejected. Correct them, or run again "
              "with --skip-rejected to import the other rows.", file=sys.stderr)
        return 1
    if args.dry_run:
        print("Dry run: nothing was written.")
        return 0
    import_id = commit_import(engine, preview, args.user)
    print(f"Imported as number {import_id}: {len(preview.to_add):,} added, {preview.updated:,} updated. "
          f"Undo with: engagement undo {import_id}")
    return 0


def _cmd_imports(args: argparse.Namespace) -> int:
    from data_access.importing.pipeline import import_log

    engine = make_engine()
    init_db(engine)
    with engine.connect() as conn:
        log = import_log(conn)
    if log.empty:
        print("No files have been imported yet.")
        return 0
    for r in log.itertuples():
        state = f"undone {r.undone_at:%d/%m/%Y %H:%M} by {r.undone_by}" if r.undone_at is not None and \
            not _is_missing(r.undone_at) else "in the store"
        print(f"{r.id}: {r.imported_at:%d/%m/%Y %H:%M} {r.kind} from {r.file_name} by {r.imported_by}: "
              f"{r.rows_added:,} added, {r.rows_updated:,} updated, {r.rows_skipped:,} already present, "
              f"{r.rows_rejected:,} rejected ({state})")
    return 0


def _is_missing(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _cmd_undo(args: argparse.Namespace) -> int:
    from data_access.importing.pipeline import undo_import

    engine = make_engine()
    init_db(engine)
    print(undo_import(engine, args.import_id, args.user).sentence())
    return 0


def _cmd_import_postcodes(args: argparse.Namespace) -> int:
    from data_access.importing.postcodes import load_postcode_lookup

    engine = make_engine()
    init_db(engine)
    print(load_postcode_lookup(engine, Path(args.file)).sentence())
    return 0


def _cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from data_access.access import MIN_PASSWORD_LENGTH, hash_password

    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Editor password: ")
        if getpass.getpass("The same again: ") != password:
            print("Error: the two passwords differ; nothing was made.", file=sys.stderr)
            return 1
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"Error: use a password of at least {MIN_PASSWORD_LENGTH} characters.", file=sys.stderr)
        return 1
    print(hash_password(password))
    print("Put this in .streamlit/secrets.toml as editor_password_hash = \"...\", or in the environment "
          "variable ENGAGEMENT_EDITOR_PASSWORD_HASH. The password itself is not stored anywhere.", file=sys.stderr)
    return 0


def _cmd_board_pack(args: argparse.Namespace) -> int:
    from board_pack import PackError, build_pack, parse_filters
    from data_access.cached import QueryContext

    import datetime as dt

    from data_access.filters import DEFAULT_PERIOD_DAYS, data_bounds

    engine = make_engine()
    init_db(engine)
    start, end, chosen = args.start, args.end, ""
    if not (start and end):
        with engine.connect() as conn:
            _, last = data_bounds(conn)
        try:  # a date given is checked here, so that a wrong one is one sentence
            end_date = parse_filters(None, end, end).end if end else last
        except PackError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
        end = end or last.isoformat()
        start = start or (end_date - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)).isoformat()
        given = "--from" if args.start else "--to" if args.end else None
        chosen = (f" (the dashboard's default period: the year to the latest engagement data; give --from and --to "
                  f"for another)" if given is None else
                  f" (only {given} was given: {'to the latest engagement data' if given == '--from' else 'the year to it'})")
    try:
        filters = parse_filters(args.icp, start, end)
    except PackError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    context = QueryContext.open(engine, filters)  # an area missing from the store is one sentence too (main)
    paths = build_pack(context, filters, Path(args.out), images=not args.no_images)
    print(f"Board pack for {filters.area_label}, {filters.period_label}{chosen}: "
          + " and ".join(str(p) for p in paths))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("Error: --workers must be 1 or more.", file=sys.stderr)
        return 1
    if args.workers > 1:
        from ui.workers import serve

        return serve(args.workers, args.port)
    cmd = [
        sys.executable, "-m", "ui.launch",
        "--server.port", str(args.port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]
    return subprocess.call(cmd, cwd=PROJECT_ROOT, env=os.environ.copy())


def _safe_url(url: str) -> str:
    """The URL with any password hidden."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="engagement",
        description="Kent and Medway engagement dashboard: manage the store behind it.",
        epilog="The store is DATABASE_URL if set, otherwise the SQLite file data/engagement.db.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init-db", help="create the store's tables, or upgrade them in place")
    p.set_defaults(func=_cmd_init_db)

    p = sub.add_parser("seed-demo", help="replace the engagement data with generated demo data")
    p.add_argument("--seed", type=int, default=2026, help="random seed (the same seed gives the same data)")
    p.add_argument("--scale", choices=["demo", "county", "national"], default="demo",
                   help="demo (quick, the default), county (Kent and Medway at full size) or national")
    p.set_defaults(func=_cmd_seed_demo)

    p = sub.add_parser("import-reference",
                       help="load reference data (IMD, census population, boundaries, lookups) from a file or folder")
    p.add_argument("path", help="a CSV, XLSX or GeoJSON file, or a folder of them")
    p.set_defaults(func=_cmd_import_reference)

    from data_access.importing.kinds import KINDS

    user = os.environ.get("USER") or os.environ.get("USERNAME") or "command line"
    p = sub.add_parser("import", help="import the team's own data: " + ", ".join(KINDS),
                       description="Check a CSV or XLSX file, show what it would add, and add it in one go. "
                                   "Columns holding names, e-mail addresses, phone numbers or postcodes are "
                                   "dropped. Re-importing a file adds nothing twice.")
    p.add_argument("kind", choices=list(KINDS))
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="check and show the preview only")
    p.add_argument("--skip-rejected", action="store_true", help="import the good rows even if some are rejected")
    p.add_argument("--user", default=user, help="who is importing (recorded in the log)")
    p.add_argument("--survey", help="responses only: the survey's title (a new title creates the survey)")
    p.add_argument("--map", action="append", metavar="HEADER=TARGET",
                   help="responses only: what a column is - a field ('response id', 'submitted', 'area', 'age', "
                        "...), 'question', 'question: TEXT' or 'ignore'; repeat for more columns. The mapping "
                        "is saved with the survey and used again for its next export")
    p.add_argument("--mapping", metavar="FILE", help="responses only: a file of HEADER=TARGET lines, or JSON")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("imports", help="list the import log")
    p.set_defaults(func=_cmd_imports)

    p = sub.add_parser("undo", help="undo one import as a whole (see `engagement imports`)")
    p.add_argument("import_id", type=int)
    p.add_argument("--user", default=user)
    p.set_defaults(func=_cmd_undo)

    p = sub.add_parser("import-postcodes", help="load a postcode lookup (e.g. ONS NSPL: pcds, lsoa21cd) so that "
                                                "files with full postcodes find their small area")
    p.add_argument("file", help="a CSV file with a postcode column and an LSOA column")
    p.set_defaults(func=_cmd_import_postcodes)

    p = sub.add_parser("hash-password", help="make the hash of an editor password for the dashboard's sign-in")
    p.add_argument("--stdin", action="store_true", help="read the password from standard input (no prompt)")
    p.set_defaults(func=_cmd_hash_password)

    p = sub.add_parser("board-pack", help="write the governing-body pack (HTML report and PowerPoint deck)",
                       description="Write the board pack for an ICP area and period: a self-contained HTML report "
                                   "and a PowerPoint deck, into the folder given.")
    p.add_argument("--icp", default="all", help="ICP area, by name or short name (default: all of Kent and Medway)")
    p.add_argument("--from", dest="start", help="first day of the period, YYYY-MM-DD (default: a year before --to)")
    p.add_argument("--to", dest="end", help="last day of the period, YYYY-MM-DD (default: the latest engagement "
                                            "data, as the dashboard's default period)")
    p.add_argument("--out", default=".", help="folder to write the two files into (made if needed)")
    p.add_argument("--no-images", action="store_true", help="leave the chart pictures out of the deck (faster)")
    p.set_defaults(func=_cmd_board_pack)

    p = sub.add_parser("serve", help="start the dashboard")
    p.add_argument("--port", type=int, default=8501,
                   help="the port readers use (with --workers, nginx's; the processes take the ports after it)")
    p.add_argument("--workers", type=int, default=1,
                   help="start this many dashboard processes and print the nginx configuration that serves them "
                        "(see deploy/README.md)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors print one sentence and exit non-zero."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except StoreError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        detail = str(exc.orig).splitlines()[0] if exc.orig else exc.__class__.__name__
        print(f"Error: cannot use the database at {_safe_url(database_url())} ({detail}); check DATABASE_URL "
              "and that the database server is running.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback on the command line
        print(f"Error: {exc.__class__.__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
