"""Preview, then write all or nothing, and undo: the import of the team's own files.

1. `preview_import` reads the file, drops columns that hold personal identifiers (saying so; a
   postcode column finds each row's small area through a loaded postcode lookup first), matches the
   columns to the kind's fields (for a survey export: to the survey's questions too, through the
   column mapping), checks every row and compares each record's natural key with the store: rows to
   add, records already present (and, for some fields, changed since: to update), rows rejected (with
   file row, column and reason). Nothing is written.
2. `commit_import` writes every row to add and every change, and the log entry, in one transaction;
   for a survey export it also creates the survey and questions it needs and saves the mapping.
3. `undo_import` removes everything one import added, puts back the values it changed (where no
   later import has changed them again), removes the networks, surveys and questions it created if
   nothing else uses them, and marks its log entry undone; all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import and_, delete, exists, func, insert, select, tuple_, update
from sqlalchemy.engine import Engine

from data_access import models as m
from data_access import summaries
from data_access.db import StoreError, after_load
from data_access.importing import responses as wide
from data_access.importing.fields import Area, AreaResolver, FieldError
from data_access.importing.kinds import KINDS, Kind
from data_access.importing.personal_data import is_postcode_column, personal_columns
from data_access.importing.postcodes import find_postcode_areas, has_postcode_lookup, normalise_postcode
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
        """The problem as one sentence naming the file, row and column."""
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
    # Changes to records already stored: id, field, old, new, row (the file row).
    to_update: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "field", "old", "new", "row"]))
    postcode_column: str | None = None
    # Survey exports only.
    survey_title: str | None = None
    survey_id: int | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_source: dict[str, str] = field(default_factory=dict)
    mapping_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    questions: list = field(default_factory=list)
    answers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["external_id", "question", "value"]))

    @property
    def updated(self) -> int:
        """How many records already stored would be changed."""
        return int(self.to_update["id"].nunique()) if len(self.to_update) else 0

    def summary(self) -> str:
        """The preview in plain English lines."""
        label = KINDS[self.kind].label
        lines = [f"{self.file_name} ({self.encoding}): {len(self.to_add):,} {label} to add, "
                 f"{self.updated:,} to update, {self.already_present:,} already in the store unchanged, "
                 f"{len(self.rejected):,} rows rejected."]
        if self.survey_title is not None:
            lines.append(f"Survey: {self.survey_title}" + (" (new: it will be created)." if self.survey_id is None
                                                            else "."))
            for r in self.mapping_table.itertuples(index=False):
                lines.append(f"  '{r.column}' -> {r[1]} ({r.how})")
        for col, what in self.dropped.items():
            if col == self.postcode_column:
                lines.append(f"Column '{col}' holds {what}: used to find each row's small area through the "
                             "postcode lookup, then dropped; no postcode is stored.")
            else:
                lines.append(f"Column '{col}' looks like it holds {what}; it was dropped and will not be stored.")
        if self.ignored:
            lines.append("Columns not used: " + ", ".join(f"'{c}'" for c in self.ignored) + ".")
        if self.new_networks:
            lines.append("New networks will be created: " + ", ".join(self.new_networks) + ".")
        for r in self.to_update.head(20).itertuples(index=False):
            lines.append(f"Row {r.row}: {r.field} changes from {_show(r.old)} to {_show(r.new)}.")
        if len(self.to_update) > 20:
            lines.append(f"... and {len(self.to_update) - 20:,} more changes.")
        lines += self.notices
        lines += [p.sentence(self.file_name) for p in self.rejected[:20]]
        if len(self.rejected) > 20:
            lines.append(f"... and {len(self.rejected) - 20:,} more rejected rows.")
        return "\n".join(lines)

    def rejected_table(self) -> pd.DataFrame:
        """The rejected rows as a table: file row, column, reason."""
        return pd.DataFrame([(p.row, p.column, p.reason) for p in self.rejected], columns=["row", "column", "reason"])


def _show(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(blank)"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value:%d/%m/%Y}"
    return repr(value) if isinstance(value, str) else str(value)


def _resolver(conn) -> AreaResolver:
    rows = conn.execute(select(m.Lsoa.code, m.Lsoa.lad_code, m.IcpArea.name)
                        .join(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)).all()
    return AreaResolver({code: (lad, icp) for code, lad, icp in rows})


def _match_columns(kind: Kind, headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """field -> header; and the headers not used."""
    found: dict[str, str] = {}
    ignored = []
    for header in headers:
        column = next((c for c in kind.columns if c.matches(header) and c.field not in found), None)
        if column:
            found[column.field] = header
        else:
            ignored.append(header)
    return found, ignored


def preview_import(engine: Engine, kind_name: str, path: Path | str, data: bytes | None = None,
                   name: str | None = None, survey: str | None = None,
                   mapping: dict[str, str] | None = None) -> Preview:
    """Read and check a file of the kind given; nothing is written.

    For survey responses, `survey` is the survey's title (a new title creates the survey) and
    `mapping` may give or correct what columns are (header -> target, see responses.py)."""
    if kind_name not in KINDS:
        raise ImportError_(f"There is no kind of import called {kind_name!r}; choose one of {', '.join(KINDS)}.")
    kind = KINDS[kind_name]
    if kind.wide and not (survey or "").strip():
        raise ImportError_("Say which survey the responses are for (its title; a new title creates the survey).")
    try:
        table = read_table(path, data=data, name=name)
    except ImportFileError as exc:
        raise ImportError_(str(exc)) from None
    raw = data if data is not None else Path(path).read_bytes()
    file_hash = hashlib.sha256(raw).hexdigest()
    with engine.connect() as conn:
        preview = Preview(kind=kind_name, file_name=table.name, file_hash=file_hash, encoding=table.encoding,
                          to_add=pd.DataFrame(), already_present=0)
        if kind.wide:
            mapped, ignored = _map_wide(conn, kind, table, survey.strip(), mapping or {}, preview)
        else:
            mapped, ignored = _match_columns(kind, table.columns)
        dropped = personal_columns(table.rows[list(table.columns)], keep=set(mapped.values()))
        for header in dropped:
            mapped = {f: h for f, h in mapped.items() if h != header}
            if header in ignored:
                ignored.remove(header)
            if header in preview.mapping:
                preview.mapping[header] = wide.IGNORE
        preview.dropped, preview.ignored = dropped, ignored
        postcode = _postcode_source(conn, kind, dropped, preview)
        missing = [c.label for c in kind.columns if c.required and c.field not in mapped
                   and not (c.field == "area" and postcode)]
        if missing == ["area"] and any(is_postcode_column(w) for w in dropped.values()):
            raise ImportError_(f"{table.name}: the file gives postcodes but no area column, and no postcode lookup "
                               "is loaded; load one first (engagement import-postcodes FILE, or on the Data page) "
                               "so that postcodes can find the small areas. Postcodes are never stored.")
        if missing:
            personal = [h for h in dropped if any(c.matches(h) for c in kind.columns if c.label in missing)]
            if personal:
                raise ImportError_(f"{table.name}: the column for {', '.join(repr(x) for x in missing)} holds "
                                   "personal data, so it was dropped and the file cannot be imported.")
            raise ImportError_(
                f"{table.name}: expected a column for {', '.join(repr(x) for x in missing)} in a file of "
                f"{kind.label}, found the columns {', '.join(repr(h) for h in table.columns)}.")
        if kind.wide:
            preview.questions = wide.plan_questions(
                {h: t for h, t in preview.mapping.items() if h not in dropped}, table.rows, _questions(conn, preview))
            preview.mapping_table = wide.mapping_table(kind, preview.mapping, preview.mapping_source, dropped,
                                                       preview.questions)
        needs_areas = kind.has_area and ("area" in mapped or postcode)
        resolver = _resolver(conn) if needs_areas or "area" in mapped else None
        if needs_areas and not resolver.lsoas:
            raise ImportError_("No small areas are loaded, so areas cannot be checked; load the reference data "
                               "first (engagement import-reference PATH).")
        postcode_areas = find_postcode_areas(conn, table.rows[postcode]) if postcode else {}
        records, problems, answers = _read_rows(kind, table, mapped, resolver, postcode, postcode_areas, preview)
        preview.rejected = problems
        frame = pd.DataFrame(records)
        if not frame.empty:
            frame = _link(conn, kind, frame, preview)
            frame = _drop_duplicates_in_file(kind, frame, preview)
            frame, present, changes = _split_existing(conn, kind, frame)
            preview.already_present = present - (changes["id"].nunique() if len(changes) else 0)
            preview.to_update = changes
            if kind.has_area and "lsoa_code" in frame:
                coarse = int((frame["lsoa_code"].isna() & (frame["lad_code"].notna() | frame["icp_id"].notna())).sum())
                if coarse:
                    preview.notices.append(
                        f"{coarse:,} of the rows to add give a district or ICP area rather than a small area: "
                        "they count in area totals but not in deprivation figures.")
        preview.to_add = frame
        if kind.wide:
            keep = set(frame["external_id"]) if len(frame) else set()
            preview.answers = answers[answers["external_id"].isin(keep)].reset_index(drop=True)
            _wide_notices(kind, table, preview, mapped)
    return preview


# --- Survey exports --------------------------------------------------------------------------------


def _questions(conn, preview: Preview) -> pd.DataFrame:
    if preview.survey_id is None:
        return pd.DataFrame(columns=["id", "text", "qtype", "options"])
    from data_access.answers import survey_questions

    return survey_questions(conn, preview.survey_id)


def _map_wide(conn, kind: Kind, table, title: str, given: dict[str, str],
              preview: Preview) -> tuple[dict[str, str], list[str]]:
    """Work out what each column of a survey export is; field -> header, and the headers not imported."""
    if len(title) > 200:
        raise ImportError_(f"expected a survey title of at most 200 characters, found {len(title)}.")
    preview.survey_title = title
    preview.survey_id = conn.execute(select(m.Survey.id).where(m.Survey.title == title)
                                     .order_by(m.Survey.id)).scalars().first()
    unknown = [h for h in given if h not in table.columns]
    if unknown:
        raise ImportError_(f"{table.name}: the mapping names {', '.join(repr(h) for h in unknown)}, but the file "
                           f"has no such column; its columns are {', '.join(repr(h) for h in table.columns)}.")
    try:
        given = {h: wide.parse_target(kind, t) for h, t in given.items()}
    except FieldError as exc:
        raise ImportError_(f"{table.name}: the mapping is not right: {exc}.") from None
    existing = _questions(conn, preview)
    saved = wide.saved_mapping(conn, preview.survey_id)
    mapping, source = wide.resolve_mapping(kind, table.columns, list(existing["text"]), saved, given)
    fields = [t for t in mapping.values() if t.startswith("field:")]
    twice = sorted({t for t in fields if fields.count(t) > 1})
    if twice:
        label = wide.target_label(kind, twice[0], "")
        headers = [h for h, t in mapping.items() if t == twice[0]]
        raise ImportError_(f"{table.name}: the columns {', '.join(repr(h) for h in headers)} are all mapped to "
                           f"'{label}'; map one of them, and the others to 'ignore'.")
    preview.mapping, preview.mapping_source = mapping, source
    if saved and any(source[h] == "saved" for h in mapping):
        preview.notices.append(f"The column mapping saved for this survey was used for "
                               f"{sum(s == 'saved' for s in source.values()):,} columns.")
    mapped = {t.split(":", 1)[1]: h for h, t in mapping.items() if t.startswith("field:")}
    ignored = [h for h, t in mapping.items() if t == wide.IGNORE]
    return mapped, ignored


def _wide_notices(kind: Kind, table, preview: Preview, mapped: dict[str, str]) -> None:
    if "channel" not in mapped:
        preview.notices.append("The file has no channel column, so every response is counted as Online.")
    for plan in preview.questions:
        if plan.new_options and plan.question_id is not None:
            preview.notices.append(f"New answers to '{plan.text}' not among its listed options: "
                                   + ", ".join(plan.new_options[:8]) + ("..." if len(plan.new_options) > 8 else "")
                                   + ".")
    n_new = sum(p.question_id is None for p in preview.questions)
    if n_new:
        preview.notices.append(f"{n_new:,} new questions will be added to the survey.")
    if not preview.questions:
        preview.notices.append("No column is mapped to a question, so only the responses themselves (when, "
                               "where, who) will be imported.")


# --- Reading rows ---------------------------------------------------------------------------------


def _postcode_source(conn, kind: Kind, dropped: dict[str, str], preview: Preview) -> str | None:
    """The dropped postcode column that can find areas through the loaded lookup, if there is one."""
    if not any(c.field == "area" for c in kind.columns):
        return None
    candidates = [h for h, what in dropped.items() if is_postcode_column(what)]
    if not candidates:
        return None
    if not has_postcode_lookup(conn):
        preview.notices.append(f"Column '{candidates[0]}' holds postcodes, but no postcode lookup is loaded, so "
                               "it cannot be used to find areas; load one with engagement import-postcodes FILE "
                               "(or on the Data page).")
        return None
    preview.postcode_column = candidates[0]
    return candidates[0]


def _read_rows(kind: Kind, table, mapped: dict[str, str], resolver, postcode: str | None,
               postcode_areas: dict[str, str], preview: Preview) -> tuple[list[dict], list[Problem], pd.DataFrame]:
    records, problems, answers = [], [], []
    redacted = 0
    for row_number, row in table.rows.iterrows():
        record = {"_row": row_number}
        bad = False
        for column in kind.columns:
            header = mapped.get(column.field)
            if header is None:
                continue
            value = row[header]
            if column.field == "area" and postcode and row[postcode].strip():
                continue  # the postcode decides the area where the lookup knows it (below)
            try:
                record[column.field] = column.parse(value)
                if column.field == "area" and record["area"] is not None:
                    record["area"] = resolver.resolve(value)
            except FieldError as exc:
                problems.append(Problem(row_number, header, str(exc)))
                bad = True
        if postcode and not bad:
            found = _area_from_postcode(row, postcode, postcode_areas, mapped, resolver, record,
                                        required=any(c.field == "area" and c.required for c in kind.columns))
            if isinstance(found, Problem):
                problems.append(Problem(row_number, found.column, found.reason))
                bad = True
        row_answers = []
        for plan in preview.questions:
            try:
                values, was_redacted = wide.read_answer(plan, row[plan.header])
            except FieldError as exc:
                problems.append(Problem(row_number, plan.header, str(exc)))
                bad = True
                continue
            redacted += was_redacted
            row_answers += [(plan.text, v) for v in values]
        if bad:
            continue
        problem = _row_rules(kind, record, mapped)
        if problem:
            problems.append(Problem(row_number, *problem))
            continue
        records.append(record)
        if kind.wide:
            answers += [(record["external_id"], q, v) for q, v in row_answers]
    if redacted:
        preview.notices.append(f"{redacted:,} free-text answers held an e-mail address or phone number; it was "
                               "replaced by '[... removed]' and will not be stored.")
    return records, problems, pd.DataFrame(answers, columns=["external_id", "question", "value"])


def _area_from_postcode(row, postcode: str, areas: dict[str, str], mapped: dict[str, str], resolver,
                        record: dict, required: bool) -> Problem | None:
    """Set the record's area from its postcode; a Problem (row 0, filled in by the caller) if the
    postcode is not in the lookup and no area is given either."""
    value = row[postcode].strip()
    if not value:
        if "area" not in mapped and required:
            return Problem(0, postcode, "expected a postcode (or an area column), found an empty cell")
        record.setdefault("area", None)  # the area column, if there is one, was read as usual
        return None
    lsoa = areas.get(normalise_postcode(value))
    if lsoa is not None and lsoa.upper() in resolver.lsoas:  # a lookup older than the small areas loaded may not be
        record["area"] = resolver.resolve(lsoa)
        return None
    header = mapped.get("area")
    if header and row[header].strip():
        try:
            record["area"] = resolver.resolve(row[header])
            return None
        except FieldError as exc:
            return Problem(0, header, str(exc))
    return Problem(0, postcode, "expected a postcode found in the loaded postcode lookup (the postcode is not "
                                "shown here, and it is not stored)")


def _row_rules(kind: Kind, r: dict, mapped: dict[str, str]) -> tuple[str, str] | None:
    """Checks across fields: (column, reason) for the first that fails."""
    if "area" in r and r["area"] is None and any(c.field == "area" and c.required for c in kind.columns):
        return mapped.get("area", "area"), "expected an area or a postcode, found empty cells"
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
        areas = [a if isinstance(a, Area) else None for a in frame["area"]]
        icp_ids = dict(conn.execute(select(m.IcpArea.name, m.IcpArea.id)).all())
        frame["lsoa_code"] = [a.lsoa_code if a is not None else None for a in areas]
        if kind.has_area:
            frame["lad_code"] = [a.lad_code if a is not None else None for a in areas]
        frame["icp_id"] = [icp_ids.get(a.icp) if a is not None and a.icp else None for a in areas]
        frame = frame.drop(columns="area")
    if kind.wide:
        frame["survey_id"] = preview.survey_id
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
    key = [k for k in kind.key if k != "survey_id"]
    key = [k if k != "network_id" else "network" for k in key]
    dup = frame.duplicated(subset=key, keep="first")
    if dup.any():
        first = frame[~dup].set_index(key)["_row"]
        for _, r in frame[dup].iterrows():
            original = first.loc[tuple(r[k] for k in key)] if len(key) > 1 else first.loc[r[key[0]]]
            preview.rejected.append(Problem(int(r["_row"]), "(whole row)",
                                            f"expected each record once, but this repeats row {int(original)}"))
    preview.rejected.sort(key=lambda p: p.row)
    return frame[~dup].copy()


def _split_existing(conn, kind: Kind, frame: pd.DataFrame) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """The rows whose natural key is not yet in the store; how many are; and the changes to records
    already stored (a later export with a leaving date, a new status): id, field, old, new, row.
    An empty cell never clears a stored value."""
    table = kind.model.__table__
    key_cols = [table.c[k] for k in kind.key]
    wanted = [table.c.id, *key_cols, *[table.c[f] for f in kind.updatable if f in frame.columns]]
    stored: dict[tuple, dict] = {}
    known = frame.dropna(subset=list(kind.key))
    keys = [tuple(_plain(v) for v in row) for row in known[list(kind.key)].itertuples(index=False)]
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        stmt = select(*wanted).where(tuple_(*key_cols).in_(chunk)) if len(key_cols) > 1 else \
            select(*wanted).where(key_cols[0].in_([k[0] for k in chunk]))
        for r in conn.execute(stmt).mappings().all():
            stored[tuple(_plain(r[k]) for k in kind.key)] = dict(r)
    is_present, changes = [], []
    updatable = [f for f in kind.updatable if f in frame.columns]
    for record in frame.to_dict("records"):
        key = tuple(_plain(record[k]) for k in kind.key)
        old = stored.get(key)
        is_present.append(old is not None)
        if old is None:
            continue
        for name in updatable:
            new = _plain(record[name])
            if new is not None and new != _plain(old[name]):
                changes.append((old["id"], name, _plain(old[name]), new, int(record["_row"])))
    mask = pd.Series(is_present, index=frame.index, dtype=bool)
    return (frame[~mask].copy(), int(mask.sum()),
            pd.DataFrame(changes, columns=["id", "field", "old", "new", "row"]))


def _plain(value):
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


# --- Writing ----------------------------------------------------------------------------------------


def commit_import(engine: Engine, preview: Preview, user: str) -> int:
    """Write the preview's rows, its changes and its log entry in one transaction; returns the import's id."""
    kind = KINDS[preview.kind]
    now = dt.datetime.now().replace(microsecond=0)
    with engine.begin() as conn:
        log_id = conn.execute(insert(m.ImportLog.__table__).returning(m.ImportLog.__table__.c.id), [dict(
            kind=preview.kind, file_name=preview.file_name[:255], file_hash=preview.file_hash, imported_at=now,
            imported_by=user[:120], rows_added=len(preview.to_add), rows_updated=preview.updated,
            rows_skipped=preview.already_present, rows_rejected=len(preview.rejected),
            columns_dropped=", ".join(preview.dropped))]).scalar_one()
        _apply_changes(conn, kind, preview.to_update, log_id)
        frame = preview.to_add.copy()
        survey_id = _ensure_survey(conn, preview, frame, log_id) if kind.wide else None
        if not frame.empty:
            if "network" in frame:
                for name in preview.new_networks:
                    conn.execute(insert(m.Network.__table__), [dict(name=name, kind="Imported network",
                                                                    import_id=log_id)])
                ids = dict(conn.execute(select(m.Network.name, m.Network.id)).all())
                frame["network_id"] = frame["network"].map(ids)
            if kind.wide:
                frame["survey_id"] = survey_id
                frame["channel"] = frame["channel"].fillna("Online") if "channel" in frame else "Online"
            _insert_records(conn, kind, frame, log_id)
            if kind.wide:
                _insert_answers(conn, preview, survey_id, log_id)
        if kind.wide:
            wide.save_mapping(conn, survey_id, preview.survey_title,
                              {h: t for h, t in preview.mapping.items() if h not in preview.dropped})
        touched = summaries.scope(conn, summaries.surveys_of_import(conn, log_id))
        members = touched is None or summaries.members_of_import(conn, log_id)
        set_setting(conn, "data_version", f"import-{log_id}-{now:%Y%m%d%H%M%S}")
        summaries.refresh(conn, touched, members)
    after_load(engine)
    return log_id


def _insert_records(conn, kind: Kind, frame: pd.DataFrame, log_id: int) -> None:
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


def _ensure_survey(conn, preview: Preview, frame: pd.DataFrame, log_id: int) -> int:
    """The survey's id, creating the survey (dates from its responses) and any new questions."""
    survey_id = preview.survey_id
    if survey_id is None:
        dates = pd.to_datetime(frame["submitted_at"]) if len(frame) else pd.Series([pd.Timestamp.now()])
        survey_id = conn.execute(insert(m.Survey.__table__).returning(m.Survey.__table__.c.id), [dict(
            title=preview.survey_title, project="", opens_on=dates.min().date(), closes_on=dates.max().date(),
            is_panel_survey=False, import_id=log_id)]).scalar_one()
    position = conn.execute(select(func.coalesce(func.max(m.Question.position), 0))
                            .where(m.Question.survey_id == survey_id)).scalar_one()
    for plan in preview.questions:
        if plan.question_id is None:
            position += 1
            plan.question_id = conn.execute(insert(m.Question.__table__).returning(m.Question.__table__.c.id), [dict(
                survey_id=survey_id, position=position, text=plan.text, qtype=plan.qtype,
                options=json.dumps(plan.options + [o for o in plan.new_options if o not in plan.options]),
                import_id=log_id)]).scalar_one()
    return survey_id


def _insert_answers(conn, preview: Preview, survey_id: int, log_id: int) -> None:
    if preview.answers.empty:
        return
    r = m.SurveyResponse
    ids = dict(conn.execute(select(r.external_id, r.id).where(r.survey_id == survey_id, r.import_id == log_id)).all())
    questions = {p.text: p.question_id for p in preview.questions}
    rows = [dict(response_id=ids[e], question_id=questions[q], value=v)
            for e, q, v in preview.answers.itertuples(index=False)]
    for start in range(0, len(rows), 5000):
        conn.execute(insert(m.Answer.__table__), rows[start:start + 5000])


def _encode(value) -> str | None:
    value = _plain(value)
    if value is None:
        return None
    return json.dumps(value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value)


def _decode(column, text: str | None):
    if text is None:
        return None
    value = json.loads(text)
    python_type = column.type.python_type
    if python_type is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if python_type is dt.datetime and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def _apply_changes(conn, kind: Kind, changes: pd.DataFrame, log_id: int) -> None:
    """Write changed values to records already stored, keeping each value before in ImportChange."""
    if changes.empty:
        return
    table = kind.model.__table__
    for record_id, name, old, new in changes[["id", "field", "old", "new"]].itertuples(index=False):
        conn.execute(update(table).where(table.c.id == int(record_id)).values({name: _plain(new)}))
        conn.execute(insert(m.ImportChange.__table__), [dict(
            import_id=log_id, table_name=table.name, record_id=int(record_id), field_name=name,
            old_value=_encode(old), new_value=_encode(new))])


# --- Undo -------------------------------------------------------------------------------------------


@dataclass
class UndoResult:
    """What undoing an import did."""

    import_id: int
    removed: int = 0
    restored: int = 0
    kept: int = 0  # changed values left alone because a later import changed them again
    removed_networks: list[str] = field(default_factory=list)
    removed_surveys: list[str] = field(default_factory=list)
    removed_questions: int = 0

    def sentence(self) -> str:
        """What was done, in one plain-English paragraph."""
        parts = [f"Import number {self.import_id} undone: {self.removed:,} records removed"]
        if self.restored:
            parts.append(f"{self.restored:,} changed values put back as they were")
        if self.kept:
            parts.append(f"{self.kept:,} changed values left as they are because a later import changed them again")
        if self.removed_networks:
            parts.append("networks it created removed: " + ", ".join(self.removed_networks))
        if self.removed_surveys:
            parts.append("surveys it created removed: " + ", ".join(self.removed_surveys))
        if self.removed_questions:
            parts.append(f"{self.removed_questions:,} questions it created removed")
        return "; ".join(parts) + "."


def undo_import(engine: Engine, import_id: int, user: str) -> UndoResult:
    """Undo one import as a whole, in one transaction (see the module's description)."""
    result = UndoResult(import_id)
    with engine.begin() as conn:
        log = conn.execute(select(m.ImportLog.kind, m.ImportLog.undone_at).where(
            m.ImportLog.id == import_id)).one_or_none()
        if log is None:
            raise ImportError_(f"There is no import number {import_id} in the log.")
        if log.undone_at is not None:
            raise ImportError_(f"Import number {import_id} was already undone on {log.undone_at:%d/%m/%Y %H:%M}.")
        table = KINDS[log.kind].model.__table__
        touched = summaries.scope(conn, summaries.surveys_of_import(conn, import_id))  # before its records go
        members = touched is None or summaries.members_of_import(conn, import_id)
        _restore_changes(conn, table, import_id, result)
        if table.name == "surveyresponse":
            mine = select(table.c.id).where(table.c.import_id == import_id)
            conn.execute(delete(m.Answer.__table__).where(m.Answer.__table__.c.response_id.in_(mine)))
        result.removed = int(conn.execute(delete(table).where(table.c.import_id == import_id)).rowcount or 0)
        conn.execute(update(m.ImportLog.__table__).where(m.ImportLog.id == import_id).values(
            undone_at=dt.datetime.now().replace(microsecond=0), undone_by=user[:120]))
        _remove_unused_created(conn, result)
        set_setting(conn, "data_version", f"undo-{import_id}-{dt.datetime.now():%Y%m%d%H%M%S%f}")
        summaries.refresh(conn, touched, members)
    after_load(engine)
    return result


def _restore_changes(conn, table, import_id: int, result: UndoResult) -> None:
    """Put back the values an import changed, unless a later import has changed them again."""
    c = m.ImportChange
    changes = conn.execute(select(c.record_id, c.field_name, c.old_value, c.new_value)
                           .where(c.import_id == import_id).order_by(c.id.desc())).all()
    for record_id, name, old, new in changes:
        column = table.c[name]
        current = conn.execute(select(column).where(table.c.id == record_id)).one_or_none()
        if current is None:
            continue  # the record has gone (an import that added it was undone)
        if _plain(current[0]) != _decode(column, new):
            result.kept += 1
            continue
        conn.execute(update(table).where(table.c.id == record_id).values({name: _decode(column, old)}))
        result.restored += 1


def _remove_unused_created(conn, result: UndoResult) -> None:
    """Remove networks, surveys and questions that an undone import created and nothing uses now."""
    undone = select(m.ImportLog.id).where(m.ImportLog.undone_at.is_not(None))
    q, a = m.Question.__table__, m.Answer.__table__
    unused_q = and_(q.c.import_id.in_(undone), ~exists().where(a.c.question_id == q.c.id))
    result.removed_questions = int(conn.execute(delete(q).where(unused_q)).rowcount or 0)
    s = m.Survey.__table__
    users = [(m.SurveyResponse.__table__, "survey_id"), (q, "survey_id"), (m.Activity.__table__, "survey_id"),
             (m.Action.__table__, "survey_id"), (m.PanelInvitation.__table__, "survey_id")]
    unused_s = and_(s.c.import_id.in_(undone), *[~exists().where(t.c[col] == s.c.id) for t, col in users])
    surveys = conn.execute(select(s.c.id, s.c.title).where(unused_s)).all()
    if surveys:
        ids = [i for i, _ in surveys]
        conn.execute(delete(m.ColumnMapping.__table__).where(m.ColumnMapping.__table__.c.survey_id.in_(ids)))
        conn.execute(delete(m.SurveyArea.__table__).where(m.SurveyArea.__table__.c.survey_id.in_(ids)))
        conn.execute(delete(s).where(s.c.id.in_(ids)))
        result.removed_surveys = [t for _, t in surveys]
    n = m.Network.__table__
    users = [(m.NetworkMembership.__table__, "network_id"), (m.Activity.__table__, "network_id")]
    unused_n = and_(n.c.import_id.in_(undone), *[~exists().where(t.c[col] == n.c.id) for t, col in users])
    networks = conn.execute(select(n.c.id, n.c.name).where(unused_n)).all()
    if networks:
        conn.execute(delete(n).where(n.c.id.in_([i for i, _ in networks])))
        result.removed_networks = [name for _, name in networks]


def import_log(conn) -> pd.DataFrame:
    """Every import, newest first."""
    rows = conn.execute(select(m.ImportLog.__table__).order_by(m.ImportLog.id.desc())).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in m.ImportLog.__table__.columns])
