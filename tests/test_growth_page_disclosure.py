"""Everything the network growth page publishes for one period, checked together by the independent auditor
(tests/audit.py), for every network choice and the all-areas and every ICP area's view at once: members over time
(each network's line, all networks' monthly joiners, leavers and members, the period's joined and left), retention,
recruitment channels (joiners each month by channel, each channel's total and everyone who joined), the channel mix
(each channel's joiners by age band and IMD quintile, and the base of its shares: the channel's joiners), the growth tables by ICP area and district (members whose small area is known), the deprivation map's
total of the areas' members, and recent growth (the last two months, per network).

The cells are worked out here from the membership rows, not by the code under test. On the earlier channel rule
(each table protected on its own: hide a second cell where one is alone in a published total) the auditor finds
channel counts given away by the monthly joiners; on the release it finds none. Also a hand-worked store (SQLite and
PostgreSQL) and generated handfuls of members."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from data_access import disclosure as d
from data_access import models as m
from data_access.filters import Filters
from data_access.networks import growth_by_area, networks, recent_growth
from data_access.retention import channel_mix, channel_totals, joiners_by_channel
from tests.audit import Release
from tests.factories import build_tiny_store
from tests.test_network_release_disclosure import page_release, quarters_to

YEAR = (dt.date(2025, 11, 16), dt.date(2026, 11, 15))
# the position of each part of a cell's key (the first six as test_network_release_disclosure.cells_of has them)
NET, ICP, JOINED, LEFT, CHANNEL, DISTRICT, AGE, QUINTILE, PLACED, BEFORE, J_RECENT, L_RECENT = (
    0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13)


@pytest.fixture(autouse=True)
def rule5(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)


def band(age) -> str:
    if pd.isna(age):
        return "Not known"
    for top, label in ((15, "Under 16"), (24, "16-24"), (34, "25-34"), (49, "35-49"), (64, "50-64")):
        if age <= top:
            return label
    return "65+"


def quintile(decile) -> str:
    if pd.isna(decile):
        return "Not known"
    return {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}[(int(decile) + 1) // 2]


def cells_of(conn, start: dt.date, end: dt.date) -> pd.Series:
    """People per (network, ICP area name, joined, left, still 6 months on, still 12 months on: as
    test_network_release_disclosure.cells_of; then channel, district name, age band at joining and IMD quintile for
    those joining in the period, whether the small area is known, a member on the day before the last two months'
    window, joined in it, left in it), from the rows."""
    t = m.NetworkMembership
    rows = pd.DataFrame(conn.execute(
        select(t.network_id, t.lsoa_code, t.icp_id, t.joined_on, t.left_on, t.channel, t.birth_year, m.Lsoa.icp_id,
               m.Lsoa.imd_decile, m.LocalAuthority.name)
        .outerjoin(m.Lsoa, m.Lsoa.code == t.lsoa_code)
        .outerjoin(m.LocalAuthority, m.LocalAuthority.code == m.Lsoa.lad_code)).all(),
        columns=["net", "lsoa", "own_icp", "joined", "left", "channel", "born", "lsoa_icp", "decile", "district"])
    names = dict(conn.execute(select(m.IcpArea.id, m.IcpArea.name)).all())
    rows["icp"] = rows["lsoa_icp"].where(rows["lsoa"].notna(), rows["own_icp"]).map(names).fillna("none")
    joined, left = pd.to_datetime(rows["joined"]), pd.to_datetime(rows["left"])
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    before = e - pd.DateOffset(months=2)
    first_q = quarters_to(end)[0].start_time
    keep = (joined <= e) & (left.isna() | (left >= s) | (left > before) | (joined >= first_q))
    rows, joined, left = rows[keep].copy(), joined[keep], left[keep]
    rows["j"] = [jo.to_period("M").start_time if jo >= s else (str(jo.to_period("Q")) if jo >= first_q else "out")
                 for jo in joined]
    rows["l"] = ["out" if pd.isna(lv) or lv > e else lv.to_period("M").start_time if lv >= s else "gone"
                 for lv in left]
    for k in (6, 12):
        rows[f"s{k}"] = [int(jo >= first_q and (pd.isna(lv) or lv > jo + pd.DateOffset(months=k)))
                         for jo, lv in zip(joined, left)]
    new = (joined >= s).to_numpy()
    rows["age"] = [band(jo.year - b) if n else "-" for jo, b, n in zip(joined, rows["born"], new)]
    rows["quintile"] = [quintile(dec) if n else "-" for dec, n in zip(rows["decile"], new)]
    rows["district"] = rows["district"].where(rows["lsoa"].notna(), "none").fillna("none")
    rows["placed"] = rows["lsoa"].notna().astype(int)
    rows["before"] = ((joined <= before) & (left.isna() | (left > before))).astype(int)
    rows["j_recent"] = (joined > before).astype(int)
    rows["l_recent"] = ((left > before) & (left <= e)).astype(int)
    return rows.groupby(["net", "icp", "j", "l", "s6", "s12", "channel", "district", "age", "quintile", "placed",
                         "before", "j_recent", "l_recent"]).size().astype(float)


def is_joiner(key) -> bool:
    """Joined in the period (the month is named only for those)."""
    return isinstance(key[JOINED], pd.Timestamp)


GROWTH = {"members_start": lambda k: not isinstance(k[JOINED], pd.Timestamp) and k[LEFT] != "gone",
          "members_end": lambda k: k[LEFT] == "out",
          "joiners": is_joiner,
          "leavers": lambda k: isinstance(k[LEFT], pd.Timestamp)}
RECENT = {"members_before": lambda k: k[BEFORE] == 1, "members_end": lambda k: k[LEFT] == "out",
          "joiners": lambda k: k[J_RECENT] == 1, "leavers": lambda k: k[L_RECENT] == 1}


def add_channels(release: Release, conn, view, sel, f: Filters, mix: bool = True) -> None:
    """Joiners each month by channel, each channel's total, everyone who joined (the sentence's base) and, where mix,
    the channel mix with the base of its shares (count / share, for any group whose count and share are shown)."""
    keys = [k for k in release.cells.index if (view is None or k[ICP] == view) and (sel is None or k[NET] == sel)
            and is_joiner(k)]
    for r in joiners_by_channel(conn, f, network_id=sel).itertuples():
        release.add((view, sel, "by channel", r.month, r.channel),
                    [k for k in keys if k[JOINED] == r.month and k[CHANNEL] == r.channel], r.joiners)
    totals = channel_totals(conn, f, network_id=sel)
    for r in totals.itertuples():
        release.add((view, sel, "channel", r.channel), [k for k in keys if k[CHANNEL] == r.channel], r.joiners)
    release.add((view, sel, "everyone who joined"), keys, totals.attrs["total"])
    for dim, pos in (("age_band", AGE), ("imd_quintile", QUINTILE)) if mix else ():
        table = channel_mix(conn, f, dim, network_id=sel)
        for ch, part in table.groupby("channel"):
            mine = [k for k in keys if k[CHANNEL] == ch]
            for r in part.itertuples():
                release.add((view, sel, dim, ch, r.group), [k for k in mine if k[pos] == r.group], r.count)
            # the shares are of the channel's joiners: a share beside its count gives that total
            shown = part.dropna(subset=["count", "share"])
            shown = shown[shown["count"] > 0]
            base = None if shown.empty else round(float(shown["count"].iloc[0] / shown["share"].iloc[0]))
            release.add((view, sel, dim, ch, "base"), mine, base)


def add_growth(release: Release, conn, view, sel, f: Filters) -> None:
    """The growth tables by ICP area (the same in every view) and by district (their parts in an ICP area)."""
    placed = [k for k in release.cells.index if k[PLACED] == 1 and (sel is None or k[NET] == sel)]
    for level, pos in (("icp", ICP), ("district", DISTRICT)):
        for r in growth_by_area(conn, f, level, network_id=sel).to_dict("records"):
            mine = [k for k in placed if k[pos] == r["area"] and (level == "icp" or view is None or k[ICP] == view)]
            for col, test in GROWTH.items():
                release.add((view, sel, level, r["area"], col), [k for k in mine if test(k)], r[col])
            # net growth is the end less the start as shown (so in their span: it gives nothing more away)
            assert pd.isna(r["net"]) == (pd.isna(r["members_start"]) or pd.isna(r["members_end"]))
            if not pd.isna(r["net"]):
                assert r["net"] == r["members_end"] - r["members_start"]


def add_recent(release: Release, conn, view, f: Filters, ids: dict) -> None:
    for r in recent_growth(conn, f).to_dict("records"):
        mine = [k for k in release.cells.index if k[NET] == ids[r["network"]] and (view is None or k[ICP] == view)]
        for col, test in RECENT.items():
            release.add((view, r["network"], "recent", col), [k for k in mine if test(k)], r[col])


def add_map_total(release: Release, conn, f: Filters) -> None:
    """The deprivation map's total of the areas' members at the end, taken as published beside the growth tables."""
    from data_access.network_release import release_values
    shown = release_values(conn, Filters(None, f.start, f.end)).get(("km", "members_end"), (0, 0))[0]  # none: 0
    release.add("map total", [k for k in release.cells.index if k[PLACED] == 1 and k[LEFT] == "out"], shown)


def growth_page_release(conn, start: dt.date, end: dt.date) -> Release:
    release = Release(cells_of(conn, start, end))
    page_release(conn, start, end, release, months_before=False)
    ids = dict(zip(networks(conn)["name"], networks(conn)["id"]))
    for view in [None, *sorted(conn.execute(select(m.IcpArea.name)).scalars())]:
        f = Filters(view, start, end)
        for sel in [None, *ids.values()]:
            add_channels(release, conn, view, sel, f)
            add_growth(release, conn, view, sel, f)
        add_recent(release, conn, view, f, ids)
    add_map_total(release, conn, Filters(None, start, end))
    return release


def test_the_growth_page_publishes_nothing_determined_on_the_demo_store(demo7):
    with demo7.connect() as conn:
        release = growth_page_release(conn, *YEAR)
    kinds = {n[0][2] if isinstance(n[0], tuple) and len(n[0]) > 2 else n[0] for n in release.numbers}
    assert {"by channel", "channel", "age_band", "imd_quintile", "icp", "district", "recent"} <= kinds
    shown = [n for n in release.numbers if n[2] is not None]
    assert len(release.numbers) > 8000 and len(shown) > 4000  # the model covers the page, and much is still shown
    assert release.leaks() == []


# --- a hand-worked store: a channel count given away across network choices by the earlier rule -----------------

Q1 = (dt.date(2025, 1, 1), dt.date(2025, 3, 31))


def members(rows) -> list[dict]:
    return [dict(member_ref=f"p{i}", network_id=net, joined_on=joined, left_on=None, lsoa_code="A1", channel=channel,
                 birth_year=1980, sex="Female", ethnic_group="White", disability="Not disabled")
            for i, (net, joined, channel) in enumerate(rows)]


def old_rule_channels(release: Release, f: Filters, ids: list) -> None:
    """The earlier joiners_by_channel: each view and network choice's months x channels on its own, with a second cell
    hidden where one hidden cell is alone in a month or a channel (disclosure.suppress_table)."""
    cells = release.cells
    for sel in [None, *ids]:
        keys = [k for k in cells.index if is_joiner(k) and (sel is None or k[NET] == sel)]
        raw = pd.Series({(k[JOINED], k[CHANNEL]): 0.0 for k in keys})
        for k in keys:
            raw[(k[JOINED], k[CHANNEL])] += cells[k]
        table = pd.DataFrame({"month": [i[0] for i in raw.index], "channel": [i[1] for i in raw.index],
                              "joiners": raw.astype(int).to_numpy()})
        shown = d.suppress_table(table, "joiners", ["month", "channel"])
        for r in shown.itertuples():
            release.add(("old", sel, r.month, r.channel),
                        [k for k in keys if k[JOINED] == r.month and k[CHANNEL] == r.channel], r.joiners)


def test_a_channel_count_given_away_across_network_choices_by_the_earlier_rule(engine):
    # In January 2025 the Patient Network (1) gains 3 members by email and 10 at an event; the Thanet Health Network
    # (2) gains 10 by email, and 10 more at an event in February; all in A1 (East Kent). The earlier rule hides the
    # Patient Network's 3 and, so that it cannot be worked out from January's 13, its 10 at events; the Thanet
    # network's table has nothing small, and all networks' shows January's 13 by email: 13 - 10 = 3.
    build_tiny_store(engine)
    with engine.begin() as c:
        c.execute(m.NetworkMembership.__table__.delete())
        c.execute(insert(m.NetworkMembership.__table__), members(
            [(1, dt.date(2025, 1, 5), "Email cascade")] * 3 + [(1, dt.date(2025, 1, 6), "Event")] * 10
            + [(2, dt.date(2025, 1, 7), "Email cascade")] * 10 + [(2, dt.date(2025, 2, 7), "Event")] * 10))
    f = Filters(None, *Q1)
    with engine.connect() as conn:
        old = Release(cells_of(conn, *Q1))
        old_rule_channels(old, f, [1, 2])
        assert [(name[1:], v) for name, v in old.leaks()] == [((1, pd.Timestamp("2025-01-01"), "Email cascade"), 3.0)]

        new = Release(cells_of(conn, *Q1))
        for view in [None, "East Kent", "West Kent"]:
            for sel in (None, 1, 2):
                add_channels(new, conn, view, sel, Filters(view, *Q1))
        page_release(conn, *Q1, new, months_before=False)  # the monthly joiners (and everything else) beside them
        assert new.leaks() == []
        one = joiners_by_channel(conn, f, network_id=1).set_index(["month", "channel"])["joiners"]
        both = joiners_by_channel(conn, f).set_index(["month", "channel"])["joiners"]
        two = joiners_by_channel(conn, f, network_id=2).set_index(["month", "channel"])["joiners"]
        january_email = (pd.Timestamp("2025-01-01"), "Email cascade")
        assert pd.isna(one[january_email])
        assert pd.isna(both[january_email]) or pd.isna(two[january_email])  # not 13 and 10 both
        assert one[(pd.Timestamp("2025-03-01"), "Event")] == 0  # no one joined in March: shown as 0


# --- adversarial: a handful of people -----------------------------------------------------------------------

@st.composite
def handfuls(draw):
    """A few members of two networks in three small areas (two ICP areas) or none, by three channels, joining and
    leaving in a three-month period, the two months before it or earlier."""
    n = draw(st.integers(1, 12))
    days = [dt.date(2024, 10, 1) + dt.timedelta(days=k) for k in range(0, 180, 9)]
    rows = []
    for _ in range(n):
        joined = draw(st.sampled_from(days))
        left = draw(st.one_of(st.none(), st.sampled_from([x for x in days if x > joined] or [None])))
        rows.append(dict(network_id=draw(st.sampled_from([1, 2])), joined_on=joined, left_on=left,
                         lsoa_code=draw(st.sampled_from(["A1", "A2", "B1", None])),
                         channel=draw(st.sampled_from(["Event", "Email cascade", "Social media"])),
                         birth_year=draw(st.sampled_from([1950, 1990, None]))))
    return rows


def test_the_growth_page_on_handfuls_publishes_nothing_determined(engine):
    build_tiny_store(engine)

    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
    @given(handfuls())
    def check(rows):
        with engine.begin() as c:
            c.execute(m.NetworkMembership.__table__.delete())
            c.execute(insert(m.NetworkMembership.__table__), [
                dict(r, member_ref=f"h{i}", sex="Female", ethnic_group="White", disability="Not disabled")
                for i, r in enumerate(rows)])
        with engine.connect() as c:
            release = growth_page_release(c, dt.date(2025, 1, 1), dt.date(2025, 3, 31))
        assert release.leaks() == []

    check()


def test_the_hes_rule_on_channels_and_growth_tables(demo7, monkeypatch):
    # Under the HES rule every count is rounded to the nearest 5 and counts of 1-7 are hidden; there is no secondary
    # suppression. The truths are worked out from the rows.
    monkeypatch.setenv("DISCLOSURE_RULE", "hes")
    f = Filters(None, *YEAR)
    with demo7.connect() as conn:
        cells = cells_of(conn, *YEAR)
        by_channel = joiners_by_channel(conn, f)
        totals = channel_totals(conn, f).set_index("channel")["joiners"]
        growth = growth_by_area(conn, f, "icp").set_index("area")
        mix = channel_mix(conn, f, "age_band")
    joiners = [k for k in cells.index if is_joiner(k)]

    def check(shown, truth):
        if 0 < truth < 8:
            assert pd.isna(shown)
        else:
            assert shown == 5 * round(truth / 5) and shown % 5 == 0

    for r in by_channel.itertuples():
        check(r.joiners, sum(cells[k] for k in joiners if k[JOINED] == r.month and k[CHANNEL] == r.channel))
    for channel, shown in totals.items():
        check(shown, sum(cells[k] for k in joiners if k[CHANNEL] == channel))
    for area, r in growth.iterrows():
        for col, test in GROWTH.items():
            check(r[col], sum(cells[k] for k in cells.index if k[PLACED] == 1 and k[ICP] == area and test(k)))
    for r in mix.itertuples():
        check(r.count, sum(cells[k] for k in joiners if k[CHANNEL] == r.channel and k[AGE] == r.group))
        if not pd.isna(r.share):  # a share is of the channel's joiners as shown (rounded)
            assert r.share == pytest.approx(r.count / totals[r.channel])
    assert by_channel["joiners"].notna().sum() > 30 and growth["members_end"].notna().all()
