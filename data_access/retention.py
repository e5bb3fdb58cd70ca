"""Network retention, recruitment channels and network activities, in SQL: who stays, who each channel
brings, and what happened when."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.filters import Filters, icp_id
from data_access.network_release import (
    MIX_DIMENSIONS, QUARTERS, period_months, quarter_ready, release_values, retention_quarters, shown_counts,
)
from data_access.profiles import representation, resident_counts


def retention_by_quarter(conn: Connection, filters: Filters, network_id: int | None = None,
                         quarters: int = QUARTERS) -> pd.DataFrame:
    """Of those who joined in each of the `quarters` calendar quarters to the period end, how many were
    still members 6 and 12 months after joining (a member on the day 6 or 12 months after their join date).

    A quarter is shown only once all its joiners have reached the mark by the period end ("too recent"
    otherwise, missing). Counts of 1-4 people (joiners, those still members, and those who left: the difference),
    and the shares from them, are hidden (missing), and more with them until none can be worked out from everything
    the page publishes about memberships over time, in this view and every ICP area's view together
    (data_access.network_release). Columns: cohort, quarter_start, joiners, still_6, share_6, still_12, share_12.
    """
    shown = shown_counts(conn, filters, network_id, quarters)
    rows = []
    for period in retention_quarters(filters.end, quarters):
        joiners = shown[("quarter", str(period))]
        row = {"cohort": f"{period.year} Q{period.quarter}", "quarter_start": period.start_time.date(),
               "joiners": joiners}
        for months in (6, 12):
            still = shown.get((f"still_{months}", str(period))) if quarter_ready(period, months, filters.end) else None
            row[f"still_{months}"] = still
            row[f"share_{months}"] = still / joiners if still is not None and joiners else None
        rows.append(row)
    out = pd.DataFrame(rows, columns=["cohort", "quarter_start", "joiners", "still_6", "share_6", "still_12",
                                      "share_12"])
    for col in ("joiners", "still_6", "still_12"):
        out[col] = pd.array(out[col].tolist(), dtype="Int64")
    for col in ("share_6", "share_12"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


def _channels(shown: dict) -> list[str]:
    """The channels anyone joined through in the view and selection: the usual ones in their order, then others."""
    present = {k[1] for k in shown if k[0] == "channel"}
    return [c for c in m.CHANNELS_NETWORK if c in present] + sorted(present - set(m.CHANNELS_NETWORK))


def joiners_by_channel(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """People joining each month by recruitment channel (every month of the period, for each channel anyone joined
    through). Small counts are hidden (missing), and more with them until none can be worked out from everything the
    page publishes about memberships over time, each month's joiners (which the channels add up to) included, in
    this view and every ICP area's view and for every network choice together (data_access.network_release).

    Columns: month (Timestamp), channel, joiners.
    """
    shown = shown_counts(conn, filters, network_id)
    rows = [(pd.Timestamp(mo), ch, shown.get(("channel_joiners", mo, ch), 0))
            for mo in period_months(filters.start, filters.end) for ch in _channels(shown)]
    out = pd.DataFrame(rows, columns=["month", "channel", "joiners"])
    out["month"] = pd.to_datetime(out["month"])
    out["joiners"] = pd.array(out["joiners"].tolist(), dtype="Int64")
    return out


def channel_totals(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """People joining in the period by recruitment channel, most first as shown (hidden ones last), protected with
    the release as joiners_by_channel is. Columns: channel, joiners; attrs 'total' is everyone who joined, as it may
    be shown."""
    shown = shown_counts(conn, filters, network_id)
    out = pd.DataFrame([(ch, shown[("channel", ch)]) for ch in _channels(shown)], columns=["channel", "joiners"])
    out["joiners"] = pd.array(out["joiners"].tolist(), dtype="Int64")
    order = out["joiners"].astype("Float64").fillna(-1).astype(float)
    out = out.assign(_o=-order).sort_values(["_o", "channel"]).drop(columns="_o").reset_index(drop=True)
    out.attrs["total"] = shown[("joined",)]
    return out


def channel_mix(conn: Connection, filters: Filters, dimension: str, network_id: int | None = None) -> pd.DataFrame:
    """Who each channel brings: joiners in the period by channel and age band (at joining) or IMD quintile,
    against residents of the filtered area (see data_access.profiles.representation). A share is of all the channel's
    joiners (those whose group is not known included: that total is published, and the number whose group is known
    would give a small number not known away), against the share of residents whose group is known. Small counts are
    hidden, and more with them, protected with the release as joiners_by_channel is (the groups add up to the
    channel's joiners); shares are hidden where the count or the channel's total is.

    Columns: channel, group, count, share, residents, resident_share, ratio, gap_pp, stated, suppressed.
    """
    if dimension not in MIX_DIMENSIONS:
        raise ValueError(f"Unknown dimension {dimension!r}: expected age_band or imd_quintile.")
    values = release_values(conn, filters, network_id)
    residents = resident_counts(conn, dimension, icp=filters.icp)
    parts = []
    for channel in _channels({k: v[0] for k, v in values.items()}):
        mine = {k[3]: v for k, v in values.items() if k[:3] == ("mix", dimension, channel)}
        counts = pd.DataFrame({"group": list(mine), "count": [raw for _, raw in mine.values()]})
        hide = {g for g, (shown, _) in mine.items() if shown is None}
        total, raw_total = values[("channel", channel)]
        rep = representation(counts, residents, dimension, hide, base=raw_total)
        if total is None:  # the shares' base is hidden
            rep[["share", "ratio", "gap_pp"]] = np.nan
        parts.append(rep.assign(channel=channel))
    cols = ["channel", "group", "count", "share", "residents", "resident_share", "ratio", "gap_pp", "stated",
            "suppressed"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def network_activities(conn: Connection, filters: Filters, network_id: int | None = None) -> pd.DataFrame:
    """Engagement activities tied to a network (recruitment campaigns, events) in the period.

    With an ICP area chosen, activities held in another ICP area are left out. Columns: held_on, kind,
    title, network.
    """
    a = m.Activity
    stmt = (select(a.held_on, a.kind, a.title, m.Network.name).select_from(a)
            .join(m.Network, m.Network.id == a.network_id)
            .where(and_(a.held_on >= filters.start, a.held_on <= filters.end)).order_by(a.held_on, a.id))
    if network_id is not None:
        stmt = stmt.where(a.network_id == network_id)
    if filters.icp:
        ident = icp_id(conn, filters.icp)
        stmt = stmt.where(or_(a.icp_id.is_(None), a.icp_id == ident))
    out = pd.DataFrame(conn.execute(stmt).all(), columns=["held_on", "kind", "title", "network"])
    out["held_on"] = pd.to_datetime(out["held_on"])
    return out
