"""Everything the citizens' panel page publishes about its members, audited together (tests/audit.py): the members
serving on the as-at day (breakdowns, intersections, terms ending, members by wave, the members weighted), everyone
recruited (each wave's recruits, its joiners in all and by group), the panel size at every month end of the period and
12 months ahead, and the recruitment plan's members still serving on the wave day; and, as another kind of cell, the
invitations of all the period's panel surveys together with each survey's. Each member (or invitation) is one cell,
and every published number is defined here from the records themselves, not from the code under test. Also a small
case worked by hand on both engines where the earlier rule (each set protected on its own, the size by month hidden
only where small) lets counts through, and generated handfuls."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from data_access import models as m
from data_access.disclosure import Policy, is_small, policy, round_count
from data_access.filters import Filters, default_period, icp_id
from data_access.geography import icp_names
from data_access.linked_groups import hidden_keys
from data_access.overview import panel_target
from data_access.panel import (PANEL_DIMENSIONS, coverage, design_effects, panel_by_wave, panel_release,
                               published_panel_size, published_waves, quota_inputs, recruits_release)
from data_access.panel_history import (joiners_by_wave, panel_size_by_month, panel_surveys, participation,
                                       participation_total, terms_ending_total, wave_totals)
from data_access.panel_joint import page_release, protect
from data_access.profiles import engaged_cells, view_ids
from data_access.quotas import plan_wave
from data_access.representativeness import Tolerance, for_display
from tests.audit import Release
from tests.factories import build_tiny_store
from tests.test_rep_disclosure import add_breakdowns, add_terms_and_intersections, band, people

D = dt.date
HORIZON = (3, 6, 12)


class Numbers:
    """Published numbers: (name, the cells it adds up, the value shown or None). Audited exactly (threshold rule:
    tests/audit.py) or checked against the HES rule (every count shown is its true value rounded to 5, none of 1-7)."""

    def __init__(self, cells):
        self.cells = pd.Series(1.0, index=list(cells))
        self.rows: list = []

    def add(self, name, ids, shown, derived: bool = False) -> None:
        """derived: a number the page does not show but a reader works out from shown ones (a sum or difference of
        rounded counts under the HES rule; exact under the threshold rule); a breakdown's stated total is one."""
        derived = derived or name[-1] == "stated"
        # as the charts and tables show it: rounded to 5 under the HES rule (round_count; exact otherwise)
        value = None if shown is None or pd.isna(shown) else float(shown if derived else round_count(shown))
        self.rows.append((name, list(ids), value, derived))

    def leaks(self) -> list:
        release = Release(self.cells)
        for name, ids, shown, _derived in self.rows:
            release.add(name, ids, shown)
        return release.leaks(policy().threshold)

    def hes_breaches(self) -> list:
        return [(name, len(ids), shown) for name, ids, shown, derived in self.rows
                if shown is not None and not derived and (shown != round_count(len(ids)) or 0 < len(ids) < 8)]

    def hidden(self) -> int:
        return sum(shown is None and len(ids) > 0 for _name, ids, shown, _derived in self.rows)


def member_numbers(conn, start: dt.date, day: dt.date, wave_day: dt.date) -> Numbers:
    """Everything the panel page publishes about its members in every view, as sums of members."""
    p = m.PanelMember
    everyone = people(conn, p, [p.id.is_not(None)], day.year)
    starts = dict(conn.execute(select(p.id, p.term_start)).all())
    everyone["start"] = everyone["id"].map(starts)
    numbers = Numbers(everyone["id"])
    ends = {h: (pd.Timestamp(day) + pd.DateOffset(months=h)).date() for h in HORIZON}
    for icp in [None, *icp_names(conn)]:
        view = Filters(icp, start, day)
        mine = everyone if icp is None else everyone[everyone["icp"] == icp]
        now = mine[(mine["start"] <= day) & (mine["term_end"] >= day)]
        # the members serving on the as-at day
        tables = {d: for_display(t, d) for d, t in coverage(conn, day, icp).items()}
        totals = terms_ending_total(conn, day, icp)
        assert totals["serving"] == published_panel_size(conn, day, icp) or (
            pd.isna(totals["serving"]) and published_panel_size(conn, day, icp) is None)
        add_breakdowns(numbers, now, icp, tables, totals["serving"])
        for h in HORIZON:
            numbers.add((icp, "within", h), now.loc[now["term_end"] < ends[h], "id"], totals[f"within_{h}"])
        add_terms_and_intersections(numbers.add, conn, now, icp, day, list(tables), ends)
        design = design_effects(conn, day, icp).set_index("dimension")
        weighted = now
        for d in [d for d in PANEL_DIMENSIONS if not (icp and d == "icp_area")]:
            weighted = weighted[weighted[d].isin(set(tables[d].loc[tables[d]["stated"], "group"]))]
        if not design.loc["all", "note"]:
            numbers.add((icp, "weighted"), weighted["id"], design.loc["all", "weighted"])
        # members by wave: still serving, and everyone recruited
        for r in published_waves(panel_by_wave(conn, view)).itertuples():
            numbers.add((icp, "wave", r.wave), now.loc[now["wave"] == r.wave, "id"], r.serving)
            numbers.add((icp, "recruited", r.wave), mine.loc[mine["wave"] == r.wave, "id"], r.recruited)
        begun = mine[mine["start"] <= day].copy()
        begun["age_band"] = [band(b, s.year) for b, s in zip(begun["birth"], begun["start"])]  # as at joining
        for r in wave_totals(conn, view).itertuples():
            numbers.add((icp, "joined", r.wave), begun.loc[begun["wave"] == r.wave, "id"], r.joiners)
        for dim in PANEL_DIMENSIONS:
            for r in joiners_by_wave(conn, dim, view).itertuples():
                rows = begun[(begun["wave"] == r.wave) & (begun[dim] == r.group)]
                numbers.add((icp, "joined", r.wave, dim, r.group), rows["id"], r.joiners)
        # the panel size at every month end, and ahead with no new recruits
        for r in panel_size_by_month(conn, view).itertuples():
            on = mine[(mine["start"] <= r.day) & (mine["term_end"] >= r.day)]
            numbers.add((icp, "size", r.day), on["id"], r.members)
        # the recruitment plan for the wave day: members still serving then, in all and by group
        then = mine[(mine["start"] <= wave_day) & (mine["term_end"] >= wave_day)].copy()
        then["age_band"] = [band(b, wave_day.year) for b in then["birth"]]
        inputs = quota_inputs(conn, wave_day, icp, day)
        plan = plan_wave(inputs, panel_target(conn, icp), Tolerance(), {})
        open_plan = not (is_small(plan.serving) or inputs["serving_hidden"])
        numbers.add((icp, "plan"), then["id"], plan.serving if open_plan else None)
        for dim, t in plan.by_dimension.items():
            for r in t.itertuples():
                shown = open_plan and not r.hidden
                numbers.add((icp, "plan", dim, r.group), then.loc[then[dim] == r.group, "id"],
                            r.retained if shown else None)
    return numbers


@pytest.fixture
def rule(request, monkeypatch):
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.setenv("DISCLOSURE_RULE", request.param)
    return request.param


@pytest.mark.parametrize("rule", ["threshold", "hes"], indirect=True)
def test_everything_the_panel_page_publishes_about_members_is_protected_together_on_the_demo_store(demo7, rule):
    with demo7.connect() as conn:
        start, day = default_period(conn)
        numbers = member_numbers(conn, start, day, day + dt.timedelta(days=182))  # the page's default wave day
    assert numbers.hidden() > 0
    if rule == "hes":
        assert numbers.hes_breaches() == []
    else:
        assert numbers.leaks() == []
        # no more hidden than needed where it was most visible: 16-24 year olds in all areas are shown
        age = [shown for name, _ids, shown, _d in numbers.rows if name == (None, "age_band", "16-24")]
        assert age and all(v is not None for v in age)


def invitation_numbers(conn, start: dt.date, end: dt.date) -> Numbers:
    """Everything the participation chart publishes for every survey choice (all the period's surveys, and each
    survey the page offers in any view) in every view, as sums of invitations."""
    i, p = m.PanelInvitation, m.PanelMember
    rows = pd.DataFrame(conn.execute(select(i.id, i.panel_member_id, i.survey_id, i.invited_on, i.responded)).all(),
                        columns=["inv", "member", "survey", "invited_on", "responded"])
    who = people(conn, p, [p.id.in_(set(rows["member"].tolist()))], end.year).drop(columns="age_band").set_index("id")
    inv = rows.join(who, on="member")
    inv["age_band"] = [band(b, d.year) for b, d in zip(inv["birth"], inv["invited_on"])]
    numbers = Numbers(inv["inv"])
    for icp in [None, *icp_names(conn)]:
        view = Filters(icp, start, end)
        mine = inv if icp is None else inv[inv["icp"] == icp]
        for survey in [None, *panel_surveys(conn, view)["survey_id"]]:
            chosen = (mine[(mine["invited_on"] >= start) & (mine["invited_on"] <= end)] if survey is None
                      else mine[mine["survey"] == survey])
            total = participation_total(conn, view, survey)
            numbers.add((survey, icp, "invited"), chosen["inv"], total["invited"])
            numbers.add((survey, icp, "responded"), chosen.loc[chosen["responded"], "inv"], total["responded"])
            for dim in PANEL_DIMENSIONS:
                for r in participation(conn, dim, view, survey).itertuples():
                    group = chosen[chosen[dim] == r.group]
                    shown = not (pd.isna(r.invited) or pd.isna(r.responded))
                    numbers.add((survey, icp, dim, r.group, "invited"), group["inv"], r.invited)
                    numbers.add((survey, icp, dim, r.group, "responded"), group.loc[group["responded"], "inv"],
                                r.responded)
                    numbers.add((survey, icp, dim, r.group, "unanswered"), group.loc[~group["responded"], "inv"],
                                r.invited - r.responded if shown else None, derived=True)
    return numbers


@pytest.mark.parametrize("rule", ["threshold", "hes"], indirect=True)
def test_every_survey_choice_of_the_participation_chart_is_protected_together_on_the_demo_store(demo7, rule):
    with demo7.connect() as conn:
        start, end = default_period(conn)
        numbers = invitation_numbers(conn, start, end)
    assert numbers.hidden() > 0
    assert (numbers.hes_breaches() if rule == "hes" else numbers.leaks()) == []


# --- A small case worked by hand (SQLite and PostgreSQL) ---------------------------------------------------------

START, DAY = D(2024, 4, 1), D(2025, 3, 31)
# Everyone in small area A1 (East Kent), born 1980, female, White, not disabled:
#   A: 10 of wave 1, serving 1/4/2024 - 31/3/2026
#   B:  2 of wave 1, serving 1/4/2024 - 31/5/2025 (their terms end within 3 months of 31 March 2025)
#   C:  3 of wave 2, serving 1/1/2025 - 31/3/2026
GROUPS = {"A": (10, 1, D(2024, 4, 1), D(2026, 3, 31)), "B": (2, 1, D(2024, 4, 1), D(2025, 5, 31)),
          "C": (3, 2, D(2025, 1, 1), D(2026, 3, 31))}


def fill_hand_case(engine) -> None:
    build_tiny_store(engine)
    with engine.begin() as conn:
        conn.execute(delete(m.PanelInvitation.__table__))
        conn.execute(delete(m.PanelMember.__table__))
        conn.execute(insert(m.PanelMember.__table__), [
            dict(member_ref=f"{g}{k}", wave=wave, term_start=s, term_end=e, lsoa_code="A1", birth_year=1980,
                 sex="Female", ethnic_group="White", disability="Not disabled")
            for g, (n, wave, s, e) in GROUPS.items() for k in range(n)])


def hand_numbers(conn, earlier: bool) -> Numbers:
    """The panel size, members by wave (serving, recruited), terms ending within 3 months and the size by month in
    every view, as today's code shows them (earlier=False) or as the earlier rule did: the members serving and
    everyone recruited each protected on its own (linked_groups.hidden_keys), the size by month hidden only where
    small."""
    ids = dict(conn.execute(select(m.PanelMember.member_ref, m.PanelMember.id)).all())
    group = {i: ref[0] for ref, i in ids.items()}
    numbers = Numbers(sorted(ids.values()))
    rules = policy()
    if earlier:
        views = view_ids(conn)
        serving = engaged_cells(conn, "panel", Filters(None, DAY, DAY))
        stated = {v: {d: set(serving[d]) for d in PANEL_DIMENSIONS} for v in views}
        old = hidden_keys(serving["n"].tolist(), panel_release(serving, views, stated), rules)
        recruits = engaged_cells(conn, "recruits", Filters(None, DAY, DAY))
        old |= hidden_keys(recruits["n"].tolist(), recruits_release(recruits, views), rules)

    def members(*groups):
        return [i for i, g in group.items() if g in groups]

    for icp in (None, "East Kent"):
        view = icp_id(conn, icp)
        filters = Filters(icp, START, DAY)
        waves = published_waves(panel_by_wave(conn, filters)).set_index("wave")
        within = terms_ending_total(conn, DAY, icp)["within_3"]
        sizes = panel_size_by_month(conn, filters)
        if earlier:
            waves["serving"] = [None if (view, "wave", w) in old else v for w, v in
                                zip(waves.index, [12, 3])]
            waves["recruited"] = [None if (view, "recruited", w) in old else v for w, v in
                                  zip(waves.index, [12, 3])]
            within = None if (view, "within", 3) in old else 2
            sizes["members"] = [None if is_small(n) else n for n in  # hidden only where small
                                [sum(n for n, _w, s, e in GROUPS.values() if s <= d <= e) for d in sizes["day"]]]
        numbers.add((icp, "size now"), members("A", "B", "C"), published_panel_size(conn, DAY, icp))
        numbers.add((icp, "wave", 1), members("A", "B"), waves.loc[1, "serving"])
        numbers.add((icp, "wave", 2), members("C"), waves.loc[2, "serving"])
        numbers.add((icp, "recruited", 1), members("A", "B"), waves.loc[1, "recruited"])
        numbers.add((icp, "recruited", 2), members("C"), waves.loc[2, "recruited"])
        numbers.add((icp, "within", 3), members("B"), within)
        for d, n in zip(sizes["day"], sizes["members"]):
            numbers.add((icp, "size", d), members(*[g for g, (_n, _w, s, e) in GROUPS.items() if s <= d <= e]), n)
    return numbers


@pytest.fixture
def threshold5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def test_a_case_worked_by_hand_leaks_under_the_earlier_rule_and_not_now(engine, threshold5):
    fill_hand_case(engine)
    with engine.connect() as conn:
        # The earlier rule: the members serving hide wave 2's 3 (small) and wave 1's 12 (else 15 - 12 gives 3) and
        # the 2 whose terms end within 3 months; everyone recruited, protected on its own, shows wave 1's 12 recruits,
        # who are the same people: 15 - 12 = 3. The size by month shows 13 from June 2025 (not small): 15 - 13 = 2.
        leaks = dict(hand_numbers(conn, earlier=True).leaks())
        assert leaks[(None, "wave", 2)] == 3 and leaks[(None, "within", 3)] == 2
        assert leaks[("East Kent", "wave", 2)] == 3 and leaks[("East Kent", "within", 3)] == 2
        # Now, with the cells A (10), B (2) and C (3): every total and size point is taken first, the largest first.
        # A+B+C (15) is shown; A+C (13: the size from June 2025 to March 2026) with it would give B, so it is
        # hidden; A+B (12: the size before January 2025, wave 1 serving and recruited) would give C, so it is hidden.
        # So only the 15s (and the zeros) are shown.
        numbers = hand_numbers(conn, earlier=False)
        assert numbers.leaks() == []
        shown = {name: v for name, _ids, v, _d in numbers.rows if v is not None}
        assert set(shown.values()) == {15.0}
        sizes = panel_size_by_month(conn, Filters(None, START, DAY))
        expected = [15 if D(2025, 1, 1) <= d <= D(2025, 5, 31) else None for d in sizes["day"]]
        assert [None if pd.isna(v) else int(v) for v in sizes["members"]] == expected


# --- Generated handfuls ------------------------------------------------------------------------------------------

member = st.tuples(st.sampled_from([1.0, 2.0]), st.sampled_from(["a", "b"]), st.sampled_from([1, 2]),
                   st.sampled_from([D(2024, 4, 1), D(2025, 1, 1), D(2025, 6, 1)]),
                   st.sampled_from([D(2025, 2, 28), D(2025, 5, 31), D(2025, 9, 30), D(2026, 3, 31)]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(member, min_size=1, max_size=25))
def test_handfuls_of_members_publish_nothing_determined(members):
    # members in up to two ICP areas with one dimension that varies (sex a/b), waves and terms; the page's release for
    # 31 March 2025 (serving, recruited, size by month) is protected, and the auditor checks the numbers defined
    # here from the members themselves
    day = D(2025, 3, 31)
    frame = pd.DataFrame(members, columns=["icp_key", "sex", "wave", "term_start", "term_end"])
    frame = frame[frame["term_start"] <= frame["term_end"]].reset_index(drop=True)
    if frame.empty:
        return
    cells = frame.assign(birth_year=1980.0, ethnic_group="White", disability="Not disabled", imd_quintile="2",
                         district=frame["icp_key"].map({1.0: "D1", 2.0: "D2"}),
                         icp_area=frame["icp_key"].map({1.0: "I1", 2.0: "I2"}), n=1)
    views = [None, 1.0, 2.0]
    stated = {v: {"age_band": {"35-49"}, "sex": {"a", "b"}, "ethnic_group": {"White"}, "disability": {"Not disabled"},
                  "icp_area": {"I1", "I2"}, "district": {"D1", "D2"}, "imd_quintile": {"2"}} for v in views}
    published = page_release(cells, day, views, stated)
    hidden = protect(cells["n"].tolist(), published, Policy("threshold", 5, 1, True, 25))
    release = Release(pd.Series(1.0, index=frame.index))
    ends = {h: (pd.Timestamp(day) + pd.DateOffset(months=h)).date() for h in HORIZON}
    for view in views:
        mine = frame if view is None else frame[frame["icp_key"] == view]
        now = mine[(mine["term_start"] <= day) & (mine["term_end"] >= day)]

        def add(key, rows):
            release.add(key, rows.index, None if key in hidden else len(rows))
        add((view, "total"), now)
        for g in sorted(set(now["sex"])):
            add((view, "sex", g), now[now["sex"] == g])
        for h in HORIZON:
            soon = now[now["term_end"] < ends[h]]
            add((view, "within", h), soon)
            for g in sorted(set(soon["sex"])):
                add((view, "within", h, "sex", g), soon[soon["sex"] == g])
        for w in sorted(set(mine["wave"])):
            add((view, "recruited", w), mine[mine["wave"] == w])
            add((view, "joined", w), mine[(mine["wave"] == w) & (mine["term_start"] <= day)])
            if w in set(now["wave"]):
                add((view, "wave", w), now[now["wave"] == w])
        for key in [k for k in published if k[0] == view and k[1] == "size"]:
            d = key[2]
            add(key, mine[(mine["term_start"] <= d) & (mine["term_end"] >= d)])
    assert release.leaks(5) == []
    assert np.all([k in published for k in hidden])
