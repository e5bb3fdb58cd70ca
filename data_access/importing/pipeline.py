"""Preview, then write all or nothing, and undo: the import of the team's own files.

1. `preview_import` reads the file, drops columns that hold personal identifiers (saying so),
   matches the columns to the kind's fields, checks every row and compares each record's
   natural key with the store: rows to add, rows already present, rows rejected (with file
   row, column and reason). Nothing is written.
2. `commit_import` writes every row to add, and the log entry, in one transaction.
3. `undo_import` removes everything one import added, and marks its log entry undone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.engine import Engine

from data_access import models as m
from data_access.db import StoreError
from data_access.importing.fields import AreaResolver, FieldError
from data_access.importing.kinds import KINDS, Kind
from data_access.importing.personal_data import personal_columns
from data_access.importing.reading import ImportFileError, read_table
from data_access.settings import set_setting


class ImportError_(StoreError):
    """An import that cannot go ahead, explained in one sentence."""


@dataclass
class Problem:
    """Why one row of a file was rejected."""

    row: int
    column: str
    reason: str

    def sentence(self, file_name: str) -> str:
        return f"{file_name}, row {self.row}, column '{self.column}': {self.reason}."


@dataclass
class Preview:
    """What an import would do, before anything is written."""

    kind: str
    file_name: str
    file_hash: str
    encoding: str
    to_add: pd.DataFrame
    already_present: int
    rejected: list[Problem] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    new_networks: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The preview in plain English lines."""
        label = KINDS[self.kind].label
        lines = [f"{self.file_name} ({self.encoding}): {len(self.to_add):,} {label} to add, "
                 f"{self.already_present:,} already in the store, {len(self.rejected):,} rows rejected."]
        for col, what in self.dropped.items():
            lines.append(f"Column '{col}' looks like it holds {what}; it was dropped and will not be stored.")
        if self.ignored:
            lines.append("Columns not used: " + ", ".join(f"'{c}'" for c in self.ignored) + ".")
        if self.new_networks:
            lines.append("New networks will be created: " + ", ".join(self.new_networks) + ".")
        lines += self.notices
        lines += [p.sentence(self.file_name) for p in self.rejected[:20]]
        if len(self.rejected) > 20:
            lines.append(f"... and {len(self.rejected) - 20:,} more rejected rows.")
        return "\n".join(lines)


def _resolver(conn) -> AreaResolver:
    rows = conn.execute(select(m.Lsoa.code, m.Lsoa.lad_code, m.IcpArea.name)
                        .join(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)).all()
    return AreaResolver({code: (lad, icp) for code, lad, icp in rows})


def _match_columns(kind: Kind, headers: list[str], file_name: str) -> tuple[dict[str, str], list[str]]:
    """field -> header; and the headers not used. A missing required column is an error."""
    found: dict[str, str] = {}
    ignored = []
    for header in headers:
        column = next((c for c in kind.columns if c.matches(header) and c.field not in found), None)
        if column:
            found[column.field] = header
        else:
            ignored.append(header)
    missing = [c.label for c in kind.columns if c.required and c.field not in found]
    if missing:
        raise ImportError_(
            f"{file_name}: expected a column for {', '.join(repr(x) for x in missing)} in a file of {kind.label}, "
            f"found the columns {', '.join(repr(h) for h in headers)}.")
    return found, ignored


def preview_import(engine: Engine, kind_name: str, path: Path | str, data: bytes | None = None,
                   name: str | None = None) -> Preview:
    """Read and check a file of the kind given; nothing is written."""
    if kind_name not in KINDS:
        raise ImportError_(f"There is no kind of import called {kind_name!r}; choose one of {', '.join(KINDS)}.")
    kind = KINDS[kind_name]
    try:
        table = read_table(path, data=data, name=name)
    except ImportFileError as exc:
        raise ImportError_(str(exc)) from None
    raw = data if data is not None else Path(path).read_bytes()
    file_hash = hashlib.sha256(raw).hexdigest()
    mapped, ignored = _match_columns(kind, table.columns, table.name)
    dropped = personal_columns(table.rows[[c for c in table.columns]], keep=set(mapped.values()))
    for header in dropped:
        mapped = {f: h for f, h in mapped.items() if h != header}
        if header in ignored:
            ignored.remove(header)
    missing = [c.label for c in kind.columns if c.required and c.field not in mapped]
    if missing:
        raise ImportError_(f"{table.name}: the column for {', '.join(repr(x) for x in missing)} holds personal "
                           "data, so it was dropped and the file cannot be imported.")
    with engine.connect() as conn:
        resolver = _resolver(conn) if kind.has_area or "area" in mapped else None
        if kind.has_area and not resolver.lsoas:
            raise ImportError_("No small areas are loaded, so areas cannot be checked; load the reference data "
                               "first (engagement import-reference PATH).")
        records, problems = _read_rows(kind, table, mapped, resolver)
        preview = Preview(kind=kind_name, file_name=table.name, file_hash=file_hash, encoding=table.encoding,
                          to_add=pd.DataFrame(), already_present=0, rejected=problems, dropped=dropped,
                          ignored=ignored)
        frame = pd.DataFrame(records)
        if not frame.empty:
            frame = _link(conn, kind, frame, preview)
            frame = _drop_duplicates_in_file(kind, frame, preview)
            frame, present = _split_existing(conn, kind, frame)
            preview.already_present = present
            if kind.has_area:
                coarse = int((frame["lsoa_code"].isna() & (frame["lad_code"].notna() | frame["icp_id"].notna())).sum())
                if coarse:
                    preview.notices.append(
                        f"{coarse:,} of the rows to add give a district or ICP area rather than a small area: "
                        "they count in area totals but not in deprivation figures.")
        preview.to_add = frame
    return preview


def _read_rows(kind: Kind, table, mapped: dict[str, str], resolver) -> tuple[list[dict], list[Problem]]:
    records, problems = [], []
    for row_number, row in table.rows.iterrows():
        record = {"_row": row_number}
        bad = False
        for column in kind.columns:
            header = mapped.get(column.field)
            if header is None:
                continue
            value = row[header]
            try:
                record[column.field] = column.parse(value)
                if column.field == "area" and record["area"] is not None:
                    record["area"] = resolver.resolve(value)
            except FieldError as exc:
                problems.append(Problem(row_number, header, str(exc)))
                bad = True
        if bad:
            continue
        problem = _row_rules(kind, record, mapped)
        if problem:
            problems.append(Problem(row_number, *problem))
            continue
        records.append(record)
    return records, problems


def _row_rules(kind: Kind, r: dict, mapped: dict[str, str]) -> tuple[str, str] | None:
    """Checks across fields: (column, reason) for the first that fails."""
    if kind.name == "memberships" and r.get("left_on") and r["left_on"] < r["joined_on"]:
        return mapped["left_on"], f"expected a leaving date on or after the joining date ({r['joined_on']:%d/%m/%Y})"
    if kind.name == "panel" and r["term_end"] < r["term_start"]:
        return mapped["term_end"], f"expected a term end on or after the term start ({r['term_start']:%d/%m/%Y})"
    if kind.event_date and r.get("age") is not None and r.get("birth_year") is None:
        r["birth_year"] = r[kind.event_date].year - r["age"]
    if kind.event_date and r.get("birth_year") and r["birth_year"] > r[kind.event_date].year:
        return mapped.get("birth_year", mapped.get("age", "birth year")), "expected a year of birth before the date"
    return None


def _link(conn, kind: Kind, frame: pd.DataFrame, preview: Preview) -> pd.DataFrame:
    """Turn names into ids (networks, surveys) and areas into columns."""
    if "area" in frame:
        areas = frame["area"]
        frame["lsoa_code"] = [a.lsoa_code if a is not None else None for a in areas]
        if kind.has_area:
            icp_ids = dict(conn.execute(select(m.IcpArea.name, m.IcpArea.id)).all())
            frame["lad_code"] = [a.lad_code if a is not None else None for a in areas]
            frame["icp_id"] = [icp_ids.get(a.icp) if a is not None and a.icp else None for a in areas]
        else:
            icp_ids = dict(conn.execute(select(m.IcpArea.name, m.IcpArea.id)).all())
            frame["icp_id"] = [icp_ids.get(a.icp) if a is not None and a.icp else None for a in areas]
        frame = frame.drop(columns="area")
    if "network" in frame:
        known = dict(conn.execute(select(m.Network.name, m.Network.id)).all())
        names = [n for n in frame["network"].dropna().unique() if n not in known]
        preview.new_networks = sorted(names)
        frame["network_id"] = frame["network"].map(known)
    if "survey" in frame:
        surveys = dict(conn.execute(select(m.Survey.title, m.Survey.id)).all())
        unknown = frame["survey"].notna() & ~frame["survey"].isin(list(surveys))
        for row in frame.loc[unknown, "_row"]:
            preview.rejected.append(Problem(int(row), "survey", "expected the title of a survey in the store"))
        frame = frame[~unknown].copy()
        frame["survey_id"] = frame["survey"].map(surveys)
        frame = frame.drop(columns="survey")
    return frame


def _drop_duplicates_in_file(kind: Kind, frame: pd.DataFrame, preview: Preview) -> pd.DataFrame:
    key = [k if k != "network_id" else "network" for k in kind.key]
    dup = frame.duplicated(subset=key, keep="first")
    if dup.any():
        first = frame[~dup].set_index(key)["_row"]
        for _, r in frame[dup].iterrows():
            original = first.loc[tuple(r[k] for k in key)] if len(key) > 1 else first.loc[r[key[0]]]
            preview.rejected.append(Problem(int(r["_row"]), "(whole row)",
                                            f"expected each record once, but this repeats row {int(original)}"))
    preview.rejected.sort(key=lambda p: p.row)
    return frame[~dup].copy()


def _split_existing(conn, kind: Kind, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows whose natural key is not yet in the store, and how many are."""
    table = kind.model.__table__
    key_cols = [table.c[k] for k in kind.key]
    present = set()
    known = frame.dropna(subset=list(kind.key))
    keys = [tuple(_plain(v) for v in row) for row in known[list(kind.key)].itertuples(index=False)]
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        stmt = select(*key_cols).where(tuple_(*key_cols).in_(chunk)) if len(key_cols) > 1 else \
            select(*key_cols).where(key_cols[0].in_([k[0] for k in chunk]))
        present.update(tuple(_plain(v) for v in r) for r in conn.execute(stmt).all())
    is_present = [tuple(_plain(v) for v in (row if isinstance(row, tuple) else (row,))) in present
                  for row in frame[list(kind.key)].itertuples(index=False)]
    mask = pd.Series(is_present, index=frame.index)
    return frame[~mask].copy(), int(mask.sum())


def _plain(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def commit_import(engine: Engine, preview: Preview, user: str) -> int:
    """Write the preview's rows and its log entry in one transaction; returns the import's id."""
    kind = KINDS[preview.kind]
    now = dt.datetime.now().replace(microsecond=0)
    with engine.begin() as conn:
        log_id = conn.execute(insert(m.ImportLog.__table__).returning(m.ImportLog.__table__.c.id), [dict(
            kind=preview.kind, file_name=preview.file_name[:255], file_hash=preview.file_hash, imported_at=now,
            imported_by=user[:120], rows_added=len(preview.to_add), rows_updated=0,
            rows_skipped=preview.already_present, rows_rejected=len(preview.rejected),
            columns_dropped=", ".join(preview.dropped))]).scalar_one()
        frame = preview.to_add.copy()
        if frame.empty:
            return log_id
        if "network" in frame:
            for name in preview.new_networks:
                conn.execute(insert(m.Network.__table__), [dict(name=name, kind="Imported network")])
            ids = dict(conn.execute(select(m.Network.name, m.Network.id)).all())
            frame["network_id"] = frame["network"].map(ids)
        table = kind.model.__table__
        columns = [c.name for c in table.columns if c.name in frame.columns and c.name != "id"]
        frame = frame[columns].copy()
        frame["import_id"] = log_id
        if "channel" in frame:
            frame["channel"] = frame["channel"].fillna(m.NOT_KNOWN)
        for col in ("sex", "ethnic_group", "disability"):
            if col in table.c:
                frame[col] = frame[col].fillna(m.NOT_KNOWN) if col in frame else m.NOT_KNOWN
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        rows = [{k: _plain(v) for k, v in r.items()} for r in rows]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table), rows[start:start + 5000])
        set_setting(conn, "data_version", f"import-{log_id}-{now:%Y%m%d%H%M%S}")
    return log_id


def undo_import(engine: Engine, import_id: int, user: str) -> int:
    """Remove every record an import added, in one transaction; returns how many were removed."""
    with engine.begin() as conn:
        log = conn.execute(select(m.ImportLog.kind, m.ImportLog.undone_at).where(
            m.ImportLog.id == import_id)).one_or_none()
        if log is None:
            raise ImportError_(f"There is no import number {import_id} in the log.")
        if log.undone_at is not None:
            raise ImportError_(f"Import number {import_id} was already undone on {log.undone_at:%d/%m/%Y %H:%M}.")
        model = KINDS[log.kind].model
        removed = conn.execute(delete(model.__table__).where(model.__table__.c.import_id == import_id)).rowcount
        conn.execute(update(m.ImportLog.__table__).where(m.ImportLog.id == import_id).values(
            undone_at=dt.datetime.now().replace(microsecond=0), undone_by=user[:120]))
        set_setting(conn, "data_version", f"undo-{import_id}-{dt.datetime.now():%Y%m%d%H%M%S%f}")
    return int(removed or 0)


def import_log(conn) -> pd.DataFrame:
    """Every import, newest first."""
    rows = conn.execute(select(m.ImportLog.__table__).order_by(m.ImportLog.id.desc())).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in m.ImportLog.__table__.columns])
