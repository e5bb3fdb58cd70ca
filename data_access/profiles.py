"""Who we reach against who lives there: counts by demographic group, in SQL, and their shares."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access import summaries
from data_access.disclosure import Policy, policy, suppress_table, withhold_special_category
from data_access.filters import Filters, icp_id, in_icp
from data_access.linked_groups import group_release, hidden_groups, hidden_keys
from data_access.cached import remembered
from data_access.sql import IMD_QUINTILES, age_band, imd_quintile, year_of

DIMENSIONS = {
    "age_band": "Age band",
    "sex": "Sex",
    "ethnic_group": "Ethnic group",
    "disability": "Disability",
    "imd_quintile": "Deprivation (IMD quintile)",
    "icp_area": "ICP area",
    "district": "District",
}
GROUP_ORDER = {
    "age_band": m.AGE_BANDS,
    "sex": m.SEXES,
    "ethnic_group": m.ETHNIC_GROUPS,
    "disability": m.DISABILITY,
    "imd_quintile": IMD_QUINTILES,
}
AREA_DIMENSIONS = ("imd_quintile", "icp_area", "district")
SOURCES = {
    "members": "network members",
    "respondents": "survey respondents",
    "panel": "panel members",
}


def _start_of(day, plus_days: int = 0):
    """Midnight at the start of a day (plus some days), for comparing with timestamps."""
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(days=plus_days)


def _source(source: str, filters: Filters, survey_id: int | None, network_id: int | None):
    """(table, conditions, the year at which age is computed) for a kind of engaged person."""
    if source == "members":
        t = m.NetworkMembership
        cond = [t.joined_on <= filters.end, or_(t.left_on.is_(None), t.left_on > filters.end)]
        if network_id is not None:
            cond.append(t.network_id == network_id)
        return t, cond, filters.end.year
    if source == "panel":
        t = m.PanelMember
        return t, [t.term_start <= filters.end, t.term_end >= filters.end], filters.end.year
    if source == "invitations":  # panel survey invitations (one survey's, or those sent in the period), by member
        t, i = m.PanelMember, m.PanelInvitation
        which = ([i.survey_id == survey_id] if survey_id is not None
                 else [i.invited_on >= filters.start, i.invited_on <= filters.end])
        return t, [i.panel_member_id == t.id, *which], year_of(i.invited_on)
    if source == "recruits":  # every panel member ever recruited, age as at the start of their term
        t = m.PanelMember
        return t, [t.id.is_not(None)], year_of(t.term_start)
    if source == "respondents":
        t = m.SurveyResponse
        if survey_id is not None:
            cond = [t.survey_id == survey_id]
        else:
            cond = [t.submitted_at >= _start_of(filters.start), t.submitted_at < _start_of(filters.end, 1)]
        return t, cond, year_of(t.submitted_at)
    raise ValueError(f"Unknown source {source!r}: expected one of {', '.join(SOURCES)}.")


HORIZONS = (3, 6, 12)  # months ahead for panel terms ending


def horizon_days(day: dt.date) -> dict[int, dt.date]:
    """The day 3, 6 and 12 months after a day (a member whose term ends before it has left by then)."""
    return {h: (pd.Timestamp(day) + pd.DateOffset(months=h)).date() for h in HORIZONS}


def _extra_groups(source: str, table, filters: Filters) -> list:
    """More columns the cells of a source are counted by: for the panel, the recruitment wave and when the term
    ends ('ends': 3, 6 or 12 for a term ending within that many months of the period end, else 0), so that the
    panel page's members by wave and terms ending are sums of the same cells as its breakdowns; for everyone
    recruited to the panel ('recruits'), the wave and whether the term had begun by the period end ('begun'); for
    panel survey invitations ('invitations', counted per invitation), whether it was answered ('responded')."""
    if source == "invitations":  # whether the invitation was answered
        return [case((m.PanelInvitation.responded, 1), else_=0).label("responded")]
    if source == "recruits":  # their wave, and whether their term had begun by the period end
        return [table.wave.label("wave"), case((table.term_start <= filters.end, 1), else_=0).label("begun")]
    if source != "panel":
        return []
    ends = horizon_days(filters.end)
    within = case(*[(table.term_end < ends[h], h) for h in HORIZONS], else_=0)
    return [table.wave.label("wave"), within.label("ends")]


def group_expr(dimension: str, table, at_year):
    """SQL expression for a person's group on a dimension: age band in at_year (a column or a year) from the
    table's birth year, or the recorded sex, ethnic group or disability, or the small area's IMD quintile, ICP
    area or district (the statement must outer-join Lsoa, IcpArea and LocalAuthority on the person's area)."""
    if dimension == "age_band":
        return age_band(table.birth_year, at_year)
    if dimension in ("sex", "ethnic_group", "disability"):
        return getattr(table, dimension)
    if dimension == "imd_quintile":
        return imd_quintile(m.Lsoa.imd_decile)
    if dimension == "icp_area":
        return func.coalesce(m.IcpArea.name, m.NOT_KNOWN)
    if dimension == "district":
        return func.coalesce(m.LocalAuthority.name, m.NOT_KNOWN)
    raise ValueError(f"Unknown dimension {dimension!r}: expected one of {', '.join(DIMENSIONS)}.")


def engaged_counts(conn: Connection, source: str, dimension: str, filters: Filters,
                   survey_id: int | None = None, network_id: int | None = None) -> pd.DataFrame:
    """Engaged people (members, respondents or panel members) by group: columns group, count."""
    table, cond, at_year = _source(source, filters, survey_id, network_id)
    group = group_expr(dimension, table, at_year).label("group")
    stmt = select(group, func.count().label("count")).select_from(table)
    if dimension in AREA_DIMENSIONS:  # the small area's tables are joined only where the group comes from them
        stmt = (stmt.outerjoin(m.Lsoa, m.Lsoa.code == table.lsoa_code)
                .outerjoin(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)
                .outerjoin(m.LocalAuthority, m.LocalAuthority.code == m.Lsoa.lad_code))
    stmt = stmt.where(and_(*cond)).group_by(group)
    stmt = in_icp(stmt, table.lsoa_code, conn, filters.icp)
    return pd.DataFrame(conn.execute(stmt).all(), columns=["group", "count"])


def imd_quintile_label(decile) -> str:
    """The national IMD quintile label of a decile (as data_access.sql.imd_quintile does in SQL)."""
    if decile is None or pd.isna(decile):
        return m.NOT_KNOWN
    return IMD_QUINTILES[min(max((int(decile) - 1) // 2, 0), 4)]


@remembered
def engaged_cells(conn: Connection, source: str, filters: Filters, survey_id: int | None = None,
                  network_id: int | None = None) -> pd.DataFrame:
    """Engaged people counted by every combination of groups on all the DIMENSIONS at once, in one scan of the
    table (the area names are looked up afterwards): one column per dimension, placed (the person's small area
    is a loaded one), icp_key (the id of the ICP area the person counts in for the area filter, as
    filters.in_icp: their small area's, or their own where no small area is recorded) and n. Each dimension's
    counts are its margin (see counts_from_cells). For one ICP area, the cells of all areas are filtered (they
    are remembered per data load, so changing the area needs no new scan)."""
    if filters.icp:
        ident = icp_id(conn, filters.icp)
        whole = engaged_cells(conn, source, dataclasses.replace(filters, icp=None), survey_id=survey_id,
                              network_id=network_id)
        return whole[whole["icp_key"] == ident].reset_index(drop=True)
    table, cond, at_year = _source(source, filters, survey_id, network_id)
    extra = _extra_groups(source, table, filters)
    more = [e.name for e in extra]
    if source == "respondents" and survey_id is not None and summaries.current(conn):
        t = m.SummaryRespondentCell
        rows = summaries.counted(conn, t, [t.age_band, t.sex, t.ethnic_group, t.disability, t.imd_decile, t.lsoa_icp,
                                           t.lad_code, t.placed, t.own_icp], [t.survey_id == survey_id], None)
    else:
        L = m.Lsoa
        own = table.icp_id if "icp_id" in table.__table__.c else None
        own_icp = case((table.lsoa_code.is_(None), own)) if own is not None else literal(None)
        groups = [group_expr("age_band", table, at_year).label("age_band"), table.sex, table.ethnic_group,
                  table.disability, L.imd_decile, L.icp_id, L.lad_code, L.code.is_not(None).label("placed"),
                  own_icp.label("own_icp"), *extra]
        rows = conn.execute(select(*groups, func.count()).select_from(table).outerjoin(L, L.code == table.lsoa_code)
                            .where(and_(*cond)).group_by(*groups)).all()
    raw = pd.DataFrame(rows,
                       columns=["age_band", "sex", "ethnic_group", "disability", "decile", "icp_id", "lad_code",
                                "placed", "own_icp", *more, "n"])
    keys = [*DIMENSIONS, *more, "placed", "icp_key"]
    if raw.empty:
        return pd.DataFrame({**{k: pd.Series(dtype=object) for k in DIMENSIONS}, **{k: pd.Series(dtype=int) for k in more},
                             "placed": pd.Series(dtype=bool), "icp_key": pd.Series(dtype=float),
                             "n": pd.Series(dtype=int)})
    icps = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
    districts = dict(conn.execute(select(m.LocalAuthority.code, m.LocalAuthority.name)).all())
    raw["imd_quintile"] = [imd_quintile_label(d) for d in raw["decile"]]
    raw["icp_area"] = [icps.get(int(i), m.NOT_KNOWN) if pd.notna(i) else m.NOT_KNOWN for i in raw["icp_id"]]
    raw["district"] = [districts.get(c, m.NOT_KNOWN) if isinstance(c, str) else m.NOT_KNOWN for c in raw["lad_code"]]
    raw["placed"] = raw["placed"].astype(bool)
    raw["icp_key"] = pd.to_numeric(raw["icp_id"]).astype(float).fillna(pd.to_numeric(raw["own_icp"]).astype(float))
    raw["n"] = pd.to_numeric(raw["n"]).astype(int)
    return raw.groupby(keys, as_index=False, dropna=False)["n"].sum()


def counts_from_cells(cells: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One dimension's counts from engaged_cells (or any cells with that column and n): group, count."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"Unknown dimension {dimension!r}: expected one of {', '.join(DIMENSIONS)}.")
    out = cells.groupby(dimension, as_index=False, dropna=False)["n"].sum()
    out = out[out["n"] > 0].rename(columns={dimension: "group", "n": "count"})
    return out.reset_index(drop=True)


@remembered
def resident_counts(conn: Connection, dimension: str, icp: str | None = None,
                    icp_names: list[str] | None = None) -> pd.DataFrame:
    """Residents by group in an ICP area (or several, or all): columns group, residents.

    Age bands cover residents aged 16 and over (engagement is with adults).
    """
    names = icp_names if icp_names else ([icp] if icp else None)
    ids = [icp_id(conn, n) for n in names] if names else None
    if dimension in ("age_band", "sex", "ethnic_group", "disability"):
        pc = m.PopulationCount
        stmt = (select(pc.group_name.label("group"), func.sum(pc.count).label("residents"))
                .join(m.Lsoa, m.Lsoa.code == pc.lsoa_code)
                .where(pc.dimension == dimension)
                .group_by(pc.group_name))
        if dimension == "age_band":
            stmt = stmt.where(pc.group_name != "0-15")
    else:
        group = group_expr(dimension, None, None).label("group")
        stmt = (select(group, func.sum(m.Lsoa.population).label("residents"))
                .select_from(m.Lsoa)
                .join(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)
                .join(m.LocalAuthority, m.LocalAuthority.code == m.Lsoa.lad_code)
                .group_by(group))
    if ids:
        stmt = stmt.where(m.Lsoa.icp_id.in_(ids))
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["group", "residents"])
    frame["residents"] = pd.to_numeric(frame["residents"]).fillna(0).astype(int)
    return frame


def representation(engaged: pd.DataFrame, residents: pd.DataFrame, dimension: str,
                   hide: set | None = None, base: int | None = None) -> pd.DataFrame:
    """Engaged share against resident share for each group, with the representation ratio.

    Shares are of people whose group is known: 'Not known', 'Prefer not to say' and
    'Under 16' are kept as rows (stated=False) with their count, but left out of the shares.
    Columns: group, count, share, residents, resident_share, ratio, gap_pp, stated, suppressed. Small counts
    are hidden as data_access.disclosure says (with secondary suppression), and a breakdown by special-category
    data with too small a base is hidden whole (frame.attrs['withheld'] says why). `hide`, where given, is the
    groups to hide (worked out over everything published with the table: see representation_hidden) instead of
    the earlier rule (a second group hidden where one hidden group could be worked out from the table's total).
    `base`, where given, is the number the engaged shares are of instead (e.g. everyone, those whose group is not
    known included, where that number is published and the number whose group is known could not be).
    """
    known = set(residents["group"])
    merged = pd.merge(engaged, residents, on="group", how="outer")
    merged["count"] = pd.to_numeric(merged["count"]).fillna(0).astype(int)
    merged["residents"] = pd.to_numeric(merged["residents"]).fillna(0).astype(int)
    merged["stated"] = merged["group"].isin(known)
    stated = merged["stated"]
    total = merged.loc[stated, "count"].sum() if base is None else base
    res_total = merged.loc[stated, "residents"].sum()
    merged["share"] = (merged["count"] / total).where(stated & (total > 0))
    merged["resident_share"] = (merged["residents"] / res_total).where(stated & (res_total > 0))
    merged["ratio"] = (merged["share"] / merged["resident_share"]).where(merged["resident_share"] > 0)
    merged["gap_pp"] = (merged["share"] - merged["resident_share"]) * 100
    order = GROUP_ORDER.get(dimension)
    if order:
        rank = {g: i for i, g in enumerate(order)}
        merged["_o"] = merged["group"].map(lambda g: rank.get(g, len(rank)))
    else:
        merged["_o"] = 0
    merged = merged.sort_values(["stated", "_o", "group"], ascending=[False, True, True]).drop(columns="_o")
    merged = merged.reset_index(drop=True)
    # The groups add up to the number of people engaged, which is published: hide a second group where one
    # hidden group could be worked out; a special-category breakdown needs a large enough base.
    if hide is None:
        out = suppress_table(merged, "count", [()], derived=("share", "ratio"), total=total)
    else:
        out = suppress_table(merged, "count", [], derived=("share", "ratio"), total=total,
                             hide=merged["group"].isin(hide))
    out["gap_pp"] = (out["share"] - out["resident_share"]) * 100
    out = withhold_special_category(out, dimension, total, ["count"], ["share", "ratio", "gap_pp"])
    return out[["group", "count", "share", "residents", "resident_share", "ratio", "gap_pp", "stated", "suppressed"]]


def representation_for(conn: Connection, source: str, dimension: str, filters: Filters,
                       survey_id: int | None = None, network_id: int | None = None,
                       icp_names: list[str] | None = None) -> pd.DataFrame:
    """Representation table for a kind of engaged person in the filtered area (see `representation`)."""
    engaged = engaged_counts(conn, source, dimension, filters, survey_id=survey_id, network_id=network_id)
    residents = resident_counts(conn, dimension, icp=filters.icp, icp_names=icp_names)
    return representation(engaged, residents, dimension)


def representation_tables(conn: Connection, source: str, filters: Filters, dimensions: list[str] | None = None,
                          survey_id: int | None = None, network_id: int | None = None,
                          icp_names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """representation_for on several dimensions (all by default) from one scan of the engaged people:
    dimension -> table. The counts hidden are those of representation_hidden: protected with everything the
    breakdowns publish in every view together."""
    cells = engaged_cells(conn, source, filters, survey_id=survey_id, network_id=network_id)
    hidden = representation_hidden(conn, source, filters, survey_id, network_id, icp_names)
    return {dim: representation(counts_from_cells(cells, dim),
                                resident_counts(conn, dim, icp=filters.icp, icp_names=icp_names), dim, hidden[dim])
            for dim in (dimensions or list(DIMENSIONS))}


def view_ids(conn: Connection) -> list:
    """Every view a reader can choose: None (all areas) and each ICP area's id."""
    return [None, *conn.execute(select(m.IcpArea.id).order_by(m.IcpArea.id)).scalars()]


def stated_groups(conn: Connection, views: list, residents) -> dict:
    """For each view (None or an ICP area's id) and dimension, the groups compared with residents there (those
    residents(dimension, icp name) lists): view -> dimension -> set."""
    names = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
    return {view: {dim: set(residents(dim, None if view is None else names[view])["group"]) for dim in DIMENSIONS}
            for view in views}


@remembered
def _representation_hidden(conn: Connection, source: str, start: dt.date, end: dt.date, survey_id: int | None,
                           network_id: int | None, icp_names: tuple | None, rules: Policy) -> frozenset:
    cells = engaged_cells(conn, source, Filters(None, start, end), survey_id=survey_id, network_id=network_id)
    views = view_ids(conn)
    names = list(icp_names) if icp_names else None
    stated = stated_groups(conn, views, lambda dim, icp: resident_counts(conn, dim, icp=icp, icp_names=names))
    published = group_release(cells, list(DIMENSIONS), views, stated)
    return hidden_keys(cells["n"].tolist(), published, rules)


def representation_hidden(conn: Connection, source: str, filters: Filters, survey_id: int | None = None,
                          network_id: int | None = None, icp_names: list[str] | None = None) -> dict[str, set]:
    """The groups hidden in the filtered view's representation breakdowns, per dimension: small counts, and those
    that would let one be worked out from everything the breakdowns publish (each group's count, the people in
    the view and those with a stated group) in the all-areas view and every ICP area's view together."""
    hidden = _representation_hidden(conn, source, filters.start, filters.end, survey_id, network_id,
                                     tuple(icp_names) if icp_names else None, policy())
    view = icp_id(conn, filters.icp)
    return {dim: hidden_groups(hidden, view, dim) for dim in DIMENSIONS}


def respondent_group(dimension: str):
    """SQL expression for a survey respondent's group on a dimension, age as at responding
    (the statement must outer-join Lsoa, IcpArea and LocalAuthority on the respondent's small area)."""
    r = m.SurveyResponse
    return group_expr(dimension, r, year_of(r.submitted_at))


def with_respondent_areas(stmt):
    """The statement with the respondent's small area, ICP area and district outer-joined."""
    r = m.SurveyResponse
    return (stmt.outerjoin(m.Lsoa, m.Lsoa.code == r.lsoa_code)
            .outerjoin(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)
            .outerjoin(m.LocalAuthority, m.LocalAuthority.code == m.Lsoa.lad_code))


def respondent_cells(conn: Connection, survey_id: int, filters: Filters, dimensions: list[str]) -> pd.DataFrame:
    """Respondents to one survey (in the filtered area) counted by every combination of groups on the
    dimensions given, in SQL: one column per dimension, and n."""
    r = m.SurveyResponse
    groups = [respondent_group(d).label(d) for d in dimensions]
    if summaries.current(conn):
        t = m.SummaryRespondentCell
        rows = summaries.counted(conn, t, [summaries.respondent_group(d).label(d) for d in dimensions],
                                 [t.survey_id == survey_id], filters.icp, joins=summaries.RESPONDENT_PLACES)
    else:
        stmt = with_respondent_areas(select(*groups, func.count().label("n")).select_from(r))
        stmt = stmt.where(r.survey_id == survey_id).group_by(*groups)
        rows = conn.execute(in_icp(stmt, r.lsoa_code, conn, filters.icp)).all()
    frame = pd.DataFrame(rows, columns=[*dimensions, "n"])
    frame["n"] = pd.to_numeric(frame["n"]).astype(int)
    return frame
