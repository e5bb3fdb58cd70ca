"""Network growth charts: members over time, and monthly joiners and leavers."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.theme import (
    NHS_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, SERIES_COLOURS, SERIES_DASHES, Chart, signed, style,
)


def members_over_time(frame: pd.DataFrame, area: str) -> Chart:
    """Members at each month end, one line per network (frame: network, month, members)."""
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby("network", sort=False)):
        fig.add_trace(go.Scatter(
            x=part["month"], y=part["members"], name=name, mode="lines",
            line=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)], width=3,
                      dash=SERIES_DASHES[i % len(SERIES_DASHES)]),
            hovertemplate="%{x|%B %Y}: %{y:,} members<extra>" + name + "</extra>",
        ))
    style(fig, height=480)
    fig.update_yaxes(title_text="Members", rangemode="tozero")
    data = frame[["network", "month", "members"]].copy()
    data["month"] = data["month"].dt.strftime("%B %Y")
    if frame.empty:
        return Chart(fig, f"There are no network members in {area} for this period.", data)
    first, last = frame["month"].min(), frame["month"].max()
    start_total = int(frame.loc[frame["month"] == first, "members"].sum())
    end_total = int(frame.loc[frame["month"] == last, "members"].sum())
    latest = frame[frame["month"] == last].sort_values("members", ascending=False)
    biggest = latest.iloc[0]
    sentence = (
        f"Across all networks in {area}, memberships went from {start_total:,} at the end of "
        f"{first:%B %Y} to {end_total:,} by {last:%B %Y} ({signed(end_total - start_total)}). "
        f"The largest is the {biggest['network']} with {int(biggest['members']):,} members."
    )
    return Chart(fig, sentence, data)


def joiners_and_leavers(totals: pd.DataFrame, area: str) -> Chart:
    """Monthly joiners (up), leavers (down) and net change (line) (totals: month, joiners, leavers, net)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=totals["month"], y=totals["joiners"], name="Joined", marker_color=NHS_BLUE,
                         hovertemplate="%{x|%B %Y}: %{y:,} joined<extra></extra>"))
    fig.add_trace(go.Bar(x=totals["month"], y=-totals["leavers"], name="Left", marker_color=NHS_DARK_PINK,
                         marker_pattern_shape="/",
                         customdata=totals["leavers"], hovertemplate="%{x|%B %Y}: %{customdata:,} left<extra></extra>"))
    fig.add_trace(go.Scatter(x=totals["month"], y=totals["net"], name="Net change", mode="lines+markers",
                             line=dict(color=NHS_DARK_GREY, width=2), marker=dict(symbol="diamond", size=6),
                             hovertemplate="%{x|%B %Y}: net %{y:+,}<extra></extra>"))
    style(fig, height=440)
    fig.update_layout(barmode="relative")
    fig.update_yaxes(title_text="People per month")
    data = totals[["month", "joiners", "leavers", "net"]].copy()
    data["month"] = data["month"].dt.strftime("%B %Y")
    if totals.empty:
        return Chart(fig, f"No one joined or left a network in {area} in this period.", data)
    joined, left = int(totals["joiners"].sum()), int(totals["leavers"].sum())
    busiest = totals.loc[totals["joiners"].idxmax()]
    sentence = (
        f"In this period {joined:,} people joined a network in {area} and {left:,} left, a net change of "
        f"{signed(joined - left)}. The most joined in {busiest['month']:%B %Y} ({int(busiest['joiners']):,})."
    )
    return Chart(fig, sentence, data)
