"""Representation breakdowns (network members, survey respondents) and the citizens' panel page's tables about the
members serving (breakdowns by group, the panel size, intersections, members by wave, terms ending by group and in
all, the members weighted on every dimension) checked by the independent auditor (tests/audit.py): in the all-areas view and
every ICP area's view together, nothing they publish gives a hidden count away. Each person is one cell of the
audit, and each published number is defined here from the people's own records, not from the code under test."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from data_access import models as m
from data_access.disclosure import policy
from data_access.filters import Filters, default_period
from data_access.geography import icp_names
from data_access.linked_groups import group_release, hidden_keys
from data_access.panel import INTERSECTIONS, coverage, design_effects, intersection, panel_by_wave, quota_inputs
from data_access.panel_history import terms_ending, terms_ending_total
from data_access.profiles import DIMENSIONS, representation, representation_tables
from data_access.representativeness import for_display
from tests.audit import Release
from tests.factories import build_tiny_store

BANDS = [(16, 24, "16-24"), (25, 34, "25-34"), (35, 49, "35-49"), (50, 64, "50-64"), (65, 200, "65+")]
QUINTILES = {1: "1 (most deprived)", 2: "1 (most deprived)", 3: "2", 4: "2", 5: "3", 6: "3", 7: "4", 8: "4"}


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def band(birth_year, year: int) -> str:
    if birth_year is None or pd.isna(birth_year):
        return m.NOT_KNOWN
    age = year - int(birth_year)
    if age < 16:
        return "Under 16"
    return next(label for lo, hi, label in BANDS if lo <= age <= hi)


def people(conn, table, where, year: int) -> pd.DataFrame:
    """One row per person: id, icp (the ICP area they count in; 'none'), and their group on every dimension."""
    lsoa, icp, lad = m.Lsoa, m.IcpArea, m.LocalAuthority
    own = table.icp_id if "icp_id" in table.__table__.c else None
    cols = [table.id, table.birth_year, table.sex, table.ethnic_group, table.disability, table.lsoa_code,
            lsoa.imd_decile, icp.name, lad.name]
    extra = [table.wave, table.term_end] if table is m.PanelMember else []
    stmt = (select(*cols, *extra, *([own] if own is not None else [])).select_from(table)
            .outerjoin(lsoa, lsoa.code == table.lsoa_code).outerjoin(icp, icp.id == lsoa.icp_id)
            .outerjoin(lad, lad.code == lsoa.lad_code).where(*where))
    names = ["id", "birth", "sex", "ethnic_group", "disability", "lsoa", "decile", "icp_area", "district",
             *(["wave", "term_end"] if extra else []), *(["own"] if own is not None else [])]
    rows = pd.DataFrame(conn.execute(stmt).all(), columns=names)
    icps = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
    rows["age_band"] = [band(b, year) for b in rows["birth"]]
    rows["imd_quintile"] = [m.NOT_KNOWN if pd.isna(d) else QUINTILES.get(int(d), "5 (least deprived)")
                            for d in rows["decile"]]
    rows[["icp_area", "district"]] = rows[["icp_area", "district"]].fillna(m.NOT_KNOWN)
    placed = rows["icp_area"].where(rows["lsoa"].notna())
    if "own" in rows:
        placed = placed.fillna(rows["own"].map(icps))
    rows["icp"] = placed.fillna("none")
    return rows


def add_breakdowns(release: Release, who: pd.DataFrame, view, tables: dict, total) -> None:
    """A view's breakdown tables (every group's count, and the stated total behind the shares) and its total."""
    mine = who if view is None else who[who["icp"] == view]
    release.add((view, "total"), mine["id"], total)
    for dim, table in tables.items():
        for r in table.itertuples():
            release.add((view, dim, r.group), mine.loc[mine[dim] == r.group, "id"], r.count)
        stated = table[table["stated"]]
        shown_all = stated["count"].notna().all()
        release.add((view, dim, "stated"), mine.loc[mine[dim].isin(set(stated["group"])), "id"],
                    int(stated["count"].sum()) if shown_all and len(stated) else None)


# --- The earlier rule lets a count through; the linked rule does not (a hand-made case) ----------------------

def test_earlier_rule_leaks_across_views_and_the_linked_rule_does_not():
    # Two ICP areas; group A has 2 people in I1 and 5 in I2. The earlier rule hides I1's 2 and (so that I1's total
    # less the rest cannot give it away) the next smallest of I1, B's 10; but the all-areas view shows A = 7 and
    # I2's view A = 5, so 7 - 5 = 2.
    counts = {("I1", "A"): 2, ("I1", "B"): 10, ("I1", "C"): 12, ("I2", "A"): 5, ("I2", "B"): 20, ("I2", "C"): 8}
    cells = pd.Series({k: float(v) for k, v in counts.items()})
    residents = pd.DataFrame({"group": ["A", "B", "C"], "residents": [100, 100, 100]})

    def old_view(view):
        mine = {k: n for k, n in counts.items() if view is None or k[0] == view}
        engaged = pd.DataFrame({"group": list("ABC"),
                                "count": [sum(n for k, n in mine.items() if k[1] == x) for x in "ABC"]})
        return representation(engaged, residents, "ethnic_group"), sum(mine.values())

    release = Release(cells)
    for view in (None, "I1", "I2"):
        table, total = old_view(view)
        mine = [k for k in cells.index if view is None or k[0] == view]
        release.add((view, "total"), mine, total)
        for r in table.itertuples():
            release.add((view, r.group), [k for k in mine if k[1] == r.group], r.count)
    assert release.leaks() == [(("I1", "A"), 2.0)]

    # The linked rule over the same cells (x1, x2, x3 = I1's A, B, C; x4, x5, x6 = I2's).
    frame = pd.DataFrame({"icp_key": [1.0 if i == "I1" else 2.0 for i, _ in counts], "g": [g for _, g in counts],
                          "n": list(counts.values())})
    views = {None: None, 1.0: "I1", 2.0: "I2"}
    published = group_release(frame, ["g"], list(views), {v: {"g": {"A", "B", "C"}} for v in views})
    hidden = hidden_keys(frame["n"].tolist(), published, policy())
    # By hand, offering the numbers in turn (totals first, then the largest): the totals 57 and 33 are shown (24 =
    # 57 - 33 adds nothing), then all areas' B (x2 + x5 = 30) and C (x3 + x6 = 20) and I2's B (x5 = 20). x1 is
    # still free: x1, x3, x4, x6 can move by (+t, -t, -t, +t) and every shown number stays. I1's C (x3 = 12), I2's C
    # (x6 = 8) and I2's A (x4 = 5) would each fix t: hidden. I1's B (x2 = 30 - 20 = 10) and all areas' A (x1 + x4 =
    # 57 - 30 - 20 = 7) are worked out already, so they are shown (the earlier engine hid both needlessly).
    assert {(views[k[0]], k[2]) for k in hidden if k[1] == "g"} == {
        ("I1", "A"), ("I1", "C"), ("I2", "A"), ("I2", "C")}
    release = Release(cells)
    for key in published:
        view = views[key[0]]
        chosen = [k for k in cells.index if (view is None or k[0] == view) and (key[1] != "g" or k[1] == key[2])]
        release.add(key, chosen, None if key in hidden else float(sum(counts[k] for k in chosen)))
    assert release.leaks() == []


# --- A tiny store worked by hand (SQLite and PostgreSQL) ------------------------------------------------------

TINY = [  # small area, ethnic group, how many network members (all born 1980, female, not disabled)
    ("A1", "White", 10), ("A1", "Asian", 2),   # East Kent (Thanet, IMD decile 1)
    ("B1", "White", 20), ("B1", "Asian", 6),   # West Kent (Maidstone, decile 2)
]


def fill_tiny(engine) -> None:
    build_tiny_store(engine)
    with engine.begin() as conn:
        conn.execute(delete(m.NetworkMembership.__table__))
        people_in = [(area, group) for area, group, n in TINY for _ in range(n)]
        conn.execute(insert(m.NetworkMembership.__table__), [
            dict(member_ref=f"t{k}", network_id=1, joined_on=dt.date(2024, 6, 1), left_on=None, lsoa_code=area,
                 channel="Event", birth_year=1980, sex="Female", ethnic_group=group, disability="Not disabled")
            for k, (area, group) in enumerate(people_in)])


def test_hidden_groups_on_a_tiny_store_worked_by_hand(engine):
    # Members by ethnic group: East Kent White 10 (x1), Asian 2 (x2); West Kent White 20 (x3), Asian 6 (x4). The
    # other dimensions repeat the totals (everyone is 35-49, female, not disabled, IMD quintile 1): 38, 12, 26.
    # By hand, hiding a group before a total, the smallest first: 12 - x1 gives x2, so x1 goes; all areas' Asian (8)
    # less x4 gives x2, so x4 (6) goes; then 8 - (26 - x3) does, so all areas' Asian (8) goes; then x1 = all areas'
    # White (30) - x3 and x2 = 12 - x1, so x3 (20) goes; and all areas' White (30) with the totals would give
    # x2 + x4 = 8 and x2 = 12 - 30 + x3 ... the greedy choice hides it too (more than needed, but safe).
    # Shown: the totals (38, 12, 26), the ICP areas' and districts' counts (the same numbers), no ethnic group.
    fill_tiny(engine)
    filters = Filters(None, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    with engine.connect() as conn:
        shown, icp_counts = {}, {}
        for icp in (None, "East Kent", "West Kent"):
            tables = representation_tables(conn, "members", Filters(icp, filters.start, filters.end))
            shown[icp] = dict(zip(tables["ethnic_group"]["group"], tables["ethnic_group"]["count"]))
            icp_counts[icp] = {g: int(c) for g, c in zip(tables["icp_area"]["group"], tables["icp_area"]["count"])}
            age = tables["age_band"]
            assert age.loc[age["group"] == "35-49", "count"].iloc[0] == {None: 38, "East Kent": 12, "West Kent": 26}[icp]
    for icp in (None, "East Kent", "West Kent"):
        assert pd.isna(shown[icp]["White"]) and pd.isna(shown[icp]["Asian"])
    assert icp_counts == {None: {"East Kent": 12, "West Kent": 26}, "East Kent": {"East Kent": 12},
                          "West Kent": {"West Kent": 26}}


# --- The demo store: everything published together, every view ----------------------------------------------

def test_members_and_respondents_breakdowns_publish_nothing_determined_on_the_demo_store(demo7):
    with demo7.connect() as conn:
        start, end = default_period(conn)
        t, r = m.NetworkMembership, m.SurveyResponse
        sources = {
            "members": people(conn, t, [t.joined_on <= end, (t.left_on.is_(None)) | (t.left_on > end)], end.year),
        }
        lo, hi = dt.datetime.combine(start, dt.time()), dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        resp = people(conn, r, [r.submitted_at >= lo, r.submitted_at < hi], end.year)
        years = dict(conn.execute(select(r.id, r.submitted_at).where(r.submitted_at >= lo, r.submitted_at < hi)).all())
        resp["age_band"] = [band(b, years[i].year) for i, b in zip(resp["id"], resp["birth"])]  # age when answering
        sources["respondents"] = resp
        hidden_any = False
        for source, who in sources.items():
            who = who.drop_duplicates("id")
            release = Release(pd.Series(1.0, index=who["id"]))
            for icp in [None, *icp_names(conn)]:
                tables = representation_tables(conn, source, Filters(icp, start, end))
                mine = who if icp is None else who[who["icp"] == icp]
                add_breakdowns(release, who, icp, tables, len(mine))  # the total is published (headlines)
                hidden_any |= any(t["count"].isna().any() for t in tables.values())
            assert release.leaks() == [], source
    assert hidden_any


def test_panel_page_publishes_nothing_determined_on_the_demo_store(demo7):
    with demo7.connect() as conn:
        _start, day = default_period(conn)
        p = m.PanelMember
        who = people(conn, p, [p.term_start <= day, p.term_end >= day], day.year)
        ends = {h: (pd.Timestamp(day) + pd.DateOffset(months=h)).date() for h in (3, 6, 12)}
        release = Release(pd.Series(1.0, index=who["id"]))
        hidden_any = False
        for icp in [None, *icp_names(conn)]:
            mine = who if icp is None else who[who["icp"] == icp]
            tables = {d: for_display(t, d) for d, t in coverage(conn, day, icp).items()}
            totals = terms_ending_total(conn, day, icp)
            add_breakdowns(release, who, icp, tables, totals["serving"])
            hidden_any |= any(t["count"].isna().any() for t in tables.values())
            for h in (3, 6, 12):
                release.add((icp, "within", h), mine.loc[mine["term_end"] < ends[h], "id"], totals[f"within_{h}"])
            for dim in tables:
                terms = terms_ending(conn, dim, day, icp)
                for r in terms.to_dict("records"):
                    group = mine[mine[dim] == r["group"]]
                    release.add((icp, dim, r["group"]), group["id"], r["serving"])
                    for h in (3, 6, 12):
                        release.add((icp, "within", h, dim, r["group"]), group.loc[group["term_end"] < ends[h], "id"],
                                    r[f"within_{h}"])
            for row, col in INTERSECTIONS:
                cells = intersection(conn, day, icp, row, col)
                both = mine[mine[row].isin(set(cells[row])) & mine[col].isin(set(cells[col]))]
                for r in cells.to_dict("records"):
                    release.add((icp, row, col, r[row], r[col]),
                                both.loc[(both[row] == r[row]) & (both[col] == r[col]), "id"], r["count"])
                n = None if cells["count"].isna().any() else int(cells["count"].sum())  # behind the shares
                release.add((icp, row, col), both["id"], n)
            waves = panel_by_wave(conn, Filters(icp, _start, day))
            from data_access.panel import published_waves
            for r in published_waves(waves).itertuples():
                release.add((icp, "wave", r.wave), mine.loc[mine["wave"] == r.wave, "id"], r.serving)
            design = design_effects(conn, day, icp).set_index("dimension")
            dims = [d for d in ("age_band", "sex", "ethnic_group", "disability", "icp_area", "district",
                                "imd_quintile") if not (icp and d == "icp_area")]
            weighted = mine
            for d in dims:
                weighted = weighted[weighted[d].isin(set(tables[d].loc[tables[d]["stated"], "group"]))]
            if not design.loc["all", "note"]:  # raking failed: '0 weighted' says so, it is not a count of people
                release.add((icp, "weighted"), weighted["id"], design.loc["all", "weighted"])
    assert hidden_any
    assert release.leaks() == []


def test_panel_waves_and_joiners_publish_nothing_determined_on_the_demo_store(demo7):
    # everyone recruited: each wave's recruits (the waves table), its joiners whose term had begun by the period end
    # (the chart's totals) and those by group on every dimension, age as at the start of their term
    from data_access.panel import published_waves
    from data_access.panel_history import joiners_by_wave, wave_totals
    with demo7.connect() as conn:
        start, end = default_period(conn)
        p = m.PanelMember
        who = people(conn, p, [p.id.is_not(None)], end.year)
        starts = dict(conn.execute(select(p.id, p.term_start)).all())
        who["start"] = who["id"].map(starts)
        who["age_band"] = [band(b, s.year) for b, s in zip(who["birth"], who["start"])]
        release = Release(pd.Series(1.0, index=who["id"]))
        hidden_any = False
        for icp in [None, *icp_names(conn)]:
            view = Filters(icp, start, end)
            mine = who if icp is None else who[who["icp"] == icp]
            begun = mine[mine["start"] <= end]
            for r in published_waves(panel_by_wave(conn, view)).itertuples():
                release.add((icp, "recruited", r.wave), mine.loc[mine["wave"] == r.wave, "id"], r.recruited)
            for r in wave_totals(conn, view).itertuples():
                release.add((icp, "joined", r.wave), begun.loc[begun["wave"] == r.wave, "id"], r.joiners)
            for dim in ("age_band", "sex", "ethnic_group", "disability", "icp_area", "district", "imd_quintile"):
                for r in joiners_by_wave(conn, dim, view).itertuples():
                    rows = begun[(begun["wave"] == r.wave) & (begun[dim] == r.group)]
                    release.add((icp, "joined", r.wave, dim, r.group), rows["id"], r.joiners)
                    hidden_any |= bool(r.hidden)
    assert hidden_any
    assert release.leaks() == []


@pytest.mark.parametrize("one_survey", [False, True], ids=["all-surveys", "one-survey"])
def test_panel_participation_publishes_nothing_determined_on_the_demo_store(demo7, one_survey):
    # invitations (each one a cell): invited and answered by group on every dimension (age in the year invited),
    # and in all, in every view; the unanswered are given away by the two and are counted as published
    from data_access.panel_history import panel_surveys, participation, participation_total
    with demo7.connect() as conn:
        start, end = default_period(conn)
        i, p = m.PanelInvitation, m.PanelMember
        survey = int(panel_surveys(conn, Filters(None, start, end))["survey_id"].iloc[0]) if one_survey else None
        where = [i.survey_id == survey] if one_survey else [i.invited_on >= start, i.invited_on <= end]
        rows = pd.DataFrame(conn.execute(select(i.id, i.panel_member_id, i.invited_on, i.responded).where(*where)).all(),
                            columns=["inv", "member", "invited_on", "responded"])
        who = people(conn, p, [p.id.in_(set(rows["member"].tolist()))], end.year).set_index("id")
        inv = rows.join(who, on="member")
        inv["age_band"] = [band(b, d.year) for b, d in zip(inv["birth"], inv["invited_on"])]
        release = Release(pd.Series(1.0, index=inv["inv"]))
        hidden_any = False
        for icp in [None, *icp_names(conn)]:
            mine = inv if icp is None else inv[inv["icp"] == icp]
            total = participation_total(conn, Filters(icp, start, end), survey)
            release.add((icp, "invited"), mine["inv"], total["invited"])
            release.add((icp, "responded"), mine.loc[mine["responded"], "inv"], total["responded"])
            for dim in ("age_band", "sex", "ethnic_group", "disability", "icp_area", "district", "imd_quintile"):
                for r in participation(conn, dim, Filters(icp, start, end), survey).itertuples():
                    group = mine[mine[dim] == r.group]
                    release.add((icp, dim, r.group, "invited"), group["inv"], r.invited)
                    release.add((icp, dim, r.group, "responded"), group.loc[group["responded"], "inv"], r.responded)
                    shown = not (pd.isna(r.invited) or pd.isna(r.responded))
                    release.add((icp, dim, r.group, "unanswered"), group.loc[~group["responded"], "inv"],
                                r.invited - r.responded if shown else None)
                    hidden_any |= not shown
    assert hidden_any
    assert release.leaks() == []


def test_recruitment_plan_on_the_as_at_day_hides_what_the_breakdowns_hide(demo7):
    # a plan for the page's own as-at day publishes each group's members still serving: the same numbers as the
    # breakdowns, so the same groups must be hidden, and a hidden group is planned as if none were serving
    from data_access.quotas import plan_wave
    from data_access.representativeness import Tolerance
    with demo7.connect() as conn:
        _start, day = default_period(conn)
        for icp in (None, "East Kent"):
            inputs = quota_inputs(conn, day, icp, day)
            tables = {d: for_display(t, d) for d, t in coverage(conn, day, icp).items()}
            for dim, table in tables.items():
                assert inputs["hidden"][dim] == set(table.loc[table["count"].isna(), "group"])
            plan = plan_wave(inputs, 3000, Tolerance(), {})
            ethnic = plan.by_dimension["ethnic_group"].set_index("group")
            hidden = sorted(inputs["hidden"]["ethnic_group"] & set(ethnic.index), key=lambda g: ethnic.loc[g, "retained"])
            larger = [g for g in hidden if ethnic.loc[g, "retained"] >= 5]
            # the smallest hidden group that is not small is planned with every hidden group's members; the rest as 0
            for group in hidden:
                pooled = bool(larger) and group == larger[0]
                expected = ethnic.loc[hidden, "retained"].sum() if pooled else 0
                assert ethnic.loc[group, "planned_from"] == expected
                assert ethnic.loc[group, "hidden"] == ("pooled" if pooled else "small" if group not in larger
                                                       else "hidden")
            assert (ethnic["hidden"] == "").sum() == len(ethnic) - len(hidden)


# --- Small adversarial stores: a handful of people in few areas -----------------------------------------------

person = st.tuples(st.sampled_from([1.0, 2.0, 3.0]), st.sampled_from("ab"), st.sampled_from("xyz"),
                   st.sampled_from("pq"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(person, min_size=1, max_size=40))
def test_no_hidden_count_can_be_worked_out_on_small_stores(persons):
    # people in up to three ICP areas, with groups on two dimensions (an unstated one on the second: 'z') and an
    # intersection of the two; everything published in every view at once
    frame = pd.DataFrame(persons, columns=["icp_key", "d1", "d2", "d3"]).assign(n=1)
    cells = frame.groupby(["icp_key", "d1", "d2", "d3"], as_index=False)["n"].sum()
    views = [None, 1.0, 2.0, 3.0]
    stated = {v: {"d1": {"a", "b"}, "d2": {"x", "y"}, "d3": {"p", "q"}} for v in views}
    published = group_release(cells, ["d1", "d2", "d3"], views, stated, [("d1", "d2")])
    hidden = hidden_keys(cells["n"].tolist(), published, policy())
    release = Release(pd.Series(1.0, index=range(len(frame))))
    for view in views:
        mine = frame if view is None else frame[frame["icp_key"] == view]

        def add(key, rows):
            release.add(key, rows.index, None if key in hidden else len(rows))
        add((view, "total"), mine)
        for dim in ("d1", "d2", "d3"):
            for g in sorted(set(mine[dim])):
                add((view, dim, g), mine[mine[dim] == g])
            add((view, "stated", dim), mine[mine[dim].isin(stated[view][dim])])
        both = mine[mine["d2"] != "z"]
        add((view, ("d1", "d2")), both)
        for (g, h), rows in both.groupby(["d1", "d2"]):
            add((view, ("d1", "d2"), g, h), rows)
    assert release.leaks() == []
