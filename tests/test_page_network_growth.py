"""The network growth page in Streamlit's AppTest: filters change the figures to the right values."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from charts.networks import about
from data_access.networks import recent_growth
from data_access.retention import retention_by_quarter

from data_access.db import init_db, make_engine
from data_access.demo import seed_demo
from data_access.filters import Filters
from tests.test_app import APP
from tests.conftest import app_store

PAGE = "pages/network_growth.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A seeded demo store; DATABASE_URL points at it for the app."""
    def fill(engine):
        seed_demo(engine, seed=7)

    with app_store(tmp_path_factory.mktemp("netapp"), fill) as engine:
        yield engine


def run_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def filters_of(at: AppTest, icp: str | None = None) -> Filters:
    start, end = at.session_state["flt_period"]
    return Filters(icp, start, end)


def sentences(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_spc_charts_and_verdicts(store):
    at = run_page()
    text = sentences(at)
    assert "People joining a network each month (all networks, Kent and Medway): mean" in text
    assert "Net change in network members each month (all networks, Kent and Medway): mean" in text
    # The demo sets no target for the net change: no target line, no "met and missed at random".
    assert "Target 0:" not in text and "met and missed at random" not in text
    assert not at.error


def test_spc_net_change_uses_the_target_in_the_measure_table(store):
    """A team's own target (the Measure table) is drawn and judged; a new data version refreshes the cache."""
    with store.begin() as conn:
        conn.execute(text("UPDATE measure SET target = 50 WHERE key = 'network_net_change'"))
        old = conn.execute(text("SELECT value FROM setting WHERE key = 'data_version'")).scalar_one()
        conn.execute(text("UPDATE setting SET value = :v WHERE key = 'data_version'"), {"v": old + "-target"})
    try:
        text_ = sentences(run_page())
        assert "Net change in network members each month (all networks, Kent and Medway): mean" in text_
        assert "Target 50: the target will" in text_
    finally:
        with store.begin() as conn:
            conn.execute(text("UPDATE measure SET target = NULL WHERE key = 'network_net_change'"))
            conn.execute(text("UPDATE setting SET value = :v WHERE key = 'data_version'"), {"v": old})


def _memberships(store, network: str | None, icp: str | None) -> pd.DataFrame:
    """Every membership row with its district and ICP area (a different route from the page's SQL)."""
    with store.connect() as conn:
        rows = conn.execute(text(
            "SELECT n.name, nm.joined_on, nm.left_on, la.name, ia.name FROM networkmembership nm "
            "JOIN network n ON n.id = nm.network_id LEFT JOIN lsoa l ON l.code = nm.lsoa_code "
            "LEFT JOIN localauthority la ON la.code = l.lad_code LEFT JOIN icparea ia ON ia.id = l.icp_id")).all()
        pop = conn.execute(text(
            "SELECT la.name, ia.name, l.population FROM lsoa l JOIN localauthority la ON la.code = l.lad_code "
            "JOIN icparea ia ON ia.id = l.icp_id")).all()
    f = pd.DataFrame(rows, columns=["network", "joined", "left", "district", "icp"])
    f["joined"] = pd.to_datetime(f["joined"])
    f["left"] = pd.to_datetime(f["left"])
    if network:
        f = f[f["network"] == network]
    if icp:
        f = f[f["icp"] == icp]
    p = pd.DataFrame(pop, columns=["district", "icp", "population"])
    return f, (p[p["icp"] == icp] if icp else p)


def _spc_mean(f: pd.DataFrame, end: dt.date) -> float:
    month_after = (pd.Timestamp(end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    first = month_after - pd.DateOffset(months=24)
    months = pd.date_range(first, periods=12, freq="MS")  # the 12-point baseline
    counts = f["joined"].dt.to_period("M").dt.to_timestamp().value_counts()
    return sum(int(counts.get(mo, 0)) for mo in months) / 12


def _spc_shown(f: pd.DataFrame, end: dt.date) -> bool:
    """True when no month of the 24 charted has 1-4 people joining (else the SPC chart is not drawn)."""
    month_after = (pd.Timestamp(end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    months = pd.date_range(month_after - pd.DateOffset(months=24), periods=24, freq="MS")
    counts = f["joined"].dt.to_period("M").dt.to_timestamp().value_counts()
    return not any(0 < int(counts.get(mo, 0)) < 5 for mo in months)


def _best_district(f: pd.DataFrame, pop: pd.DataFrame, start: dt.date, end: dt.date) -> tuple[str, float, int]:
    """The district with the highest net growth per 1,000 among those shown: counted here in pandas, then
    hidden by the policy's secondary suppression (tested by hand in tests/test_disclosure.py)."""
    from data_access.disclosure import suppress_table

    s, e = pd.Timestamp(start) - pd.Timedelta(days=1), pd.Timestamp(end)
    def active(day):
        return (f["joined"] <= day) & (f["left"].isna() | (f["left"] > day))
    residents = pop.groupby("district")["population"].sum()
    counts = pd.DataFrame({
        "start": f[active(s)].groupby("district").size(), "end": f[active(e)].groupby("district").size(),
        "joined": f[(f["joined"] >= s + pd.Timedelta(days=1)) & (f["joined"] <= e)].groupby("district").size(),
        "left": f[(f["left"] >= s + pd.Timedelta(days=1)) & (f["left"] <= e)].groupby("district").size(),
    }).reindex(residents.index).fillna(0).astype(int).reset_index()
    hidden = pd.Series(False, index=counts.index)
    for col in ("start", "end", "joined", "left"):
        hidden |= suppress_table(counts, col, [()])[col].isna()
    shown = counts[~hidden].set_index("district")
    net = shown["end"] - shown["start"]
    rate = (net / residents.reindex(net.index) * 1000).dropna()
    best = rate.idxmax()
    return best, float(rate[best]), int(net[best])


def test_network_and_icp_filters_change_the_spc_and_area_figures(store):
    at = run_page()
    f = filters_of(at)
    rows, _ = _memberships(store, None, None)
    assert f"(all networks, Kent and Medway): mean {_spc_mean(rows, f.end):,.1f}," in sentences(at)

    at.selectbox(key="network_choice").select("Thanet Health Network").run()
    assert not at.exception
    rows, _ = _memberships(store, "Thanet Health Network", None)
    too_few = "Some months had too few people joining or leaving the Thanet Health Network"
    info = " ".join(i.value for i in at.info)
    if _spc_shown(rows, f.end):
        assert f"(the Thanet Health Network, Kent and Medway): mean {_spc_mean(rows, f.end):,.1f}," in sentences(at)
    else:  # a month with 1-4 joiners: the chart would reveal it, so it is not drawn
        assert f"{too_few} in Kent and Medway to show" in info
        assert "(the Thanet Health Network, Kent and Medway): mean" not in sentences(at)

    at.sidebar.selectbox(key="flt_icp").select("East Kent").run()
    assert not at.exception
    f = filters_of(at, "East Kent")
    rows, pop = _memberships(store, "Thanet Health Network", "East Kent")
    text = sentences(at)
    if _spc_shown(rows, f.end):
        assert f"(the Thanet Health Network, East Kent): mean {_spc_mean(rows, f.end):,.1f}," in text
    else:
        assert f"{too_few} in East Kent to show" in " ".join(i.value for i in at.info)
    best, rate, net = _best_district(rows, pop, f.start, f.end)
    assert (f"For the Thanet Health Network in East Kent, net growth for the size of the district was highest in "
            f"{best} ({rate:+.2f} per 1,000 residents, {net:+,} members)") in text


def test_recent_growth_and_retention_follow_the_icp_filter(store):
    at = run_page()
    at.sidebar.selectbox(key="flt_icp").select("West Kent").run()
    f = filters_of(at, "West Kent")
    with store.connect() as conn:
        recent = recent_growth(conn, f).set_index("network")
        retention = retention_by_quarter(conn, f)
    text = sentences(at)
    net = int(recent.loc["West Kent Health Network", "net"])
    assert f"West Kent Health Network {'grew' if net >= 0 else 'shrank'} by about {about(abs(net))} member" in text
    last = retention.dropna(subset=["share_6"]).iloc[-1]
    assert f"in {last['cohort']}, {last['share_6']:.0%} were still members 6 months later" in text
    # an independent count of the same 6-month figure
    rows, _ = _memberships(store, None, "West Kent")
    q = pd.Period(last["cohort"].replace(" ", ""), freq="Q")
    cohort = rows[(rows["joined"] >= q.start_time) & (rows["joined"] <= q.end_time)]
    mark = cohort["joined"] + pd.DateOffset(months=6)
    kept = (cohort["left"].isna() | (cohort["left"] > mark)).sum()
    assert kept / len(cohort) == pytest.approx(last["share_6"])


def test_spc_settings_change_the_limits(store):
    at = run_page()
    f = filters_of(at)
    rows, _ = _memberships(store, None, None)
    month_after = (pd.Timestamp(f.end) + pd.Timedelta(days=1)).to_period("M").to_timestamp()
    months = pd.date_range(month_after - pd.DateOffset(months=24), periods=24, freq="MS")
    counts = rows["joined"].dt.to_period("M").dt.to_timestamp().value_counts()
    series = [int(counts.get(mo, 0)) for mo in months]
    at.number_input(key="spc_baseline").set_value(24).run()
    assert not at.exception
    assert f"(all networks, Kent and Medway): mean {sum(series) / 24:,.1f}," in sentences(at)
    # recalculating from the 13th month: the last segment's mean is that of the last 12 months
    at.multiselect(key="spc_recalc").select(f"{months[12]:%B %Y}").run()
    assert not at.exception
    assert f"(all networks, Kent and Medway): mean {sum(series[12:]) / 12:,.1f}," in sentences(at)


def test_page_says_so_when_there_are_no_members(tmp_path, monkeypatch):
    from sqlalchemy import delete

    from data_access import models as m
    from tests.factories import build_tiny_store

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    init_db(engine)
    build_tiny_store(engine)
    with engine.begin() as conn:
        conn.execute(delete(m.NetworkMembership))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    at = run_page()
    text = sentences(at)
    assert "There are no network members in Kent and Medway for this period." in text
    assert "No one was a member of, joined or left all networks in Kent and Medway in this period." in text
    assert "No network has members in Kent and Medway to project from." in text
    assert "No one joined a network in Kent and Medway in this period." in text
    assert not at.error
