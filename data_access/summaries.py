"""Summary tables kept with the data: counts by the cells the pages need, rewritten from the records in the same
transaction as every import, undo, demo load and reference import (refresh), so the pages read thousands of rows
instead of millions.

The records stay the source of truth. A page's counting function reads the summaries only while they were written
for the store's present data (current: the 'summaries_of' setting equals the 'data_version' setting, both written in
one transaction); otherwise (a store filled by hand, or changed without a new refresh) it counts the records, as it
did before. records_only() makes the counting functions read the records (the tests' independent oracle).

Cells (models.SUMMARY_TABLES): responses per survey x day x channel x ICP area; respondents per survey x age band x
sex x ethnic group x disability x small area's IMD decile, ICP area and district; for every question that is not
free text, the respondents per set of values chosen x ICP area x age band x sex x ethnic group x disability x IMD
quintile x small area's ICP area (answers.question_cells, and the raking cells, are GROUP BYs over it); and for every
free-text question, the answers per ICP area x set of themes mentioned (answers.free_text_cells), as the theme list
was at the refresh. Network memberships and panel members are still counted from their records (see README "How
it is built").
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterable, Iterator

from sqlalchemy import (
    BigInteger, Column, Integer, MetaData, String, Table, and_, case, cast, delete, func, insert, literal, or_,
    select, union_all,
)
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import counted_icp, icp_id
from data_access.settings import get_setting, set_setting
from data_access.sql import age_band, calendar_day, imd_quintile, month_start, year_of

MARKER = "summaries_of"
THEMES = "summary_themes"  # the theme list the free-text summaries were written with
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


def refresh(conn: Connection, survey_ids: Iterable[int] | None = None, members: bool | None = None) -> None:
    """Rewrite the summaries from the records (of every survey, or only of the surveys given; the memberships' where
    members is true, by default where every survey's are rewritten) and mark them as of the store's present data
    version. Call it in the writing transaction, after the data version is set."""
    ids = None if survey_ids is None else sorted({int(i) for i in survey_ids})
    if members if members is not None else ids is None:
        for table in m.MEMBER_SUMMARY_TABLES:
            conn.execute(delete(table.__table__))
        _fill_members(conn)
    if ids is not None and get_setting(conn, THEMES) != theme_list_key(conn):
        ids = None  # the other surveys' free-text summaries are of another theme list
    if ids is None or ids:
        for table in m.SUMMARY_TABLES:
            stmt = delete(table.__table__)
            conn.execute(stmt if ids is None else stmt.where(table.__table__.c.survey_id.in_(ids)))
        _fill_responses(conn, ids)
        _fill_answers(conn, ids)
        _fill_free_text(conn, ids)
    set_setting(conn, MARKER, get_setting(conn, "data_version") or "")
    set_setting(conn, THEMES, theme_list_key(conn))


def forget(conn: Connection) -> None:
    """Empty the summaries and mark them as of no data version (the counting functions read the records until the
    next refresh)."""
    for table in [*m.SUMMARY_TABLES, *m.MEMBER_SUMMARY_TABLES]:
        conn.execute(delete(table.__table__))
    set_setting(conn, MARKER, "")
    set_setting(conn, THEMES, "")


def members_of_import(conn: Connection, import_id: int) -> bool:
    """True where an import added or changed network memberships (whose summaries it changes)."""
    t, c = m.NetworkMembership, m.ImportChange
    added = select(t.id).where(t.import_id == import_id)
    changed = select(c.id).where(c.import_id == import_id, c.table_name == t.__tablename__)
    return any(conn.execute(q.limit(1)).first() for q in (added, changed))


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
    return counted_icp(m.SurveyResponse).label("icp_key")


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


def _respondents_scratch(conn: Connection, ids: list[int] | None) -> Table:
    """A temporary table of every respondent's full cell (response_id, age band, sex, ethnic group, disability, small
    area's IMD decile, ICP area and district, icp_key), worked out once."""
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


MASK_BITS = 62  # values (or themes) a set can hold as a BIGINT of bits


def _fill_answers(conn: Connection, ids: list[int] | None) -> None:
    """The respondents per question, set of values chosen and cell (SummaryQuestionValue gives each value of a
    question its bit; SummaryChoiceCell counts the respondents per sum of the bits of the values they chose, with
    their cell worked out once per respondent in a scratch table)."""
    a, q, v = m.Answer, m.Question, m.SummaryQuestionValue
    where = [q.qtype != "free_text", func.length(func.trim(a.value)) > 0]  # as answers._answered counts them
    if ids is not None:
        where.append(q.survey_id.in_(ids))
    given = conn.execute(select(q.survey_id, q.id, a.value).join(a, a.question_id == q.id).where(*where)
                         .distinct()).all()
    by_question: dict[tuple[int, int], list[str]] = {}
    for survey_id, question_id, value in given:
        by_question.setdefault((int(survey_id), int(question_id)), []).append(value)
    rows = []
    for (survey_id, question_id), values in by_question.items():
        wide = len(values) > MASK_BITS  # too many values for a mask: the question's cells come from the records
        rows += [dict(survey_id=survey_id, question_id=question_id, value=value, bit=-1 if wide else 1 << i)
                 for i, value in enumerate(sorted(values))]
    if not rows:
        return
    conn.execute(insert(v.__table__), rows)
    chose = select(v.survey_id, a.response_id, a.question_id,
                   cast(func.sum(v.bit.distinct()), BigInteger).label("options")).join(
        v, and_(v.question_id == a.question_id, v.value == a.value)).where(v.bit > 0)
    if ids is not None:
        chose = chose.where(v.survey_id.in_(ids))
    chose = chose.group_by(v.survey_id, a.response_id, a.question_id).subquery()
    people = _respondents_scratch(conn, ids)
    p = people.c
    cells = [p.age_band, p.sex, p.ethnic_group, p.disability, imd_quintile(p.imd_decile).label("imd_quintile"),
             p.lsoa_icp, p.icp_key]
    _insert_grouped(conn, m.SummaryChoiceCell, [chose.c.survey_id, chose.c.question_id, chose.c.options, *cells],
                    chose.join(people, p.response_id == chose.c.response_id), [], func.count())
    people.drop(conn)


def theme_list_key(conn: Connection) -> str:
    """The theme list as it is now (names and keywords), to tell whether the free-text summaries were written with
    it ('' where there are more themes than a mask holds: free text is then counted from the records)."""
    rows = conn.execute(select(m.Theme.name, m.Theme.keywords).order_by(m.Theme.name)).all()
    return "" if len(rows) > MASK_BITS else json.dumps([list(r) for r in rows])


def themes_current(conn: Connection) -> bool:
    """True when the free-text summaries may be read: current, and written with the present theme list."""
    if not current(conn):
        return False
    key = theme_list_key(conn)
    return bool(key) and get_setting(conn, THEMES) == key


def _fill_free_text(conn: Connection, ids: list[int] | None) -> None:
    """Answers to each free-text question per ICP area and set of themes mentioned (answers.theme_mentions)."""
    from data_access.answers import answer_words, theme_mentions  # answers reads the summaries

    if not theme_list_key(conn):
        return
    a, q, r = m.Answer, m.Question, m.SurveyResponse
    words = (select(q.survey_id, a.question_id, _icp_key(), answer_words(a.value).label("words")).select_from(a)
             .join(q, q.id == a.question_id).join(r, r.id == a.response_id)
             .outerjoin(m.Lsoa, m.Lsoa.code == r.lsoa_code)
             .where(q.qtype == "free_text", func.length(func.trim(a.value)) > 0))
    if ids is not None:
        words = words.where(q.survey_id.in_(ids))
    words = words.cte("free_text_words").prefix_with("MATERIALIZED")  # each answer's words worked out once
    mask = literal(0, BigInteger)
    for i, mentions in enumerate(theme_mentions(conn, words.c.words)):
        if mentions is not None:
            mask = mask + case((mentions, literal(1 << i, BigInteger)), else_=literal(0, BigInteger))
    _insert_grouped(conn, m.SummaryFreeTextCell, [words.c.survey_id, words.c.question_id, mask.label("themes"),
                                                  words.c.icp_key], words, [], func.count())


def _still(months: int):
    """A membership lasted more than `months` months after joining (or has not ended), as network_release says."""
    from data_access.network_release import day_key  # network_release reads the summaries

    t = m.NetworkMembership
    return case((or_(t.left_on.is_(None), day_key(t.left_on) > day_key(t.joined_on) + months * 100), 1), else_=0)


def _member_icp():
    return counted_icp(m.NetworkMembership).label("icp_key")  # as filters.in_icp


def _fill_members(conn: Connection) -> None:
    t = m.NetworkMembership
    columns = [t.network_id, t.channel, _member_icp(), calendar_day(month_start(t.joined_on)).label("joined_month"),
               calendar_day(month_start(t.left_on)).label("left_month"), _still(6).label("still_6"),
               _still(12).label("still_12")]
    joined = t.__table__.outerjoin(m.Lsoa.__table__, m.Lsoa.code == t.lsoa_code)
    _insert_grouped(conn, m.SummaryMembershipCell, columns, joined, [], func.count())


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


def memberships(conn: Connection, starts: Iterable[dt.date] = (), ends: Iterable[dt.date] = ()):
    """Network memberships to count from, as a subquery of network_id, channel, icp_key (as filters.in_icp counts
    them), joined_on, left_on, still_6, still_12 (network_release's flags, not limited to any quarters) and n (the
    memberships a row stands for: count with sum(n)), for a query comparing joined_on and left_on with the dates given
    (starts: for >= d or < d; ends: for <= d or > d) and bucketing them by month.

    Where the summaries are current: the summary's cells (joined_on and left_on the first of the month), which
    compare as the records do whenever neither month holds a date compared with mid-month (an edge month: a start
    that is not the 1st, an end that is not a month's last day), and the records of the memberships joining or
    leaving in an edge month. Otherwise one row per membership record."""
    t = m.NetworkMembership
    records = (select(t.network_id, t.channel, _member_icp(), t.joined_on, t.left_on, _still(6).label("still_6"),
                      _still(12).label("still_12"), literal(1).label("n"))
               .select_from(t.__table__.outerjoin(m.Lsoa.__table__, m.Lsoa.code == t.lsoa_code)))
    if not current(conn):
        return records.subquery("memberships")
    edges = sorted({d.replace(day=1) for d in starts if d.day != 1}
                   | {d.replace(day=1) for d in ends if (d + dt.timedelta(days=1)).day != 1})
    s = m.SummaryMembershipCell
    cells = select(s.network_id, s.channel, s.icp_key, s.joined_month.label("joined_on"),
                   s.left_month.label("left_on"), s.still_6, s.still_12, s.n)
    if not edges:
        return cells.subquery("memberships")
    cells = cells.where(s.joined_month.not_in(edges), or_(s.left_month.is_(None), s.left_month.not_in(edges)))

    def in_edge_month(col):
        return or_(*[and_(col >= e, col < (e + dt.timedelta(days=32)).replace(day=1)) for e in edges])

    return union_all(cells, records.where(or_(in_edge_month(t.joined_on), in_edge_month(t.left_on)))).subquery(
        "memberships")
