"""Headline figures for the overview page and the board pack, each computed in SQL from the store: the
headlines, the monthly series behind their Making Data Count verdicts, open surveys against target, the
panel's dissimilarity index and the open "You said, we did" actions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection
from threadpoolctl import threadpool_limits

from data_access import models as m
from data_access.cached import remembered
from data_access.disclosure import Policy, is_small, policy, publish_count
from data_access.filters import Filters, icp_id, in_icp
from data_access.geography import CORE20_MAX_DECILE, core20_share_of_residents
from data_access.actions import open_actions
from data_access.network_release import period_months, published_counts
from data_access.networks import complete_months, measure_settings
from data_access.panel import PANEL_TARGET, coverage, panel_size
from data_access.profiles import DIMENSIONS, engaged_cells
from data_access.reach import CORE20_QUINTILE, core20_reach
from data_access.representativeness import dissimilarity_index, for_display, published
from data_access.sql import month_start
from data_access.surveys import (
    cross_view_release, progress_against_target, progress_hidden, response_cells, responses_by_day, survey_summary,
    target_verdict,
)


@dataclass(frozen=True)
class Headlines:
    """The overview's headline figures for one area and period."""

    members: int | None             # None where hidden (see member_counts)
    members_year_before: int | None
    open_surveys: int
    responses: int
    panel_members: int
    panel_target: int
    respondents_with_area: int
    core20_respondents: int
    core20_share_respondents: float | None
    core20_share_residents: float | None

    @property
    def growth_12m(self) -> int | None:
        """Net change in network members over the 12 months to the period end (None where either is hidden)."""
        if self.members is None or self.members_year_before is None:
            return None
        return self.members - self.members_year_before


def year_before(day: dt.date) -> dt.date:
    """The same day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def member_counts(conn: Connection, filters: Filters) -> tuple[int | None, int | None]:
    """(Network members at the period end, and a year before), as the network growth page publishes them for the
    year to the period end (data_access.network_release: protected with each network's line, the monthly totals and
    retention, in every view): members at its last month end and at its start. A small count is given as it is (it
    is shown as small); None where hidden so that a small number elsewhere cannot be worked out."""
    year = Filters(filters.icp, year_before(filters.end) + dt.timedelta(days=1), filters.end)
    counts = published_counts(conn, year)
    return counts[("members", period_months(year.start, year.end)[-1])], counts[("start",)]


def core20_respondents(conn: Connection, filters: Filters) -> tuple[int, int]:
    """(Respondents in the period whose small area is known, of whom living in Core20 areas)."""
    r, L = m.SurveyResponse, m.Lsoa
    start = dt.datetime.combine(filters.start, dt.time())
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time())
    stmt = (select(func.count(), func.sum(case((L.imd_decile <= CORE20_MAX_DECILE, 1), else_=0)))
            .select_from(r).join(L, L.code == r.lsoa_code)
            .where(and_(r.submitted_at >= start, r.submitted_at < end)))
    stmt = in_icp(stmt, r.lsoa_code, conn, filters.icp)
    known, core = conn.execute(stmt).one()
    return int(known or 0), int(core or 0)


def panel_target(conn: Connection, icp: str | None) -> int:
    """The panel's target size: 2,000 for Kent and Medway, or an ICP area's population share of it."""
    if not icp:
        return PANEL_TARGET
    L = m.Lsoa
    total = conn.execute(select(func.sum(L.population))).scalar_one() or 0
    area = conn.execute(select(func.sum(L.population)).where(
        L.icp_id == select(m.IcpArea.id).where(m.IcpArea.name == icp).scalar_subquery())).scalar_one() or 0
    return int(round(PANEL_TARGET * area / total)) if total else 0


def headline_figures(conn: Connection, filters: Filters, cells: dict[str, pd.DataFrame] | None = None,
                     summary: pd.DataFrame | None = None) -> Headlines:
    """The headline figures for the filtered area, as at the end of the period. The members, responses, panel
    members and Core20 respondents are counted from cells where given (kind -> profiles.engaged_cells for these
    filters), the open surveys from the survey summary where given."""
    r = m.SurveyResponse
    end = filters.end
    summary = survey_summary(conn, filters) if summary is None else summary
    open_surveys = int((summary["status"] == "Open").sum())
    if cells is None:
        start_dt = dt.datetime.combine(filters.start, dt.time())
        end_dt = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        responses_stmt = select(func.count()).select_from(r).where(r.submitted_at >= start_dt, r.submitted_at < end_dt)
        responses = int(conn.execute(in_icp(responses_stmt, r.lsoa_code, conn, filters.icp)).scalar_one())
        known, core = core20_respondents(conn, filters)
        panel_members = panel_size(conn, end, filters.icp)
    else:
        responses = int(cells["respondents"]["n"].sum())
        placed = cells["respondents"][cells["respondents"]["placed"]]
        known, core = int(placed["n"].sum()), int(placed.loc[placed["imd_quintile"] == CORE20_QUINTILE, "n"].sum())
        panel_members = int(cells["panel"]["n"].sum())
    members, members_year_before = member_counts(conn, filters)
    return Headlines(
        members=members,
        members_year_before=members_year_before,
        open_surveys=open_surveys,
        responses=responses,
        panel_members=panel_members,
        panel_target=panel_target(conn, filters.icp),
        respondents_with_area=known,
        core20_respondents=core,
        core20_share_respondents=core / known if known else None,
        core20_share_residents=core20_share_of_residents(conn, filters.icp),
    )


# --- The monthly series behind the Making Data Count verdicts -----------------------------------------

SPC_MONTHS = 24


def months_to_end(filters: Filters, months: int = SPC_MONTHS) -> Filters:
    """The filters widened to the `months` whole months before the month the period ends in (and that month
    up to the end, which complete_months then drops unless the period ends on a month's last day)."""
    month_after = (pd.Timestamp(filters.end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    return Filters(filters.icp, (month_after - pd.DateOffset(months=months)).date(), filters.end)


def _monthly_counts(conn: Connection, date_col, lsoa_col, window: Filters) -> dict[str, int]:
    """Rows per month ('YYYY-MM-01' -> count) whose date falls in the window, in its area."""
    month = month_start(date_col).label("month")
    stmt = select(month, func.count()).where(date_col >= window.start, date_col <= window.end).group_by(month)
    return dict(conn.execute(in_icp(stmt, lsoa_col, conn, window.icp)).all())


def _published(count) -> int:
    """A month's count as charted: rounded as the policy asks (HES: to the nearest 5); a small count is kept as
    it is, so that the chart that would show it is not drawn (charts.overview.verdict marks it hidden)."""
    return int(publish_count(int(count)))


def network_change_by_month(conn: Connection, filters: Filters, months: int = SPC_MONTHS) -> pd.DataFrame:
    """People joining and leaving any network, and the net change, in each complete month of the `months`
    months to the period end (in the filtered area): month, joiners, leavers, net. Joiners and leavers are as the
    network growth page publishes them for that window (network_release.published_counts: a small count as it is,
    missing where hidden to protect another; either way the chart is not drawn); net is worked out from the counts
    rounded as the policy asks, for the verdict only."""
    window = months_to_end(filters, months)
    t = m.NetworkMembership
    joiners = _monthly_counts(conn, t.joined_on, t.lsoa_code, window)
    leavers = _monthly_counts(conn, t.left_on, t.lsoa_code, window)
    frame = pd.DataFrame({"month": pd.date_range(pd.Timestamp(window.start), window.end, freq="MS")})
    keys = [f"{mo:%Y-%m-%d}" for mo in frame["month"]]
    frame["net"] = [_published(joiners.get(k, 0)) - _published(leavers.get(k, 0)) for k in keys]
    shown = published_counts(conn, window)
    for col in ("joiners", "leavers"):
        frame[col] = pd.array([shown[(col, k)] for k in keys], dtype="Int64")
    return complete_months(frame[["month", "joiners", "leavers", "net"]], window)


def responses_by_month(conn: Connection, filters: Filters, months: int = SPC_MONTHS) -> pd.DataFrame:
    """Survey responses from people in the filtered area in each complete month of the `months` months to the
    period end (months with none are 0), counted in SQL and rounded as the policy asks: month, responses, published
    (the same, missing in every month where the series would let a count the survey pages hide be worked out:
    months_hidden; the chart is then not drawn)."""
    window = months_to_end(filters, months)
    r = m.SurveyResponse
    month = month_start(r.submitted_at).label("month")
    start = dt.datetime.combine(window.start, dt.time())
    end = dt.datetime.combine(window.end + dt.timedelta(days=1), dt.time())
    stmt = (select(month, func.count()).where(r.submitted_at >= start, r.submitted_at < end)
            .group_by(month))
    counts = dict(conn.execute(in_icp(stmt, r.lsoa_code, conn, window.icp)).all())
    months_index = pd.date_range(pd.Timestamp(window.start), window.end, freq="MS")
    frame = pd.DataFrame({"month": months_index})
    frame["responses"] = [_published(counts.get(f"{mo:%Y-%m-%d}", 0)) for mo in months_index]
    frame = complete_months(frame, window)
    secret = icp_id(conn, filters.icp) in months_hidden(conn, filters.end, months)
    frame["published"] = pd.array([None if secret else v for v in frame["responses"]], dtype="Int64")
    return frame


def months_hidden(conn: Connection, as_at: dt.date, months: int = SPC_MONTHS) -> frozenset:
    """The views (None: all areas, or an ICP area's id) whose "survey responses each month" are not shown as they
    are: each month's count is a sum of the survey pages' cells (responses per survey, day, channel and ICP area),
    so the series is published only where, with the survey pages of every survey in every view and the series
    kept before it (all areas first, then each ICP area), no count the survey pages hide as small becomes a linear
    combination of published numbers. A series with a small month is not drawn anyway and is passed over."""
    return _months_hidden(conn, as_at, months, policy())


@remembered
def _months_hidden(conn: Connection, as_at: dt.date, months: int, rules: Policy) -> frozenset:
    with threadpool_limits(1):  # many small matrices: one BLAS thread is many times faster on a busy machine
        return _months_hidden_now(conn, as_at, months, rules)


def _months_hidden_now(conn: Connection, as_at: dt.date, months: int, rules: Policy) -> frozenset:
    if not rules.secondary:
        return frozenset()
    cells = response_cells(conn)
    if cells.empty:
        return frozenset()
    windows = dict(((sid, (o, c)) for sid, o, c in conn.execute(select(m.Survey.id, m.Survey.opens_on,
                                                                        m.Survey.closes_on))))
    views = [None, *conn.execute(select(m.IcpArea.id).order_by(m.IcpArea.id)).scalars()]
    # per survey: an orthonormal basis of what its pages show, and the part of each small number they hide that
    # is not worked out from them (a reader's knowledge, block by block: one survey's numbers touch its cells only)
    blocks = []
    for sid, rows in cells.groupby("survey_id", sort=True).indices.items():
        part = cells.iloc[rows].reset_index(drop=True)
        opens, closes = windows[int(sid)]
        published = cross_view_release(part, views, pd.date_range(opens, closes, freq="D"), as_at)
        hidden = progress_hidden(conn, int(sid), as_at)
        values = part["responses"].to_numpy(dtype=float)
        shown_sets = {frozenset(v) for k, v in published.items() if k not in hidden and v}
        small = {frozenset(v) for k, v in published.items() if 0 < values[v].sum() < rules.threshold}
        basis = _orthonormal(_indicator(len(part), shown_sets))
        residual = _indicator(len(part), small)
        residual -= basis @ (basis.T @ residual)
        norms = (residual ** 2).sum(axis=0)
        live = norms > 1e-9  # (a small number a survey's pages give away by themselves is theirs to protect)
        blocks.append((rows, basis, residual[:, live], norms[live]))
    if not any(len(norms) for *_, norms in blocks):
        return frozenset()
    n = len(cells)
    window = months_to_end(Filters(None, as_at, as_at), months)
    month_starts = [mo for mo in pd.date_range(pd.Timestamp(window.start), as_at, freq="MS")
                    if (mo + pd.offsets.MonthEnd(0)).date() <= as_at]  # complete months, as charted
    month_of = cells["day"].dt.to_period("M").dt.start_time.to_numpy()
    icp, values = cells["icp_key"].to_numpy(), cells["responses"].to_numpy()
    kept, secret = np.zeros((n, 0)), set()
    for view in views:
        mine = np.ones(n, dtype=bool) if view is None else icp == view
        series = []
        for start in month_starts:
            vec = (mine & (month_of == start.to_datetime64())).astype(float)
            if 0 < values[vec > 0].sum() < rules.threshold:
                series = None  # a small month: the chart is not drawn
                break
            for rows, basis, _, _ in blocks:  # the part not already worked out from each survey's own pages
                vec[rows] -= basis @ (basis.T @ vec[rows])
            series.append(vec)
        if series is None:
            continue
        trial = np.column_stack([kept, *series]) if series else kept
        if _gives_away(trial, blocks):
            secret.add(view)
        else:
            kept = trial
    return frozenset(secret)


def _gives_away(a: np.ndarray, blocks: list) -> bool:
    """Whether a small number's unexplained part (a block's residual) is a linear combination of the columns of a."""
    if not a.shape[1]:
        return False
    basis = _orthonormal(a)
    for rows, _, residual, norms in blocks:
        if len(norms) and (norms - ((basis[rows].T @ residual) ** 2).sum(axis=0) < 1e-8).any():
            return True
    return False


def _indicator(n: int, sets) -> np.ndarray:
    out = np.zeros((n, len(sets)))
    for j, cells in enumerate(sets):
        out[list(cells), j] = 1.0
    return out


def _orthonormal(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the columns of a (n x r), from the smaller of its two Gram matrices."""
    if not a.shape[1]:
        return np.zeros((a.shape[0], 0))
    if a.shape[0] <= a.shape[1]:
        w, v = np.linalg.eigh(a @ a.T)
        return v[:, w > 1e-9 * max(1.0, w.max())]
    w, v = np.linalg.eigh(a.T @ a)
    keep = w > 1e-9 * max(1.0, w.max())
    return (a @ v[:, keep]) / np.sqrt(w[keep])


def last_months(filters: Filters, months: int = 3) -> Filters:
    """The `months` months to the period end: from the same day `months` months before the day after the end
    (so a period ending on 31 March gives 1 January to 31 March)."""
    after = pd.Timestamp(filters.end) + pd.Timedelta(days=1)
    return Filters(filters.icp, (after - pd.DateOffset(months=months)).date(), filters.end)


def responses_in(conn: Connection, filters: Filters) -> int:
    """Survey responses sent in during the period by people in the filtered area."""
    r = m.SurveyResponse
    start = dt.datetime.combine(filters.start, dt.time())
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time())
    stmt = select(func.count()).select_from(r).where(r.submitted_at >= start, r.submitted_at < end)
    return int(conn.execute(in_icp(stmt, r.lsoa_code, conn, filters.icp)).scalar_one())


# --- Open surveys against target ---------------------------------------------------------------------

ON_TRACK = ("on track", "target met")


def survey_tracking(conn: Connection, filters: Filters, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each survey open on the last day of the period that covers the filtered area, against its target
    (responses from the area; the straight-line trajectory as on the survey page): id, title, closes_on,
    target, responses (None where the survey page does not state it), expected, status ('on track', 'target met',
    'behind' or 'no target'), sentence.
    summary: surveys.survey_summary for these filters, if already worked out."""
    summary = survey_summary(conn, filters) if summary is None else summary
    rows = []
    for s in summary[summary["status"] == "Open"].itertuples():
        target = None if pd.isna(s.target) else int(s.target)
        progress = progress_against_target(responses_by_day(conn, int(s.id), filters), s.opens_on, s.closes_on,
                                           target, filters.end)
        whole = None if pd.isna(s.target_all) else int(s.target_all)
        verdict = target_verdict(progress, target, filters.end, whole, filters.icp)
        # the number so far as the survey page states it: not shown where its release hides it
        secret = progress.attrs.get("responses_hidden", False) and not is_small(verdict["responses"])
        rows.append(dict(id=int(s.id), title=s.title, closes_on=s.closes_on, target=target,
                         responses=None if secret else verdict["responses"], expected=verdict["expected"],
                         status=verdict["status"],
                         sentence=verdict["sentence"]))
    return pd.DataFrame(rows, columns=["id", "title", "closes_on", "target", "responses", "expected", "status",
                                       "sentence"])


# --- How well the panel matches residents -----------------------------------------------------------

MATCH_DIMENSIONS = ["age_band", "sex", "ethnic_group", "disability", "imd_quintile"]


def panel_match(conn: Connection, filters: Filters, cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """The dissimilarity index of the panel serving on the last day of the period against residents, per
    dimension (age, sex, ethnic group, disability, deprivation, and ICP area, or district within one ICP
    area; members whose group is not stated are left out): dimension, label, members, index. The index is
    worked out from the comparison as published on the panel page (representativeness.published: hidden groups
    counted together), so it cannot give a hidden count away; it is missing where every group is hidden, and for a
    breakdown by ethnic group or disability withheld for too small a base."""
    dims = MATCH_DIMENSIONS + ["district" if filters.icp else "icp_area"]
    tables = coverage(conn, filters.end, filters.icp, cells=cells)  # cells: the panel's engaged_cells, if counted
    rows = []
    for dim in dims:
        shown = for_display(tables[dim], dim)
        known = published(shown)
        n = int(known["count"].sum())
        comparable = n and len(known) > 1 and not shown.attrs.get("withheld")  # every group hidden: cannot tell
        index = dissimilarity_index(known["share"], known["resident_share"]) if comparable else float("nan")
        rows.append(dict(dimension=dim, label=DIMENSIONS[dim], members=n, index=index))
    return pd.DataFrame(rows, columns=["dimension", "label", "members", "index"])


# --- Everything the overview and the pack show --------------------------------------------------------

@dataclass
class Overview:
    """The overview's figures for one area and period (see data_access.definitions for each one)."""

    filters: Filters
    headlines: Headlines
    quarter: Filters
    responses_quarter: int
    network_months: pd.DataFrame
    response_months: pd.DataFrame
    tracking: pd.DataFrame
    panel_match: pd.DataFrame
    open_actions: pd.DataFrame
    core20: pd.DataFrame
    measures: dict = field(default_factory=dict)

    @property
    def dissimilarity(self) -> float | None:
        """The panel's dissimilarity index averaged over the dimensions (None without panel members)."""
        values = self.panel_match["index"].dropna()
        return float(values.mean()) if len(values) else None

    @property
    def core20_ratio(self) -> float | None:
        """Core20 share of respondents divided by the Core20 share of residents (None when unknown)."""
        h = self.headlines
        if h.core20_share_respondents is None or not h.core20_share_residents:
            return None
        return h.core20_share_respondents / h.core20_share_residents

    @property
    def surveys_on_track(self) -> int:
        """Open surveys on track or with their target already met."""
        return int(self.tracking["status"].isin(ON_TRACK).sum())

    @property
    def surveys_behind(self) -> int:
        """Open surveys behind the trajectory to their target."""
        return int((self.tracking["status"] == "behind").sum())


def overview(conn: Connection, filters: Filters) -> Overview:
    """Every figure on the overview for the filtered area and period."""
    quarter = last_months(filters, 3)
    # one scan of each kind of engaged person, counted by every dimension at once, shared by the figures below
    cells = {kind: engaged_cells(conn, kind, filters) for kind in ("members", "respondents", "panel")}
    summary = survey_summary(conn, filters)
    return Overview(
        filters=filters,
        headlines=headline_figures(conn, filters, cells, summary),
        quarter=quarter,
        responses_quarter=responses_in(conn, quarter),
        network_months=network_change_by_month(conn, filters),
        response_months=responses_by_month(conn, filters),
        tracking=survey_tracking(conn, filters, summary),
        panel_match=panel_match(conn, filters, cells["panel"]),
        open_actions=open_actions(conn, filters),
        core20=core20_reach(conn, filters, by="icp", cells=cells),
        measures={"members": measure_settings(conn, "network_net_change"),
                  "responses": measure_settings(conn, "survey_responses")},
    )
