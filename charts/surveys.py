"""Survey charts: responses against the target trajectory, and responses by channel."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.theme import NHS_BLUE, NHS_DARK_GREY, NHS_PALE_GREY, SERIES_COLOURS, Chart, pct, style


def progress_chart(progress: pd.DataFrame, verdict: dict, title: str) -> Chart:
    """Cumulative responses against the straight line to the target (progress: day, responses,
    cumulative, trajectory), with daily responses as bars."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=progress["day"], y=progress["responses"], name="Responses that day",
                         marker=dict(color=NHS_PALE_GREY, line=dict(color=NHS_DARK_GREY, width=0.5)), opacity=0.7,
                         yaxis="y2", hovertemplate="%{x|%-d %b %Y}: %{y:,} responses<extra></extra>"))
    fig.add_trace(go.Scatter(x=progress["day"], y=progress["cumulative"], name="Responses so far",
                             mode="lines", line=dict(color=NHS_BLUE, width=4),
                             hovertemplate="%{x|%-d %b %Y}: %{y:,} so far<extra></extra>"))
    if progress["trajectory"].notna().any():
        fig.add_trace(go.Scatter(x=progress["day"], y=progress["trajectory"], name="Needed to reach target",
                                 mode="lines", line=dict(color=NHS_DARK_GREY, width=3, dash="dash"),
                                 hovertemplate="%{x|%-d %b %Y}: %{y:,.0f} needed<extra></extra>"))
    style(fig, height=440)
    fig.update_layout(yaxis=dict(title_text="Responses so far", rangemode="tozero"),
                      yaxis2=dict(title_text="Per day", overlaying="y", side="right", showgrid=False,
                                  rangemode="tozero"))
    data = progress.copy()
    data["day"] = data["day"].dt.strftime("%Y-%m-%d")
    data["trajectory"] = data["trajectory"].round(0)
    return Chart(fig, f"{title}: {verdict['sentence']}", data)


def channel_chart(daily: pd.DataFrame, channels: list[str]) -> Chart:
    """Responses per week by channel, stacked (daily: day, channel, responses)."""
    fig = go.Figure()
    if daily.empty:
        style(fig, height=380)
        return Chart(fig, "No responses yet, so there is no channel mix to show.", daily)
    weekly = (daily.assign(week=daily["day"].dt.to_period("W-SUN").dt.start_time)
              .groupby(["week", "channel"], as_index=False)["responses"].sum())
    patterns = ["", "/", ".", "x"]
    for i, channel in enumerate(channels):
        part = weekly[weekly["channel"] == channel]
        fig.add_trace(go.Bar(x=part["week"], y=part["responses"], name=channel,
                             marker_color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                             marker_pattern_shape=patterns[i % len(patterns)],
                             hovertemplate="Week of %{x|%-d %b}: %{y:,} " + channel.lower() + "<extra></extra>"))
    style(fig, height=400)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="Responses per week")
    totals = daily.groupby("channel")["responses"].sum().reindex(channels).fillna(0).astype(int)
    total = int(totals.sum())
    parts = [f"{c.lower()} {n:,} ({pct(n / total)})" for c, n in totals.items() if n]
    sentence = f"Of {total:,} responses: " + ", ".join(parts) + "."
    data = weekly.rename(columns={"week": "week starting"})
    data["week starting"] = data["week starting"].dt.strftime("%Y-%m-%d")
    return Chart(fig, sentence, data)
