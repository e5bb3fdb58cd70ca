"""Summary tables kept with the data: counts by the cells the pages need, rewritten from the records in the same
transaction as every import, undo, demo load and reference import (refresh), so the pages read thousands of rows
instead of millions.

The records stay the source of truth. A page's counting function reads the summaries only while they were written
for the store's present data (current: the 'summaries_of' setting equals the 'data_version' setting, both written in
one transaction); otherwise (a store filled by hand, or changed without a new refresh) it counts the records, as it
did before. records_only() makes the counting functions read the records (the tests' independent oracle).

Cells (models.SUMMARY_TABLES): responses per survey x day x channel x ICP area; respondents per survey x age band x
sex x ethnic group x disability x small area's IMD decile, ICP area and district; and, for every question that is not
free text, the respondents choosing each answer, and those answering at all, per raking cell (age band x sex x IMD
quintile) x ICP area and per group of every dimension x ICP area. Network memberships and panel members are still
counted from their records (see README "How it is built").
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterable, Iterator

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, case, delete, func, insert, literal, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import icp_id
from data_access.settings import get_setting, set_setting
from data_access.sql import age_band, calendar_day, imd_quintile, year_of

MARKER = "summaries_of"
_records_only: ContextVar[bool] = ContextVar("summaries_records_only", default=False)


@contextmanager
def records_only() -> Iterator[None]:
    """Within this block the counting functions count the records, not the summaries (for the tests' oracle)."""
    token = _records_only.set(True)
    try:
        yield
    finally:
        _records_only.reset(token)


def current(conn: Connection) -> bool:
    """True when the summaries were written for the store's present data, so a counting function may read them."""
    return not _records_only.get() and _written_for_present_data(conn)


def scope(conn: Connection, survey_ids: Iterable[int]) -> list[int] | None:
    """The surveys a write must refresh, worked out before it changes the data version: those given where the
    summaries were current until now, else None (all: a refresh of some surveys would keep stale ones)."""
    return sorted(set(survey_ids)) if _written_for_present_data(conn) else None


def _written_for_present_data(conn: Connection) -> bool:
    s = m.Setting
    rows = dict(conn.execute(select(s.key, s.value).where(s.key.in_(["data_version", MARKER]))).all())
    return bool(rows.get("data_version")) and rows.get(MARKER) == rows["data_version"]


def in_area(stmt, table, conn: Connection, icp: str | None):
    """A summary statement restricted to the people counted in the ICP area (if one is chosen), as in_icp does."""
    ident = icp_id(conn, icp)
    return stmt if ident is None else stmt.where(table.icp_key == ident)


# --- Writing them -------------------------------------------------------------------------------------------------


def refresh(conn: Connection, survey_ids: Iterable[int] | None = None) -> None:
    """Rewrite the summaries from the records (of every survey, or only of the surveys given) and mark them as of the
    store's present data version. Call it in the writing transaction, after the data version is set."""
    ids = None if survey_ids is None else sorted({int(i) for i in survey_ids})
    if ids is None or ids:
        for table in m.SUMMARY_TABLES:
            stmt = delete(table.__table__)
            conn.execute(stmt if ids is None else stmt.where(table.__table__.c.survey_id.in_(ids)))
        _fill_responses(conn, ids)
        _fill_answers(conn, ids)
    set_setting(conn, MARKER, get_setting(conn, "data_version") or "")


def forget(conn: Connection) -> None:
    """Empty the summaries and mark them as of no data version (the counting functions read the records until the
    next refresh)."""
    for table in m.SUMMARY_TABLES:
        conn.execute(delete(table.__table__))
    set_setting(conn, MARKER, "")


def surveys_of_import(conn: Connection, import_id: int) -> set[int]:
    """The surveys whose responses, or questions, an import added or changed (whose summaries it changes)."""
    r, c = m.SurveyResponse, m.ImportChange
    added = select(r.survey_id).where(r.import_id == import_id)
    changed = select(r.survey_id).where(r.id.in_(select(c.record_id).where(
        c.import_id == import_id, c.table_name == r.__tablename__)))
    created = select(m.Survey.id).where(m.Survey.import_id == import_id)
    asked = select(m.Question.survey_id).where(m.Question.import_id == import_id)
    return {int(i) for q in (added, changed, created, asked) for i in conn.execute(q.distinct()).scalars()}


def _respondent_columns():
    """A respondent's cell as written in the summaries, from SurveyResponse outer-joined to Lsoa."""
    r, L = m.SurveyResponse, m.Lsoa
    return [age_band(r.birth_year, year_of(r.submitted_at)).label("age_band"), r.sex, r.ethnic_group, r.disability,
            L.imd_decile.label("imd_decile"), L.icp_id.label("lsoa_icp"), L.lad_code.label("lad_code")]


def _icp_key():
    """The ICP area a respondent counts in for the area filter (as filters.in_icp)."""
    r, L = m.SurveyResponse, m.Lsoa
    return case((r.lsoa_code.is_(None), r.icp_id), else_=L.icp_id).label("icp_key")


def _insert_grouped(conn: Connection, table, columns: list, select_from, where: list, count, fixed: tuple = ()) -> None:
    """INSERT INTO table SELECT columns..., fixed..., count FROM select_from WHERE ... GROUP BY columns (fixed: constant
    columns as (name, value))."""
    constants = [literal(value, String(80)).label(name) for name, value in fixed]
    stmt = select(*columns, *constants, count.label("n")).select_from(select_from).where(*where).group_by(*columns)
    names = [c.name for c in columns] + [name for name, _ in fixed] + ["n"]
    conn.execute(insert(table.__table__).from_select(names, stmt))


def _fill_responses(conn: Connection, ids: list[int] | None) -> None:
    r, L = m.SurveyResponse, m.Lsoa
    joined = r.__table__.outerjoin(L.__table__, L.code == r.lsoa_code)
    where = [] if ids is None else [r.survey_id.in_(ids)]
    _insert_grouped(conn, m.SummaryResponseDay, [r.survey_id, calendar_day(r.submitted_at).label("day"), r.channel,
                                                 _icp_key()], joined, where, func.count())
    own = case((r.lsoa_code.is_(None), r.icp_id)).label("own_icp")
    _insert_grouped(conn, m.SummaryRespondentCell,
                    [r.survey_id, *_respondent_columns(), L.code.is_not(None).label("placed"), own, _icp_key()],
                    joined, where, func.count())


_CELLS = ["age_band", "sex", "ethnic_group", "disability", "imd_decile", "lsoa_icp", "lad_code", "icp_key"]


def _scratch(name: str, with_value: bool) -> Table:
    """A temporary table of answer counts per question (and answer) and respondent's full cell."""
    cols = [Column("survey_id", Integer), Column("question_id", Integer)]
    if with_value:
        cols.append(Column("value", Text))
    cols += [Column("age_band", String(20)), Column("sex", String(20)), Column("ethnic_group", String(20)),
             Column("disability", String(20)), Column("imd_decile", Integer), Column("lsoa_icp", Integer),
             Column("lad_code", String(9)), Column("icp_key", Integer), Column("n", Integer)]
    return Table(name, MetaData(), *cols, prefixes=["TEMPORARY"])


def _respondents_scratch(conn: Connection, ids: list[int] | None) -> Table:
    """A temporary table of every respondent's full cell (response_id, then _CELLS), worked out once."""
    r, L = m.SurveyResponse, m.Lsoa
    table = Table("summary_scratch_respondents", MetaData(), Column("response_id", Integer, primary_key=True),
                  Column("age_band", String(20)), Column("sex", String(20)), Column("ethnic_group", String(20)),
                  Column("disability", String(20)), Column("imd_decile", Integer), Column("lsoa_icp", Integer),
                  Column("lad_code", String(9)), Column("icp_key", Integer), prefixes=["TEMPORARY"])
    table.drop(conn, checkfirst=True)
    table.create(conn)
    stmt = select(r.id, *_respondent_columns(), _icp_key()).select_from(
        r.__table__.outerjoin(L.__table__, L.code == r.lsoa_code))
    if ids is not None:
        stmt = stmt.where(r.survey_id.in_(ids))
    conn.execute(insert(table).from_select([c.name for c in table.c], stmt))
    return table


def _fill_answers(conn: Connection, ids: list[int] | None) -> None:
    """The answer summaries, from one scan of the answers per kind (chosen, answered) into a scratch table of full
    cells (each respondent is in one cell, so counts of distinct respondents add up over cells)."""
    a, q = m.Answer, m.Question
    people = _respondents_scratch(conn, ids)
    joined = a.__table__.join(q.__table__, q.id == a.question_id).join(people, people.c.response_id == a.response_id)
    where = [q.qtype != "free_text", func.length(func.trim(a.value)) > 0]  # as answers._answered counts them
    if ids is not None:
        where.append(q.survey_id.in_(ids))
    cell = [people.c[c] for c in _CELLS]
    for with_value, cell_table, group_table in ((True, m.SummaryAnswerCell, m.SummaryAnswerGroup),
                                                (False, m.SummaryQuestionCell, m.SummaryQuestionGroup)):
        scratch = _scratch("summary_scratch_answers" if with_value else "summary_scratch_questions", with_value)
        scratch.drop(conn, checkfirst=True)
        scratch.create(conn)
        keys = [q.survey_id, a.question_id, *([a.value] if with_value else [])]
        stmt = select(*keys, *cell, func.count(func.distinct(a.response_id))).select_from(joined).where(
            *where).group_by(*keys, *cell)
        conn.execute(insert(scratch).from_select([c.name for c in scratch.c], stmt))
        _derive(conn, scratch, with_value, cell_table, group_table)
        scratch.drop(conn)
    people.drop(conn)


def _group_of(dimension: str, s: Table):
    """A respondent's group on a dimension from a scratch table's cell, as profiles.respondent_group says."""
    if dimension in ("age_band", "sex", "ethnic_group", "disability"):
        return s.c[dimension]
    if dimension == "imd_quintile":
        return imd_quintile(s.c.imd_decile)
    if dimension == "icp_area":
        return func.coalesce(m.IcpArea.name, m.NOT_KNOWN)
    return func.coalesce(m.LocalAuthority.name, m.NOT_KNOWN)


GROUP_DIMENSIONS = ["age_band", "sex", "ethnic_group", "disability", "imd_quintile", "icp_area", "district"]


def _derive(conn: Connection, s: Table, with_value: bool, cell_table, group_table) -> None:
    """The raking-cell and per-dimension summaries of the answers from the scratch table of full cells."""
    keys = [s.c.survey_id, s.c.question_id, *([s.c.value] if with_value else [])]
    raking = [s.c.age_band, s.c.sex, imd_quintile(s.c.imd_decile).label("imd_quintile"), s.c.icp_key]
    _insert_grouped(conn, cell_table, [*keys, *raking], s, [], func.sum(s.c.n))
    places = (s.outerjoin(m.IcpArea.__table__, m.IcpArea.id == s.c.lsoa_icp)
              .outerjoin(m.LocalAuthority.__table__, m.LocalAuthority.code == s.c.lad_code))
    for dim in GROUP_DIMENSIONS:
        columns = [*keys, _group_of(dim, s).label("group_name"), s.c.icp_key]
        _insert_grouped(conn, group_table, columns, places, [], func.sum(s.c.n), fixed=(("dimension", dim),))


# --- Reading them ---------------------------------------------------------------------------------------------------


def counted(conn: Connection, model, columns: list, where: list, icp: str | None, joins: tuple = ()) -> list:
    """Rows of the columns given and the people counted (sum of n) in a summary table, grouped by the columns, in the
    ICP area (or all): the summaries' GROUP BY. joins: (table, on) pairs outer-joined to the summary table."""
    source = model.__table__
    for table, on in joins:
        source = source.outerjoin(table, on)
    stmt = select(*columns, func.sum(model.n)).select_from(source).where(*where)
    stmt = in_area(stmt.group_by(*columns) if columns else stmt, model, conn, icp)
    return conn.execute(stmt).all()


def respondent_group(dimension: str):
    """A respondent's group on a dimension in SummaryRespondentCell, as profiles.respondent_group says (read with
    RESPONDENT_PLACES joined)."""
    t = m.SummaryRespondentCell
    if dimension in ("age_band", "sex", "ethnic_group", "disability"):
        return getattr(t, dimension)
    if dimension == "imd_quintile":
        return imd_quintile(t.imd_decile)
    if dimension == "icp_area":
        return func.coalesce(m.IcpArea.name, m.NOT_KNOWN)
    if dimension == "district":
        return func.coalesce(m.LocalAuthority.name, m.NOT_KNOWN)
    raise ValueError(f"Unknown dimension {dimension!r}.")


RESPONDENT_PLACES = ((m.IcpArea.__table__, m.IcpArea.id == m.SummaryRespondentCell.lsoa_icp),
                     (m.LocalAuthority.__table__, m.LocalAuthority.code == m.SummaryRespondentCell.lad_code))
