"""Everything the citizens' panel page publishes about its members, protected as one release.

The page publishes numbers about several sets of the same people: the members serving on the as-at day (breakdowns,
intersections, terms ending, members by wave, the members weighted: panel.panel_release), everyone recruited (each
wave's recruits and joiners by group: panel.recruits_release), the panel size at every month end (past, and ahead
with no new recruits) and the recruitment plan's members still serving on the wave day. A reader can combine them: a
month end 3 months ahead is the panel size less the terms ending within 3 months; a wave's recruits less its members
still serving are those who left; the wave day's members are the as-at day's less the terms ending by then. So all of
them are written as sums of one set of cells (members per ICP area, group on every dimension, birth year, wave, term
start and term end, counted in SQL in one GROUP BY) and protected together with gauss_suppression.ordered_suppression
(a number is shown only if no hidden small number is then a linear combination of the shown ones, totals first, then
the largest). Cells that every published number counts alike are merged first (exact, and much faster).

Panel survey invitations are another kind of cell (an invitation, not a person): the invitations of all the period's
surveys and of each survey that can be chosen are protected together in participation_joint_hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.cached import remembered
from data_access.disclosure import Policy
from data_access.gauss_suppression import ordered_suppression
from data_access.linked_groups import add_count, group_release, is_total, view_of
from data_access.profiles import HORIZONS, horizon_days, named_areas, stated_groups, view_ids

SIZE = "size"    # (view, "size", day): members serving at a month end (panel_size_by_month)
PLAN = "plan"    # ("plan", view, ...): group_release of the members serving on the plan's wave day
SURVEY = "survey"  # ("survey", id, view, ...): participation_release of one survey's invitations


def age_band_in(birth_years: pd.Series, years) -> np.ndarray:
    """The age band (as data_access.sql.age_band) of people born in birth_years, in years (a number or a Series)."""
    age = pd.Series(years, index=birth_years.index).astype(float) - pd.to_numeric(birth_years).astype(float)
    bands = np.select([birth_years.isna(), age < 16, age <= 24, age <= 34, age <= 49, age <= 64],
                      [m.NOT_KNOWN, "Under 16", *m.AGE_BANDS[:4]], default=m.AGE_BANDS[4])
    return bands.astype(object)


def _labelled(conn: Connection, rows: list, extra: list[str]) -> pd.DataFrame:
    """Rows of (birth_year, sex, ethnic_group, disability, decile, icp_id, lad_code, placed, own_icp, *extra, n) with
    the area dimensions named (imd_quintile, icp_area, district) and icp_key (as profiles.engaged_cells)."""
    return named_areas(conn, pd.DataFrame(rows, columns=["birth_year", "sex", "ethnic_group", "disability", "decile",
                                                      "icp_id", "lad_code", "placed", "own_icp", *extra, "n"]))


def _person_groups(table):
    L = m.Lsoa
    own = case((table.lsoa_code.is_(None), table.icp_id))
    return [table.birth_year, table.sex, table.ethnic_group, table.disability, L.imd_decile, L.icp_id, L.lad_code,
            L.code.is_not(None).label("placed"), own.label("own_icp")]


@remembered
def member_cells(conn: Connection) -> pd.DataFrame:
    """Every panel member on record counted by birth year, sex, ethnic group, disability, small area's IMD decile,
    ICP area and district, wave, term start and term end (one GROUP BY): the cells of the panel page's release."""
    p, L = m.PanelMember, m.Lsoa
    groups = [*_person_groups(p), p.wave, p.term_start, p.term_end]
    rows = conn.execute(select(*groups, func.count()).select_from(p).outerjoin(L, L.code == p.lsoa_code)
                        .group_by(*groups)).all()
    out = _labelled(conn, rows, ["wave", "term_start", "term_end"])
    for col in ("term_start", "term_end"):
        out[col] = pd.to_datetime(out[col]).dt.date
    return out


def _at(cells: pd.DataFrame, year) -> pd.DataFrame:
    """The cells with the age band as in a year (a number, or a Series of years)."""
    return cells.assign(age_band=age_band_in(cells["birth_year"], year))


def serving_on(cells: pd.DataFrame, day: dt.date) -> np.ndarray:
    return ((cells["term_start"] <= day) & (cells["term_end"] >= day)).to_numpy()


def size_days(cells: pd.DataFrame, day: dt.date, ahead: int = 12) -> list[dt.date]:
    """Every month end panel_size_by_month can show for a period ending on day: from the month of the first term
    on record to day (day itself the last), and the month ends `ahead` months after."""
    from data_access.panel_history import month_ends
    first = min(cells["term_start"].min(), day) if len(cells) else day
    horizon = (pd.Timestamp(day) + pd.DateOffset(months=ahead)).date()
    return month_ends(first, day) + [d for d in month_ends(day, horizon) if d > day]


PLAN_DAYS = 182  # the page's default wave day is this many days after the as-at day


def default_wave_day(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=PLAN_DAYS)


def page_release(cells: pd.DataFrame, day: dt.date, views: list, stated: dict,
                 wave_day: dt.date | None = None) -> dict[tuple, list[int]]:
    """Everything the panel page publishes about its members for the as-at day, as rows of member_cells: panel_release
    (members serving on the day), recruits_release (everyone recruited, age as at the start of their term; 'begun':
    term started by the day), (view, "size", d) for every month end d of size_days and, for a wave day given (the
    page's default), the plan's numbers (plan_release)."""
    from data_access.panel import panel_release, recruits_release
    published: dict[tuple, list[int]] = {}
    serving = np.flatnonzero(serving_on(cells, day))
    now = _at(cells.iloc[serving].reset_index(drop=True), day.year)
    ends = horizon_days(day)
    term_end = now["term_end"]
    now["ends"] = np.select([term_end < ends[h] for h in HORIZONS], list(HORIZONS), default=0)
    for key, rows in panel_release(now, views, stated).items():
        published[key] = serving[rows].tolist()
    recruits = _at(cells, pd.Series([d.year for d in cells["term_start"]], index=cells.index, dtype=float))
    recruits["begun"] = (cells["term_start"] <= day).astype(int)
    published.update(recruits_release(recruits, views))
    for d in size_days(cells, day):
        on = serving_on(cells, d)
        for view in views:
            add_count(published, (view, SIZE, d), view_of(cells, view) & on)
    if wave_day is not None:
        published.update(plan_release(cells, wave_day, views, stated))
    return published


def plan_release(cells: pd.DataFrame, wave_day: dt.date, views: list, stated: dict) -> dict[tuple, list[int]]:
    """What the recruitment plan publishes: the members serving on the wave day by group, their total and the
    stated totals (linked_groups.group_release, age as in the wave day's year), keyed ("plan", view, ...)."""
    from data_access.panel import PANEL_DIMENSIONS
    rows = np.flatnonzero(serving_on(cells, wave_day))
    then = _at(cells.iloc[rows].reset_index(drop=True), wave_day.year)
    return {(PLAN, *key): rows[idx].tolist()
            for key, idx in group_release(then, PANEL_DIMENSIONS, views, stated).items()}


def merged(counts: Sequence[float], sets: list[list[int]]) -> tuple[np.ndarray, list[list[int]]]:
    """The cells that every published number counts alike merged into one (which leaves every linear relation among
    the published numbers as it was), and the sets over the merged cells; cells no number counts are dropped."""
    signature: dict[int, list[int]] = {}
    for j, rows in enumerate(sets):
        for r in rows:
            signature.setdefault(r, []).append(j)
    classes: dict[tuple, int] = {}
    of_cell = {r: classes.setdefault(tuple(sig), len(classes)) for r, sig in signature.items()}
    values = np.zeros(len(classes))
    for r, c in of_cell.items():
        values[c] += counts[r]
    return values, [sorted({of_cell[r] for r in rows}) for rows in sets]


def protect(counts: Sequence[float], published: dict[tuple, list[int]], rules: Policy,
            first: Sequence[bool] | None = None, never_shown: Sequence[bool] | None = None) -> frozenset:
    """The keys of published to hide: gauss_suppression.ordered_suppression over the merged cells; totals (and
    whatever `first` marks instead) are taken first, so a group's count is hidden before a total."""
    keys = list(published)
    if not keys:
        return frozenset()
    values, sets = merged(np.asarray(counts, dtype=float), [published[k] for k in keys])
    early = [is_total(k) or k[1] == SIZE for k in keys] if first is None else first
    flags = ordered_suppression(values, sets, rules.threshold, rules.secondary, never_shown=never_shown, first=early)
    return frozenset(k for k, flag in zip(keys, flags) if flag)


def _stated(conn: Connection, views: list) -> dict:
    from data_access.panel import PANEL_DIMENSIONS, panel_residents_by
    return stated_groups(conn, views, lambda dim, icp: panel_residents_by(conn, PANEL_DIMENSIONS, icp)[dim])


@remembered
def page_hidden(conn: Connection, day: dt.date, rules: Policy) -> frozenset:
    """The keys of page_release hidden, for every view together."""
    cells = member_cells(conn)
    views = view_ids(conn)
    published = page_release(cells, day, views, _stated(conn, views), default_wave_day(day))
    return protect(cells["n"].tolist(), published, rules)


@remembered
def plan_hidden(conn: Connection, day: dt.date, wave_day: dt.date, rules: Policy) -> frozenset:
    """The keys of plan_release hidden (without the "plan" prefix). For the page's default wave day they are chosen
    with the page (page_hidden); for another, with the page's own choice kept as it is: the page's shown numbers are
    taken first, its hidden ones are never shown. Where the plan's numbers cannot then be protected without hiding
    more of the page (a page number would give one away), every plan number is hidden."""
    page_off = page_hidden(conn, day, rules)
    if wave_day == default_wave_day(day):
        return frozenset(k[1:] for k in page_off if k[0] == PLAN)
    cells = member_cells(conn)
    views = view_ids(conn)
    stated = _stated(conn, views)
    page = page_release(cells, day, views, stated, default_wave_day(day))
    plan = {(PLAN, wave_day, *k[1:]): rows for k, rows in plan_release(cells, wave_day, views, stated).items()}
    published = {**page, **plan}
    off = [k in page_off for k in published]
    hidden = protect(cells["n"].tolist(), published, rules, first=[k in page and not o for k, o in zip(published, off)],
                     never_shown=off)
    if any(k in hidden and k not in page_off for k in page):
        return frozenset(k[2:] for k in plan)
    return frozenset(k[2:] for k in hidden if k in plan)


# --- Panel survey invitations: the period's surveys and each survey, together ---------------------------------

@remembered
def invitation_cells(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Invitations of every survey with one sent in the period, counted by the member's groups (birth year, ...),
    survey, day invited and whether answered; with the age band as in the year invited and 'in_period'."""
    i, p, L = m.PanelInvitation, m.PanelMember, m.Lsoa
    surveys = select(i.survey_id).where(i.invited_on >= start, i.invited_on <= end).distinct()
    answered = case((i.responded, 1), else_=0)
    groups = [*_person_groups(p), i.survey_id, i.invited_on, answered]
    rows = conn.execute(select(*groups, func.count()).select_from(i).join(p, p.id == i.panel_member_id)
                        .outerjoin(L, L.code == p.lsoa_code).where(i.survey_id.in_(surveys)).group_by(*groups)).all()
    out = _labelled(conn, rows, ["survey_id", "invited_on", "responded"])
    out["invited_on"] = pd.to_datetime(out["invited_on"]).dt.date
    out = _at(out, pd.Series([d.year for d in out["invited_on"]], index=out.index, dtype=float))
    out["in_period"] = [(start <= d <= end) for d in out["invited_on"]]
    return out


@remembered
def participation_joint_hidden(conn: Connection, start: dt.date, end: dt.date, rules: Policy) -> frozenset:
    """The keys hidden of panel.participation_release for the period's invitations (as they are) and for each
    survey with an invitation in the period (prefixed ("survey", id)), protected together in every view."""
    from data_access.panel import participation_release
    cells = invitation_cells(conn, start, end)
    views = view_ids(conn)
    published: dict[tuple, list[int]] = {}
    rows = np.flatnonzero(cells["in_period"].to_numpy())
    for key, idx in participation_release(cells.iloc[rows].reset_index(drop=True), views).items():
        published[key] = rows[idx].tolist()
    for survey in sorted(set(cells["survey_id"])):
        rows = np.flatnonzero((cells["survey_id"] == survey).to_numpy())
        for key, idx in participation_release(cells.iloc[rows].reset_index(drop=True), views).items():
            published[(SURVEY, survey, *key)] = rows[idx].tolist()
    first = [len(k) - (2 if k[0] == SURVEY else 0) == 2 for k in published]  # invited, answered in all
    return protect(cells["n"].tolist(), published, rules, first=first)


def participation_keys(hidden: frozenset, survey_id: int | None) -> frozenset:
    """The keys of participation_release hidden for the period's surveys (None) or for one survey."""
    if survey_id is None:
        return frozenset(k for k in hidden if k[0] != SURVEY)
    return frozenset(k[2:] for k in hidden if k[0] == SURVEY and k[1] == survey_id)


def has_survey(conn: Connection, start: dt.date, end: dt.date, survey_id: int) -> bool:
    return bool((invitation_cells(conn, start, end)["survey_id"] == survey_id).any())

