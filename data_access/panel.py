"""Citizens' panel queries: size and composition as at a date, aggregated in SQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Float, and_, case, cast, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from data_access import models as m
from data_access.disclosure import Policy, is_small, policy, round_count, suppress_table
from data_access.filters import Filters, icp_id, in_icp
from data_access.linked_groups import STATED, TOTAL, add_count, group_release, hidden_groups, hidden_keys, view_of
from data_access.cached import remembered
from data_access.areas import ICP_NAMES
from data_access.profiles import (GROUP_ORDER, HORIZONS, engaged_cells, group_expr, resident_counts, stated_groups,
                                  view_ids)
from data_access.representativeness import compare, rake_cells
from data_access.sql import imd_quintile

PANEL_TARGET = 2000


def panel_size(conn: Connection, day: dt.date, icp: str | None = None) -> int:
    """Panel members serving on a day (term started, not yet ended), in the ICP area if given."""
    p = m.PanelMember
    stmt = select(func.count()).select_from(p).where(p.term_start <= day, p.term_end >= day)
    stmt = in_icp(stmt, p.lsoa_code, conn, icp)
    return int(conn.execute(stmt).scalar_one())


def panel_by_wave(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Members recruited in each wave, and how many still serve at the period end: wave, recruited, serving,
    hide_serving and hide_recruited (hidden with everything the panel page publishes about the same people:
    panel_hidden, recruits_hidden)."""
    p = m.PanelMember
    serving = func.sum(case((and_(p.term_start <= filters.end, p.term_end >= filters.end), 1), else_=0))
    stmt = (select(p.wave, func.min(p.term_start), func.count(), serving)
            .group_by(p.wave).order_by(p.wave))
    stmt = in_icp(stmt, p.lsoa_code, conn, filters.icp)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["wave", "started", "recruited", "serving"])
    frame["serving"] = frame["serving"].fillna(0).astype(int)
    hidden, view = panel_hidden(conn, filters.end, filters.icp)
    frame["hide_serving"] = [(view, "wave", w) in hidden for w in frame["wave"]]
    hidden, view = recruits_hidden(conn, filters.end, filters.icp)
    frame["hide_recruited"] = [(view, "recruited", w) in hidden for w in frame["wave"]]
    return frame



def published_waves(waves: pd.DataFrame) -> pd.DataFrame:
    """panel_by_wave as it may be published: serving and recruited counts hidden as hide_serving and
    hide_recruited say (where given; else by disclosure.suppress_table, as they add up to the panel size and to
    everyone ever recruited), with 'small' and 'small_recruited' marking the counts hidden for being small."""
    hide = waves.get("hide_serving")
    out = (suppress_table(waves, "serving", [()]) if hide is None else
           suppress_table(waves, "serving", [], hide=hide.astype(bool))).rename(columns={"suppressed": "hidden_serving"})
    out = out.drop(columns=["hide_serving"], errors="ignore")
    out["small"] = waves["serving"].map(is_small).astype(bool)
    hide = waves.get("hide_recruited")
    out = (suppress_table(out, "recruited", [()]) if hide is None else suppress_table(
        out, "recruited", [], hide=hide.astype(bool))).rename(columns={"suppressed": "hidden_recruited"})
    out = out.drop(columns=["hide_recruited"], errors="ignore")
    out["small_recruited"] = waves["recruited"].map(is_small).astype(bool)
    return out


# --- Composition and the residents to compare with ---------------------------------------------

PANEL_DIMENSIONS = ["age_band", "sex", "ethnic_group", "disability", "icp_area", "district", "imd_quintile"]
GEOGRAPHY = ("icp_area", "district", "imd_quintile")


def panel_group(dimension: str, at_year):
    """SQL expression for a panel member's group on a dimension, age as in at_year (the statement must
    outer-join Lsoa, IcpArea and LocalAuthority on the member's small area)."""
    return group_expr(dimension, m.PanelMember, at_year)


def _with_areas(stmt):
    p = m.PanelMember
    return (stmt.outerjoin(m.Lsoa, m.Lsoa.code == p.lsoa_code)
            .outerjoin(m.IcpArea, m.IcpArea.id == m.Lsoa.icp_id)
            .outerjoin(m.LocalAuthority, m.LocalAuthority.code == m.Lsoa.lad_code))


def panel_cells(conn: Connection, day: dt.date, icp: str | None, dimensions: list[str]) -> pd.DataFrame:
    """Members serving on a day counted by every combination of groups on the dimensions (age as in that
    year), in SQL: one column per dimension, and n. (One scan counts them by every dimension at once,
    profiles.engaged_cells; the dimensions asked for are its margins.)"""
    for d in dimensions:
        panel_group(d, day.year)  # an unknown dimension is an error
    cells = engaged_cells(conn, "panel", Filters(icp=icp, start=day, end=day))
    return cells_margin(cells, dimensions)


def cells_margin(cells: pd.DataFrame, dimensions: list[str]) -> pd.DataFrame:
    """Cells (a column per dimension, and n) added up over every dimension not given: the dimensions, n."""
    frame = cells.groupby(list(dimensions), as_index=False, dropna=False)["n"].sum()
    frame = frame[frame["n"] > 0].reset_index(drop=True)
    frame["n"] = frame["n"].astype(int)
    return frame[[*dimensions, "n"]]


def panel_counts(conn: Connection, dimension: str, day: dt.date, icp: str | None = None) -> pd.DataFrame:
    """Members serving on a day by group on one dimension: group, count."""
    cells = panel_cells(conn, day, icp, [dimension])
    return cells.rename(columns={dimension: "group", "n": "count"})


@remembered
def adult_residents(conn: Connection, icp: str | None = None) -> pd.DataFrame:
    """Residents aged 16 and over by ICP area, district, IMD quintile and age band, from the census
    age counts of each small area: icp_area, district, imd_quintile, age_band, residents.
    Where no age counts are loaded, each small area's whole population is used (age_band 'All ages')."""
    pc, L = m.PopulationCount, m.Lsoa
    cols = [m.IcpArea.name.label("icp_area"), m.LocalAuthority.name.label("district"),
            imd_quintile(L.imd_decile).label("imd_quintile")]
    ident = icp_id(conn, icp)
    stmt = (select(*cols, pc.group_name.label("age_band"), func.sum(pc.count).label("residents"))
            .select_from(pc).join(L, L.code == pc.lsoa_code)
            .join(m.IcpArea, m.IcpArea.id == L.icp_id).join(m.LocalAuthority, m.LocalAuthority.code == L.lad_code)
            .where(pc.dimension == "age_band", pc.group_name != "0-15")
            .group_by(*cols, pc.group_name))
    if ident is not None:
        stmt = stmt.where(L.icp_id == ident)
    frame = pd.DataFrame(conn.execute(stmt).all(),
                         columns=["icp_area", "district", "imd_quintile", "age_band", "residents"])
    if frame.empty:
        stmt = (select(*cols, func.sum(L.population).label("residents")).select_from(L)
                .join(m.IcpArea, m.IcpArea.id == L.icp_id)
                .join(m.LocalAuthority, m.LocalAuthority.code == L.lad_code).group_by(*cols))
        if ident is not None:
            stmt = stmt.where(L.icp_id == ident)
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=["icp_area", "district", "imd_quintile", "residents"])
        frame["age_band"] = "All ages"
    frame["residents"] = pd.to_numeric(frame["residents"]).fillna(0).astype(float)
    return frame


def panel_residents(conn: Connection, dimension: str, icp: str | None = None) -> pd.DataFrame:
    """The residents the panel (adults) is compared with, by group: group, residents. Residents aged 16 and
    over for age band, sex, ICP area, district and IMD quintile (sex apportioned: each small area's adults split
    by its female/male shares); all ages for ethnic group and disability, which the census does not publish by
    age for small areas. Where no age counts are loaded, all ages throughout (see resident_base)."""
    return panel_residents_by(conn, [dimension], icp)[dimension]


def panel_residents_by(conn: Connection, dimensions: list[str], icp: str | None = None) -> dict[str, pd.DataFrame]:
    """panel_residents for several dimensions, reading the census counts they share once: dimension -> table."""
    adults = adult_residents(conn, icp) if set(dimensions) & set(GEOGRAPHY) else None
    age_sex = resident_age_sex(conn, icp) if "sex" in dimensions else None
    out = {}
    for dimension in dimensions:
        if dimension in GEOGRAPHY:
            frame = adults.groupby(dimension, as_index=False)["residents"].sum()
            out[dimension] = frame.rename(columns={dimension: "group"})
            continue
        if dimension == "sex" and not age_sex.empty:
            out[dimension] = age_sex.groupby("sex", as_index=False)["residents"].sum().rename(columns={"sex": "group"})
            continue
        frame = resident_counts(conn, dimension, icp=icp)
        frame["residents"] = frame["residents"].astype(float)
        out[dimension] = frame
    return out


ADULTS = "residents aged 16 and over"
ALL_AGES = "residents of all ages"


def resident_base(conn: Connection, dimension: str) -> str:
    """Which residents a dimension is compared with, in words (see panel_residents)."""
    pc = m.PopulationCount
    has = {d for (d,) in conn.execute(select(pc.dimension).where(pc.dimension.in_(["age_band", "sex"]))
                                      .group_by(pc.dimension)).all()}
    if dimension in ("ethnic_group", "disability") or "age_band" not in has:
        return ALL_AGES
    if dimension == "sex" and "sex" not in has:
        return ALL_AGES
    return ADULTS


@remembered
def resident_age_sex(conn: Connection, icp: str | None = None) -> pd.DataFrame:
    """Residents aged 16+ by age band and sex, apportioned: in each small area the age band counts are
    split by that area's female/male shares (the census does not publish age by sex for small areas, and
    the sex split itself is estimated from the district). Columns age_band, sex, residents."""
    age, sex = aliased(m.PopulationCount), aliased(m.PopulationCount)
    sex_total = (select(m.PopulationCount.lsoa_code.label("code"), func.sum(m.PopulationCount.count).label("total"))
                 .where(m.PopulationCount.dimension == "sex").group_by(m.PopulationCount.lsoa_code).subquery())
    share = cast(sex.count, Float) / sex_total.c.total
    stmt = (select(age.group_name, sex.group_name, func.sum(age.count * share))
            .select_from(age)
            .join(sex, and_(sex.lsoa_code == age.lsoa_code, sex.dimension == "sex"))
            .join(sex_total, sex_total.c.code == age.lsoa_code)
            .join(m.Lsoa, m.Lsoa.code == age.lsoa_code)
            .where(age.dimension == "age_band", age.group_name != "0-15", sex_total.c.total > 0)
            .group_by(age.group_name, sex.group_name))
    ident = icp_id(conn, icp)
    if ident is not None:
        stmt = stmt.where(m.Lsoa.icp_id == ident)
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=["age_band", "sex", "residents"])
    frame["residents"] = pd.to_numeric(frame["residents"]).astype(float)
    return frame


def group_order(dimension: str) -> list[str]:
    """The order groups of a dimension are shown in (districts alphabetically)."""
    if dimension == "icp_area":
        return list(ICP_NAMES)
    return list(GROUP_ORDER.get(dimension, []))


def coverage(conn: Connection, day: dt.date, icp: str | None = None,
             cells: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """For every dimension, the panel serving on a day against residents (unsuppressed; see
    representativeness.compare): dimension -> table. The members are counted in one scan (or taken from the
    cells given: profiles.engaged_cells of the panel for that day and area)."""
    if cells is None:
        cells = panel_cells(conn, day, icp, PANEL_DIMENSIONS)
    residents = panel_residents_by(conn, PANEL_DIMENSIONS, icp)
    hidden, view = panel_hidden(conn, day, icp)
    out = {}
    for dim in PANEL_DIMENSIONS:
        table = compare(cells_margin(cells, [dim]).rename(columns={dim: "group", "n": "count"}), residents[dim],
                        group_order(dim))
        # hidden with everything the panel page publishes; all of it where the view's total or stated total is
        gone = (view, TOTAL) in hidden or (view, STATED, dim) in hidden
        table["hide"] = table["group"].isin(hidden_groups(hidden, view, dim)) | (gone & (table["count"] > 0))
        out[dim] = table
    return out


def design_effects(conn: Connection, day: dt.date, icp: str | None = None) -> pd.DataFrame:
    """Kish design effect and effective sample size of weights raking the panel serving on a day to the
    resident margins, for each dimension alone and for all at once ('all'): dimension, design_effect,
    effective_n, weighted, left_out, note. The members weighted on every dimension (published) are missing where
    panel_hidden hides them."""
    dims = [d for d in PANEL_DIMENSIONS if not (icp and d == "icp_area")]
    cells = panel_cells(conn, day, icp, dims)
    margins = {d: t.set_index("group")["residents"] for d, t in panel_residents_by(conn, dims, icp).items()}
    rows = []
    for key, use in [*((d, [d]) for d in dims), ("all", dims)]:
        part = cells.groupby(use, as_index=False)["n"].sum() if len(cells) else cells
        res = rake_cells(part, {d: margins[d] for d in use})
        rows.append(dict(dimension=key, design_effect=res.design_effect, effective_n=res.effective_n,
                         weighted=res.weighted, left_out=res.left_out, note=res.note))
    out = pd.DataFrame(rows)
    hidden, view = panel_hidden(conn, day, icp)
    if (view, "weighted") in hidden or is_small(out["weighted"].iloc[-1]):  # the members weighted on every dimension
        out["weighted"] = out["weighted"].astype(float)
        out.loc[out.index[-1], "weighted"] = np.nan
    return out


def intersection(conn: Connection, day: dt.date, icp: str | None, row: str, col: str) -> pd.DataFrame:
    """Representation ratio of each combination of two dimensions (age_band x sex, or two of ICP area,
    district, IMD quintile and age band): row, col, count, residents, share, resident_share, ratio,
    suppressed. Members with an unstated group on either are left out. Counts hidden are those of panel_hidden
    (small, or hidden so that none can be worked out from everything the page publishes, in any view)."""
    if {row, col} == {"age_band", "sex"}:
        res = resident_age_sex(conn, icp)
    else:
        res = adult_residents(conn, icp).groupby([row, col], as_index=False)["residents"].sum()
    cells = panel_cells(conn, day, icp, [row, col]).rename(columns={"n": "count"})
    out = res.merge(cells, on=[row, col], how="left")
    out["count"] = out["count"].fillna(0).astype(int)
    n, total = out["count"].sum(), out["residents"].sum()
    out["share"] = out["count"] / n if n else np.nan
    out["resident_share"] = out["residents"] / total if total else np.nan
    out["ratio"] = (out["share"] / out["resident_share"]).where(out["resident_share"] > 0)
    hidden, view = panel_hidden(conn, day, icp)
    gone = (view, (row, col)) in hidden  # the table's total: every count but the zeros goes with it
    hide = pd.Series([(view, (row, col), g, h) in hidden or (gone and c > 0)
                      for g, h, c in zip(out[row], out[col], out["count"])], index=out.index, dtype=bool)
    shown = suppress_table(out, "count", [], derived=("share", "ratio"), total=float(n), hide=hide)
    shown["small"] = out["count"].map(is_small).astype(bool)
    return shown


def quota_inputs(conn: Connection, wave_day: dt.date, icp: str | None = None, as_at: dt.date | None = None) -> dict:
    """What the quota planner needs for a wave on a day: members still serving then ('serving', and by group
    on each dimension with age as in that year: 'retained'), the residents by group ('residents'), and adult
    residents by ICP area, IMD quintile and age band ('seed'), the groups whose counts are hidden on each dimension
    ('hidden'), whether the number with a stated group on each is hidden ('stated_hidden') and whether the number
    still serving is hidden ('serving_hidden'): protected with every group's
    count and the totals on that day, in every view together (on the page's as-at day, as_at, as panel_hidden,
    so that the plan shows what the breakdowns show)."""
    seed = adult_residents(conn, icp).groupby(["icp_area", "imd_quintile", "age_band"], as_index=False)["residents"].sum()
    cells = panel_cells(conn, wave_day, icp, PANEL_DIMENSIONS)  # one scan; each dimension is a margin
    hidden, view = (panel_hidden(conn, wave_day, icp) if wave_day == as_at
                    else (_panel_hidden(conn, wave_day, policy(), whole=False), icp_id(conn, icp)))
    return {
        "hidden": {d: hidden_groups(hidden, view, d) for d in PANEL_DIMENSIONS},
        "stated_hidden": {d: (view, STATED, d) in hidden for d in PANEL_DIMENSIONS},
        "serving_hidden": (view, TOTAL) in hidden,
        "serving": int(cells["n"].sum()),
        "retained": {d: cells_margin(cells, [d]).rename(columns={d: "group", "n": "count"}) for d in PANEL_DIMENSIONS},
        "residents": panel_residents_by(conn, PANEL_DIMENSIONS, icp),
        "seed": seed,
    }


# --- What the panel page publishes about the members serving on a day, protected together -----------------------

INTERSECTIONS = (("age_band", "sex"), ("icp_area", "imd_quintile"))


def panel_release(cells: pd.DataFrame, views: list, stated: dict) -> dict[tuple, list[int]]:
    """Every count the panel page publishes about the members serving on a day, as the rows of cells (members per
    ICP area, group on every dimension, wave and when the term ends: engaged_cells of the panel) it adds up, for
    each view (None, or an ICP area's id): the breakdowns and intersections (linked_groups.group_release); terms
    ending within h months, (view, "within", h) and per group (view, "within", h, dimension, group); members by
    wave, (view, "wave", wave); and the members weighted to residents on every dimension, (view, "weighted")."""
    published = group_release(cells, PANEL_DIMENSIONS, views, stated, INTERSECTIONS)
    ends, waves = cells["ends"].to_numpy(), cells["wave"].to_numpy()
    for view in views:
        mine = view_of(cells, view)
        for h in HORIZONS:
            within = mine & (ends > 0) & (ends <= h)
            add_count(published, (view, "within", h), within)
            for dim in PANEL_DIMENSIONS:
                groups = cells[dim].astype(object).to_numpy()
                for group in pd.unique(groups[within]):
                    add_count(published, (view, "within", h, dim, group), within & (groups == group))
        for wave in pd.unique(waves[mine]):
            add_count(published, (view, "wave", wave), mine & (waves == wave))
        weighted = mine.copy()
        for dim in PANEL_DIMENSIONS:
            if not (view is not None and dim == "icp_area"):  # design_effects leaves ICP area out of an area's view
                weighted &= np.isin(cells[dim].astype(object).to_numpy(), list(stated[view][dim]))
        add_count(published, (view, "weighted"), weighted)
    return published


@remembered
def _panel_hidden(conn: Connection, day: dt.date, rules: Policy, whole: bool = True) -> frozenset:
    """panel_release's hidden keys (whole) or, for a day the page shows only the plan for, group_release's."""
    cells = engaged_cells(conn, "panel", Filters(None, day, day))
    views = view_ids(conn)
    stated = stated_groups(conn, views, lambda dim, icp: panel_residents_by(conn, PANEL_DIMENSIONS, icp)[dim])
    published = (panel_release(cells, views, stated) if whole
                 else group_release(cells, PANEL_DIMENSIONS, views, stated))
    return hidden_keys(cells["n"].tolist(), published, rules)


def panel_hidden(conn: Connection, day: dt.date, icp: str | None = None) -> tuple[frozenset, int | None]:
    """The keys of panel_release hidden (small counts, and those that would let one be worked out from everything
    the panel page publishes about the members serving on the day, in every view together), and the view of the
    ICP area given (its id, None for all areas)."""
    return _panel_hidden(conn, day, policy()), icp_id(conn, icp)


def published_panel_size(conn: Connection, day: dt.date, icp: str | None = None) -> int | None:
    """Panel members serving on a day as published (rounded as the policy asks), None where hidden."""
    hidden, view = panel_hidden(conn, day, icp)
    size = panel_size(conn, day, icp)
    return None if is_small(size) or (view, TOTAL) in hidden else round_count(size)


# --- Everyone recruited: members by wave, and joiners by wave and group ------------------------------------------

def recruits_release(cells: pd.DataFrame, views: list) -> dict[tuple, list[int]]:
    """Every count the panel page publishes about the members recruited, as the rows of cells (engaged_cells of
    'recruits': members per ICP area, group on every dimension as at their term's start, wave and whether it had
    begun by the period end) it adds up, for each view: each wave's recruits, (view, "recruited", wave); its
    joiners whose term had begun, (view, "joined", wave); and those by group, (view, "joined", wave, dimension,
    group)."""
    published: dict[tuple, list[int]] = {}
    waves, begun = cells["wave"].to_numpy(), cells["begun"].to_numpy() == 1
    for view in views:
        mine = view_of(cells, view)
        for wave in pd.unique(waves[mine]):
            ours = mine & (waves == wave)
            add_count(published, (view, "recruited", wave), ours)
            add_count(published, (view, "joined", wave), ours & begun)
            for dim in PANEL_DIMENSIONS:
                groups = cells[dim].astype(object).to_numpy()
                for group in pd.unique(groups[ours & begun]):
                    add_count(published, (view, "joined", wave, dim, group), ours & begun & (groups == group))
    return published


@remembered
def _recruits_hidden(conn: Connection, end: dt.date, rules: Policy) -> frozenset:
    cells = engaged_cells(conn, "recruits", Filters(None, end, end))
    return hidden_keys(cells["n"].tolist(), recruits_release(cells, view_ids(conn)), rules)


def recruits_hidden(conn: Connection, end: dt.date, icp: str | None = None) -> tuple[frozenset, int | None]:
    """The keys of recruits_release hidden (small counts, and those that would let one be worked out from the
    waves' recruits and joiners by group, in every view together), and the view of the ICP area given."""
    return _recruits_hidden(conn, end, policy()), icp_id(conn, icp)


# --- Panel survey invitations: participation by group -------------------------------------------------------------

def participation_release(cells: pd.DataFrame, views: list) -> dict[tuple, list[int]]:
    """Every count the participation chart publishes, as the rows of cells (engaged_cells of 'invitations':
    invitations per ICP area, the member's group on every dimension as in the year invited, and whether answered)
    it adds up, for each view: invitations, answered and unanswered (the difference, given away by the two),
    (view, what) in all and (view, what, dimension, group) by group."""
    published: dict[tuple, list[int]] = {}
    answered = cells["responded"].to_numpy() == 1
    for view in views:
        mine = view_of(cells, view)
        for what, rows in (("invited", mine), ("responded", mine & answered), ("unanswered", mine & ~answered)):
            add_count(published, (view, what), rows)
            for dim in PANEL_DIMENSIONS:
                groups = cells[dim].astype(object).to_numpy()
                for group in pd.unique(groups[rows]):
                    add_count(published, (view, what, dim, group), rows & (groups == group))
    return published


@remembered
def _participation_hidden(conn: Connection, start: dt.date, end: dt.date, survey_id: int | None,
                          rules: Policy) -> frozenset:
    cells = engaged_cells(conn, "invitations", Filters(None, start, end), survey_id=survey_id)
    return hidden_keys(cells["n"].tolist(), participation_release(cells, view_ids(conn)), rules)


def participation_hidden(conn: Connection, filters: Filters, survey_id: int | None = None) -> tuple[frozenset, int | None]:
    """The keys of participation_release hidden for the invitations of the period (or one survey): small counts,
    and those that would let one be worked out, in every view together; and the filtered view."""
    return _participation_hidden(conn, filters.start, filters.end, survey_id, policy()), icp_id(conn, filters.icp)
