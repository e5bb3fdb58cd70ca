"""The network growth page's "Joiners and leavers each month" (monthly joiners and leavers, members at each month end,
and the sentence's period totals: joined, left and the net change) checked by the independent auditor
(tests/audit.py) on the demo store: nothing they publish gives a hidden count away, in the all-areas view and each
ICP area's view together."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from data_access import models as m
from data_access.filters import Filters
from data_access.geography import icp_names
from data_access.networks import membership_totals_by_month
from tests.audit import Release


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def cohorts(conn, filters: Filters, network_id: int | None) -> pd.Series:
    """People per (ICP area, month joined or 'before', month left or 'after'), from the membership rows themselves."""
    t = m.NetworkMembership
    rows = pd.DataFrame(conn.execute(select(t.network_id, t.lsoa_code, t.icp_id, t.joined_on, t.left_on,
                                            m.Lsoa.icp_id).outerjoin(m.Lsoa, m.Lsoa.code == t.lsoa_code)).all(),
                        columns=["net", "lsoa", "own_icp", "joined", "left", "lsoa_icp"])
    if network_id is not None:
        rows = rows[rows["net"] == network_id]
    icps = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
    rows["icp"] = rows["lsoa_icp"].where(rows["lsoa"].notna(), rows["own_icp"]).map(icps).fillna("none")
    joined, left = pd.to_datetime(rows["joined"]), pd.to_datetime(rows["left"])
    start, end = pd.Timestamp(filters.start), pd.Timestamp(filters.end)
    rows = rows[(joined <= end) & (left.isna() | (left >= start))].copy()
    joined, left = pd.to_datetime(rows["joined"]), pd.to_datetime(rows["left"])
    rows["j"] = joined.dt.to_period("M").dt.start_time.where(joined >= start)  # NaT: before the period
    rows["l"] = left.dt.to_period("M").dt.start_time.where(left <= end)  # NaT: still a member at its end
    rows[["j", "l"]] = rows[["j", "l"]].astype(object).where(rows[["j", "l"]].notna(), "out")
    return rows.groupby(["icp", "j", "l"]).size().astype(float)


def add_view(release: Release, table: pd.DataFrame, icp: str | None) -> None:
    """One view's monthly chart and sentence: each month's joiners, leavers and members at its end, and the period's
    joined and left totals (the net changes are differences of these)."""
    cells = release.cells.index
    mine = [k for k in cells if icp is None or k[0] == icp]
    for r in table.itertuples():
        month = pd.Timestamp(r.month)
        release.add((icp, "joiners", month), [k for k in mine if k[1] == month], r.joiners)
        release.add((icp, "leavers", month), [k for k in mine if k[2] == month], r.leavers)
        release.add((icp, "members", month), [k for k in mine if (k[1] == "out" or k[1] <= month)
                                               and (k[2] == "out" or k[2] > month)], r.members)
        if not (pd.isna(r.joiners) or pd.isna(r.leavers)):
            assert r.net == r.joiners - r.leavers
        else:
            assert pd.isna(r.net)
    release.add((icp, "joined"), [k for k in mine if k[1] != "out"], table.attrs["joined"])
    release.add((icp, "left"), [k for k in mine if k[2] != "out"], table.attrs["left"])


@pytest.mark.parametrize("network_id", [None, 1, 2])
@pytest.mark.parametrize("period", [(dt.date(2025, 11, 16), dt.date(2026, 11, 15)),
                                    (dt.date(2026, 9, 16), dt.date(2026, 11, 15))], ids=["year", "two-months"])
def test_joiners_and_leavers_publish_nothing_determined_on_the_demo_store(demo7, network_id, period):
    filters = Filters(None, *period)
    with demo7.connect() as conn:
        release = Release(cohorts(conn, filters, network_id))
        for icp in [None, *icp_names(conn)]:
            table = membership_totals_by_month(conn, Filters(icp, *period), network_id=network_id)
            add_view(release, table, icp)
    assert release.leaks() == []
