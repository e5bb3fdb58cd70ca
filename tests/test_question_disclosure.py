"""Question results checked by the independent auditor (tests/audit.py): for one question, everything the survey page
publishes about it together (the overall counts and n; every breakdown the page offers, each group's n and counts;
in the all-areas view and every ICP area's view, which a reader can flip between) gives no hidden count away, on the
demo store and on small generated stores; and the earlier rule did not.

The auditor's cells are worked out here from the raw rows (each respondent's groups in Python, not the SQL under
test): people per breakdown table, ICP area, group and set of options chosen. A count the page publishes is a sum of
one table's cells; the question's overall counts are sums in every table, and a reader knows those sums are equal
(Release.relate). For multiple-choice questions every set of the options chosen in a group is a cell (0 where nobody
chose it: a reader does not know that)."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import insert, select

from data_access import models as m
from data_access.answers import BREAKDOWNS, question_by_group, question_results
from data_access.db import init_db, make_engine
from data_access.disclosure import suppress_table
from data_access.filters import Filters
from tests.audit import Release
from tests.factories import build_tiny_store

DECILE_QUINTILE = {1: "1 (most deprived)", 2: "1 (most deprived)", 3: "2", 4: "2", 5: "3", 6: "3", 7: "4", 8: "4",
                   9: "5 (least deprived)", 10: "5 (least deprived)"}
BANDS = [(15, "Under 16"), (24, "16-24"), (34, "25-34"), (49, "35-49"), (64, "50-64"), (200, "65+")]
STATED = {"age_band": set(m.AGE_BANDS), "sex": set(m.SEXES), "ethnic_group": set(m.ETHNIC_GROUPS),
          "disability": set(m.DISABILITY), "imd_quintile": set(DECILE_QUINTILE.values())}


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.delenv("SPECIAL_CATEGORY_MIN_BASE", raising=False)


def band(birth_year, year) -> str:
    if birth_year is None or pd.isna(birth_year):
        return m.NOT_KNOWN
    return next(label for top, label in BANDS if year - birth_year <= top)


def respondents(conn, qid: int) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Everyone who answered the question (a non-blank answer): their ICP area's name (None: in no ICP area), their
    group on every breakdown and the set of options chosen; with the question's options and the ICP areas' names."""
    r, a, lsoa = m.SurveyResponse, m.Answer, m.Lsoa
    icps = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
    rows = conn.execute(select(r.id, r.submitted_at, r.lsoa_code, r.icp_id, r.birth_year, r.sex, r.ethnic_group,
                               r.disability, lsoa.imd_decile, lsoa.icp_id)
                        .outerjoin(lsoa, lsoa.code == r.lsoa_code)).all()
    people = {}
    for rid, at, code, own, born, sex, ethnic, disability, decile, area in rows:
        where = own if code is None else area
        people[rid] = dict(icp=icps.get(where), age_band=band(born, at.year), sex=sex, ethnic_group=ethnic,
                           disability=disability, icp_area=icps.get(area, m.NOT_KNOWN) if code else m.NOT_KNOWN,
                           imd_quintile=DECILE_QUINTILE.get(decile, m.NOT_KNOWN))
    chosen: dict[int, set] = {}
    for rid, value in conn.execute(select(a.response_id, a.value).where(a.question_id == qid)):
        if value.strip():
            chosen.setdefault(rid, set()).add(value)
    listed = json.loads(conn.execute(select(m.Question.options).where(m.Question.id == qid)).scalar_one())
    options = [*listed, *sorted({v for s in chosen.values() for v in s} - set(listed))]
    frame = pd.DataFrame([{**people[rid], "set": tuple(sorted(s))} for rid, s in chosen.items()])
    return frame, options, sorted(icps.values())


def audit_release(conn, qid: int, multiple: bool) -> tuple[Release, int]:
    """Everything the page publishes about one question in every view, as sums of the auditor's cells; and how many
    tables (views x breakdowns) were shown."""
    people, options, icps = respondents(conn, qid)
    counts = {}
    for d in BREAKDOWNS if len(people) else []:
        for (icp, g), part in people.groupby([people["icp"].fillna("-"), d]):
            sets = part["set"].value_counts().to_dict()
            if multiple:  # every other set of the options chosen in the group is an unknown cell too
                chose = sorted({o for s in sets for o in s})
                for size in range(1, len(chose) + 1):
                    for combo in itertools.combinations(chose, size):
                        sets.setdefault(tuple(sorted(combo)), 0)
            for s, n in sets.items():
                counts[(d, icp, g, s)] = float(n)
    cells = pd.Series(counts, dtype=float)
    release = Release(cells)
    if cells.empty:
        return release, 0
    index = np.empty(len(cells), dtype=object)
    index[:] = list(cells.index)
    dim, area, group = (np.array([k[i] for k in index], dtype=object) for i in range(3))
    chose = {o: np.array([o in k[3] for k in index]) for o in options}
    tables = 0
    for view in [None, *icps]:
        filters = Filters(view, dt.date(2025, 1, 1), dt.date(2026, 12, 31))
        res = question_results(conn, qid, filters)
        if res.attrs["answered"] < 5:
            continue  # the page shows no results below 5 respondents
        mine = np.ones(len(index), dtype=bool) if view is None else area == view

        def where(d, *tests):
            mask = mine & (dim == d)
            for t in tests:
                mask = mask & t
            return index[mask]

        first = BREAKDOWNS[0]
        release.add((view, "n"), where(first), res["n"].iloc[0])
        for r in res.itertuples():
            release.add((view, r.option), where(first, chose[r.option]), r.count)
        for d in BREAKDOWNS[1:]:  # the same counts as sums over each other breakdown
            release.relate(where(first), where(d))
            for o in options:
                release.relate(where(first, chose[o]), where(d, chose[o]))
        for d in BREAKDOWNS:
            by = question_by_group(conn, qid, d, filters)
            if by.attrs.get("withheld") or by.empty:
                continue
            tables += 1
            for g, part in by.groupby("group", sort=False):
                release.add((view, d, g, "n"), where(d, group == g), part["n"].iloc[0])
                for r in part.itertuples():
                    release.add((view, d, g, r.option), where(d, group == g, chose[r.option]), r.count)
    return release, tables


def test_every_closed_question_of_the_demo_store_publishes_nothing_determined(demo7):
    checked, tables, hidden = 0, 0, 0
    with demo7.connect() as conn:
        questions = conn.execute(select(m.Question.id, m.Question.qtype)
                                 .where(m.Question.qtype.in_(["single", "likert", "multiple"]))).all()
        for qid, qtype in questions:
            release, n_tables = audit_release(conn, qid, qtype == "multiple")
            assert release.leaks() == [], qid
            checked += 1
            tables += n_tables
            hidden += sum(value is None for _, _, value in release.numbers)
    assert checked == 52 and tables > 1000 and hidden > 100  # 13 single, 26 scale, 13 multiple-choice questions


# --- the earlier rule --------------------------------------------------------------------------------------

def test_the_auditor_finds_what_the_earlier_rule_let_through():
    # Options A, B by groups X, Y, Z in all areas: X: A 1, B 6; Y: A 6, B 1; Z: A 7, B 7; the X people live outside the
    # ICP area, the Y and Z people in it. The earlier rule, each view's grid on its own: in all areas X-A and Y-B are
    # small, each alone in its row, so X-B and Y-A go too (Z shown); in the ICP area Y-B is small, then Y-A (row),
    # Z-B (column B) and Z-A (column A) go. Both views show A's total: all areas 14, the ICP area 13, so X-A = 1; and
    # B's (14 and 8), so X-B = 6 and Y-B = 14 - 6 - Z-B (7 in all areas) = 1, in either view.
    cells = pd.Series({("out", "X", "A"): 1.0, ("out", "X", "B"): 6.0, ("in", "Y", "A"): 6.0, ("in", "Y", "B"): 1.0,
                       ("in", "Z", "A"): 7.0, ("in", "Z", "B"): 7.0})
    release = Release(cells)
    for view in ("all", "in"):
        mine = cells if view == "all" else cells[[k for k in cells.index if k[0] == "in"]]
        grid = pd.DataFrame([(g, o, int(v)) for (_, g, o), v in mine.items()], columns=["group", "option", "count"])
        grid["n"] = grid.groupby("group")["count"].transform("sum")
        old = suppress_table(grid, "count", ["group", "option"], total="n")
        for r in old.itertuples():
            release.add((view, r.group, r.option), [k for k in mine.index if k[1:] == (r.group, r.option)], r.count)
        for o in "AB":
            keys = [k for k in mine.index if k[2] == o]
            release.add((view, o), keys, mine[keys].sum())
        if view == "in":
            assert old["count"].isna().all()
    assert sorted(release.leaks()) == [(("all", "X", "A"), 1.0), (("all", "Y", "B"), 1.0), (("in", "Y", "B"), 1.0)]


def test_the_earlier_rule_leaks_on_the_demo_store_and_the_new_one_does_not(demo7, monkeypatch):
    # The earlier rule's tables for question results by IMD quintile in East Kent: the options x groups grid with each
    # group's n and the question's overall counts, each protected on its own (hide the next smallest cell where one
    # hidden cell is alone in its row or column). The auditor finds a count it lets through on demo7 (1 of 935
    # tables over all questions, breakdowns and views before this change); the same published tables as the page
    # now shows them give nothing away.
    east = Filters("East Kent", dt.date(2025, 11, 16), dt.date(2026, 11, 15))
    leaks_old, leaks_new = [], []
    with demo7.connect() as conn:
        for qid, qtype in conn.execute(select(m.Question.id, m.Question.qtype)).all():
            if qtype not in ("single", "likert"):
                continue
            monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
            raw = question_by_group(conn, qid, "imd_quintile", east)
            overall = question_results(conn, qid, east)
            monkeypatch.delenv("SMALL_NUMBER_THRESHOLD")
            if int(overall["n"].iloc[0]) < 5:
                continue
            grid = raw[["group", "option", "count", "n"]].astype({"count": int, "n": int})
            sizes = grid.groupby("group", sort=False)["n"].first().reset_index()
            small_groups = set(sizes.loc[suppress_table(sizes, "n", [()])["suppressed"], "group"])
            old = suppress_table(grid, "count", ["group", "option"], total="n", hide=grid["group"].isin(small_groups))
            new = question_by_group(conn, qid, "imd_quintile", east)
            new_overall = question_results(conn, qid, east)
            for shown_by, overall_shown, out in ((old, overall, leaks_old), (new, new_overall, leaks_new)):
                cells = grid.set_index(["group", "option"])["count"].astype(float)
                release = Release(cells)
                for r, shown in zip(grid.itertuples(), shown_by["count"]):
                    release.add(("cell", r.group, r.option), [(r.group, r.option)], shown)
                for g, part in grid.groupby("group"):
                    hidden_group = g in small_groups if shown_by is old else pd.isna(
                        new.loc[new["group"] == g, "n"].iloc[0])
                    release.add(("n", g), [k for k in cells.index if k[0] == g],
                                None if hidden_group else part["n"].iloc[0])
                for r in overall_shown.itertuples():
                    release.add(("option", r.option), [k for k in cells.index if k[1] == r.option], r.count)
                release.add("n", cells.index, overall_shown["n"].iloc[0])
                out += [(qid, name) for name, _ in release.leaks()]
    assert len(leaks_old) >= 1
    assert leaks_new == []


# --- hand-worked, on SQLite and PostgreSQL -----------------------------------------------------------------

def add_question(conn, qid: int, qtype: str, options: list[str], people: list[tuple]) -> None:
    """A question of tiny survey 1 answered by new respondents: (small area or None, birth year, sex, options)."""
    conn.execute(insert(m.Question.__table__), [dict(id=qid, survey_id=1, position=qid, text=f"Q{qid}", qtype=qtype,
                                                     options=json.dumps(options))])
    rows, answers = [], []
    for i, (lsoa, born, sex, chosen) in enumerate(people):
        rid = qid * 1000 + i
        rows.append(dict(id=rid, survey_id=1, external_id=f"q{rid}", submitted_at=dt.datetime(2025, 3, 3, 12),
                         channel="Online", lsoa_code=lsoa, birth_year=born, sex=sex, ethnic_group="White",
                         disability="Not disabled"))
        answers += [dict(response_id=rid, question_id=qid, value=v) for v in chosen]
    conn.execute(insert(m.SurveyResponse.__table__), rows)
    conn.execute(insert(m.Answer.__table__), answers)


def test_which_cells_are_hidden_on_a_tiny_store(engine):
    # 12 people in East Kent (A2: IMD decile 6, quintile 3), all women born in 1980 (35-49), and 1 in West Kent (B2:
    # decile 9, quintile 5), also a woman born in 1980. Yes: 7 in East Kent, 1 in West Kent; No: 5 in East Kent.
    # All areas: Yes 8, No 5, n 13. East Kent: Yes 7, No 5, n 12. West Kent: Yes 1, n 1: small, hidden everywhere it
    # is published (West Kent's view, its group by ICP area, quintile 5). It is all areas' n less East Kent's, and all
    # areas' Yes less East Kent's, so one of each pair goes: East Kent's n (12; the n's are hidden last, and of the
    # two the smaller) and one of the Yes counts; then no share whose base is hidden is shown.
    build_tiny_store(engine)
    with engine.begin() as conn:
        add_question(conn, 90, "single", ["Yes", "No"],
                     [("A2", 1980, "Female", ["Yes"])] * 7 + [("A2", 1980, "Female", ["No"])] * 5
                     + [("B2", 1980, "Female", ["Yes"])])
    with engine.connect() as conn:
        everyone = question_results(conn, 90, Filters()).set_index("option")
        east = question_results(conn, 90, Filters("East Kent")).set_index("option")
        west = question_results(conn, 90, Filters("West Kent")).set_index("option")
        assert (everyone["n"] == 13).all() and everyone.attrs["answered"] == 13
        assert east["n"].isna().all() and east["share"].isna().all() and east.attrs["answered"] == 12
        assert west.loc["Yes", "count"] is pd.NA and west.loc["No", "count"] == 0 and west["n"].isna().all()
        assert pd.isna(everyone.loc["Yes", "count"]) or pd.isna(east.loc["Yes", "count"])
        for frame, values in ((everyone, {"Yes": 8, "No": 5}), (east, {"Yes": 7, "No": 5})):
            for option, value in values.items():
                assert pd.isna(frame.loc[option, "count"]) or frame.loc[option, "count"] == value
        for d, small in (("imd_quintile", "5 (least deprived)"), ("icp_area", "West Kent")):
            by = question_by_group(conn, 90, d, Filters()).set_index(["group", "option"])
            assert by.loc[(small, "Yes"), "count"] is pd.NA and by.loc[(small, "Yes"), "n"] is pd.NA
            assert by.loc[(small, "No"), "count"] == 0  # zero is always shown
            # East Kent's people by themselves: its n (12) is hidden here as in East Kent's view
            big = "3" if d == "imd_quintile" else "East Kent"
            assert by.loc[(big, "Yes"), "n"] is pd.NA and by["share"].isna().all()
        # every age and sex group is everyone (13): its n is shown with all areas' n
        age = question_by_group(conn, 90, "age_band", Filters()).set_index(["group", "option"])
        assert age.loc[("35-49", "Yes"), "n"] == 13
        assert age.loc[("35-49", "Yes"), "count"] is pd.NA or age.loc[("35-49", "Yes"), "count"] == 8


# --- adversarial stores -----------------------------------------------------------------------------------------

PERSON = st.tuples(st.sampled_from(["A1", "A2", "B1", "B2", None]), st.sampled_from([1960, 1990, 2001]),
                   st.sampled_from(["Female", "Male"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(st.tuples(PERSON, st.integers(0, 2)), min_size=5, max_size=16),
       multiple=st.lists(st.sets(st.sampled_from(["GP", "Pharmacy", "111"]), min_size=1), min_size=16, max_size=16))
def test_small_stores_publish_nothing_determined(tmp_path_factory, people, multiple):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('q') / 'store.db'}")
    init_db(engine)
    build_tiny_store(engine)
    with engine.begin() as conn:
        add_question(conn, 91, "single", ["Yes", "No", "Unsure"],
                     [(*p, [["Yes", "No", "Unsure"][o]]) for p, o in people])
        add_question(conn, 92, "multiple", ["GP", "Pharmacy", "111"],
                     [(*p, sorted(s)) for (p, _), s in zip(people, multiple)])
    with engine.connect() as conn:
        for qid, multi in ((91, False), (92, True)):
            release, _ = audit_release(conn, qid, multi)
            assert release.leaks() == [], qid
    engine.dispose()


def test_hidden_counts_give_no_share_away(demo7):
    # shares are worked out from the counts as shown: missing wherever the count or the base is hidden
    with demo7.connect() as conn:
        qids = conn.execute(select(m.Question.id).where(m.Question.qtype != "free_text")).scalars().all()[:8]
        for qid in qids:
            for icp in (None, "East Kent"):
                by = question_by_group(conn, qid, "imd_quintile", Filters(icp))
                if by.attrs.get("withheld") or by.empty:
                    continue
                worked = by["count"].astype(float) / by["n"].astype(float)
                assert np.allclose(by["share"].to_numpy(dtype=float), worked.to_numpy(), equal_nan=True)


def test_free_text_answers_and_themes_publish_nothing_determined(demo7):
    # Cells: answers per ICP area and set of themes mentioned (matched here with a regular expression on whole words,
    # a plural s allowed). Published in every view: answers, and answers mentioning each theme.
    import re

    from data_access.answers import free_text_summary, themes

    checked = hidden = 0
    with demo7.connect() as conn:
        theme_list = themes(conn)
        patterns = {t: re.compile(r"(?<![a-z0-9_])(" + "|".join(re.escape(k) for k in kws) + r")s?(?![a-z0-9_])")
                    for t, kws in zip(theme_list["theme"], theme_list["keywords"]) if kws}
        icps = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
        r, a, lsoa = m.SurveyResponse, m.Answer, m.Lsoa
        for qid in conn.execute(select(m.Question.id).where(m.Question.qtype == "free_text")).scalars():
            rows = conn.execute(select(a.value, r.lsoa_code, r.icp_id, lsoa.icp_id).join(r, r.id == a.response_id)
                                .outerjoin(lsoa, lsoa.code == r.lsoa_code).where(a.question_id == qid)).all()
            found = {}
            for value, code, own, area in rows:
                if not value.strip():
                    continue
                text = re.sub(r"[.,;:!?\"'()\[\]/\\<>*\-]", " ", value.lower())
                key = (icps.get(own if code is None else area), tuple(t for t, p in patterns.items() if p.search(text)))
                found[key] = found.get(key, 0.0) + 1.0
            cells = pd.Series(found, dtype=float)
            if cells.empty:
                continue
            release = Release(cells)
            for view in [None, *icps.values()]:
                mine = [k for k in cells.index if view is None or k[0] == view]
                free = free_text_summary(conn, qid, Filters(view))
                if free["answers"] < 5:
                    continue
                release.add((view, "answers"), mine, free["answers_shown"])
                for t in free["themes"].itertuples():
                    release.add((view, t.theme), [k for k in mine if t.theme in k[1]], t.answers)
            assert release.leaks() == [], qid
            checked += 1
            hidden += sum(value is None for _, _, value in release.numbers)
    assert checked >= 10 and hidden >= 1
