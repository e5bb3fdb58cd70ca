"""The network growth tables (members at the start and end, joiners and leavers per ICP area and district)
checked by the independent auditor (tests/audit.py): start + joiners - leavers = end must not give a hidden
count back, in the all-areas view and each ICP area's view together."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from data_access import disclosure as d
from data_access import models as m
from data_access.filters import Filters
from data_access.geography import icp_names
from data_access.gauss_suppression import ordered_suppression
from data_access.network_release import GROWTH_COUNTS, release
from data_access.networks import growth_by_area, recent_growth, small_area_places
from tests.audit import Release

FOUR = list(GROWTH_COUNTS)
# membership kinds in a period, and the counts each adds to (worked out from the definitions, not the code)
KIND_IN = {"members_start": ("stayed", "left"), "members_end": ("stayed", "joined_stayed"),
           "joiners": ("joined_stayed", "joined_left"), "leavers": ("left", "joined_left")}


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def one_area_release(shown: dict) -> Release:
    """One small area: 10 members stayed, 2 joined and stayed; nobody left."""
    cells = pd.Series({"stayed": 10, "left": 0, "joined_stayed": 2, "joined_left": 0})
    release = Release(cells)
    for col in FOUR:
        release.add(col, KIND_IN[col], shown[col])
    return release


def test_time_identity_leaks_under_the_old_rule_and_not_now():
    # start 10, end 12, joined 2, left 0: the old rule hid the 2 alone (each column of the table on its own, and
    # this one has no other cell to hide), and 12 - 10 + 0 gives it back.
    raw = pd.DataFrame({"area": ["I"], "members_start": [10], "members_end": [12], "joiners": [2], "leavers": [0]})
    old = {col: d.suppress_table(raw, col, [()])[col].iloc[0] for col in FOUR}
    assert pd.isna(old["joiners"]) and old["members_start"] == 10
    assert one_area_release(old).leaks() == [("joiners", 2.0)]
    # Now (the memberships-over-time release, cells as network_release.cohort_cells has them: 10 members all along,
    # 2 joining in January, in district D of ICP area 1): the largest first, the 12 at the end is shown, then the 10
    # at the start would give the 2 away, so it is hidden; the 0 who left are shown.
    base = dict(network=1, icp=1, district="D1", channel="Event", still_6=0, still_12=0, age_band=None,
                imd_quintile=None, placed=1, before=1, joined_recent=0, left_recent=0)
    cells = pd.DataFrame([dict(base, joined="before", left="after", n=10),
                          dict(base, joined="2025-01-01", left="after", age_band="35-49", imd_quintile="3", before=0,
                               joined_recent=1, n=2)])
    counts, published = release(cells, ["2025-01-01"], [], {}, [None], [None], districts={"D1": "D"})
    keys = list(published)
    hidden = ordered_suppression(counts, [published[k] for k in keys], 5, True)
    flags = {k[-1]: bool(h) for k, h in zip(keys, hidden) if k[2:4] == ("growth", "icp")}
    assert flags == {"members_start": True, "members_end": False, "joiners": True}  # leavers: 0, left out (shown)
    shown = {col: None if flags.get(col, False) else raw.loc[0, col] for col in FOUR}
    assert one_area_release(shown).leaks() == []


def membership_kinds(conn, filters: Filters, network_id: int | None) -> pd.DataFrame:
    """People per (ICP area, district, kind of membership), from the membership rows themselves."""
    t = m.NetworkMembership
    stmt = select(t.lsoa_code, t.joined_on, t.left_on, t.network_id).where(t.lsoa_code.is_not(None))
    rows = pd.DataFrame(conn.execute(stmt).all(), columns=["lsoa_code", "joined", "left", "network"])
    if network_id is not None:
        rows = rows[rows["network"] == network_id]
    before = filters.start - dt.timedelta(days=1)
    left = rows["left"]
    at_start = (rows["joined"] <= before) & (left.isna() | (left > before))
    at_end = (rows["joined"] <= filters.end) & (left.isna() | (left > filters.end))
    joined = (rows["joined"] >= filters.start) & (rows["joined"] <= filters.end)
    rows["kind"] = None
    rows.loc[at_start & at_end, "kind"] = "stayed"
    rows.loc[at_start & ~at_end, "kind"] = "left"
    rows.loc[joined & at_end, "kind"] = "joined_stayed"
    rows.loc[joined & ~at_end, "kind"] = "joined_left"
    rows = rows.dropna(subset=["kind"]).merge(small_area_places(conn), on="lsoa_code")
    return rows.groupby(["icp", "district", "kind"]).size().rename("n")


@pytest.mark.parametrize("network_id", [None, 1, 2])
@pytest.mark.parametrize("period", [(dt.date(2025, 11, 16), dt.date(2026, 11, 15)),
                                    (dt.date(2026, 9, 16), dt.date(2026, 11, 15))], ids=["year", "two-months"])
def test_growth_tables_publish_nothing_determined_on_the_demo_store(demo7, network_id, period):
    filters = Filters(None, *period)
    with demo7.connect() as conn:
        cells = membership_kinds(conn, filters, network_id)
        full = pd.MultiIndex.from_product([sorted(set(cells.index.get_level_values(0))),
                                           sorted(set(cells.index.get_level_values(1))),
                                           ["stayed", "left", "joined_stayed", "joined_left"]])
        cells = cells.reindex(full, fill_value=0).astype(float)
        release = Release(cells)
        for icp in [None, *icp_names(conn)]:
            view = dataclasses.replace(filters, icp=icp)
            for level in ("icp", "district"):
                table = growth_by_area(conn, view, level, network_id=network_id)
                for r in table.to_dict("records"):
                    keys = [k for k in cells.index if k[0 if level == "icp" else 1] == r["area"]
                            and (level == "icp" or icp is None or k[0] == icp)]
                    for col in FOUR:
                        release.add((icp, level, r["area"], col), [k for k in keys if k[2] in KIND_IN[col]], r[col])
                    # net growth is the end less the start as shown: in their span, so it gives nothing away
                    assert pd.isna(r["net"]) == (pd.isna(r["members_start"]) or pd.isna(r["members_end"]))
                    assert pd.isna(r["net_per_1000"]) or r["net"] == r["members_end"] - r["members_start"]
        # the total of the areas, as the deprivation map publishes it (members at the end, all networks)
        if network_id is None:
            release.add("km end", [k for k in cells.index if k[2] in KIND_IN["members_end"]],
                        None if d.is_small(cells[[k for k in cells.index if k[2] in KIND_IN["members_end"]]].sum())
                        else cells[[k for k in cells.index if k[2] in KIND_IN["members_end"]]].sum())
    assert release.leaks() == []


def test_recent_growth_publishes_nothing_determined_on_the_demo_store(demo7):
    end = dt.date(2026, 11, 15)
    before = dt.date(2026, 9, 15)  # two months before the end: the window is 16 September to 15 November
    with demo7.connect() as conn:
        t = m.NetworkMembership
        rows = pd.DataFrame(conn.execute(
            select(t.network_id, t.lsoa_code, t.icp_id, t.joined_on, t.left_on, m.Lsoa.icp_id)
            .outerjoin(m.Lsoa, m.Lsoa.code == t.lsoa_code)).all(),
            columns=["id", "lsoa", "own_icp", "joined", "left", "lsoa_icp"])
        names = dict(conn.execute(select(m.Network.id, m.Network.name)).all())
        icps = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
        rows["net"] = rows["id"].map(names)
        rows["icp"] = rows["lsoa_icp"].where(rows["lsoa"].notna(), rows["own_icp"]).map(icps).fillna("none")
        left = rows["left"]
        at_before = (rows["joined"] <= before) & (left.isna() | (left > before))
        at_end = (rows["joined"] <= end) & (left.isna() | (left > end))
        joined = (rows["joined"] > before) & (rows["joined"] <= end)
        rows["kind"] = None
        rows.loc[at_before & at_end, "kind"] = "stayed"
        rows.loc[at_before & ~at_end, "kind"] = "left"
        rows.loc[joined & at_end, "kind"] = "joined_stayed"
        rows.loc[joined & ~at_end, "kind"] = "joined_left"
        cells = rows.dropna(subset=["kind"]).groupby(["net", "icp", "kind"]).size().astype(float)
        release = Release(cells)
        hidden_any = False
        for icp in [None, *icp_names(conn)]:
            table = recent_growth(conn, Filters(icp, dt.date(2025, 11, 16), end)).set_index("network")
            for net, r in table.iterrows():
                for col in FOUR:
                    col_here = "members_before" if col == "members_start" else col
                    keys = [k for k in cells.index if k[0] == net and (icp is None or k[1] == icp)
                            and k[2] in KIND_IN[col]]
                    release.add((icp, net, col), keys, r[col_here])
                    hidden_any |= pd.isna(r[col_here])
    assert hidden_any  # the demo has small networks in small areas: something is hidden
    assert release.leaks() == []
