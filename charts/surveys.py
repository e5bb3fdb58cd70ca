"""Survey charts: responses against the target trajectory, and responses by channel."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from charts.theme import (
    NHS_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, NHS_GREEN, NHS_PALE_GREY, SERIES_COLOURS, Chart, hidden_words, pct, plain_label,
    style,
)
from data_access.disclosure import format_count, format_percent, is_small, policy


def progress_chart(progress: pd.DataFrame, verdict: dict, title: str,
                   activities: pd.DataFrame | None = None) -> Chart:
    """Cumulative responses against the straight line to the target (progress: day, responses,
    cumulative, trajectory), with daily responses as bars and promotional activities (held_on, kind,
    title) marked as triangles on the cumulative line."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=progress["day"], y=progress["responses"], name="Responses that day",
                         marker=dict(color=NHS_PALE_GREY, line=dict(color=NHS_DARK_GREY, width=0.5)), opacity=0.7,
                         hovertemplate="%{x|%-d %b %Y}: %{y:,} responses<extra></extra>"))
    # The lines go on the overlaying axis (y2, on the left), so they are drawn above the daily bars.
    fig.add_trace(go.Scatter(x=progress["day"], y=progress["cumulative"], name="Responses so far",
                             mode="lines", line=dict(color=NHS_BLUE, width=4), yaxis="y2",
                             hovertemplate="%{x|%-d %b %Y}: %{y:,} so far<extra></extra>"))
    if progress["trajectory"].notna().any():
        fig.add_trace(go.Scatter(x=progress["day"], y=progress["trajectory"], name="Needed to reach target",
                                 mode="lines", line=dict(color=NHS_DARK_GREY, width=3, dash="dash"), yaxis="y2",
                                 hovertemplate="%{x|%-d %b %Y}: %{y:,.0f} needed<extra></extra>"))
    promo = _promotions_in(progress, activities)
    if len(promo):
        fig.add_trace(go.Scatter(
            x=promo["day"], y=promo["y"], name="Promotion (event, roadshow…)", mode="markers+text", yaxis="y2",
            marker=dict(symbol="triangle-down", size=18, color=NHS_DARK_PINK, line=dict(color="white", width=1)),
            text=[plain_label(k) for k in promo["kind"]], textposition="top center",
            textfont=dict(size=14, color=NHS_DARK_PINK),
            customdata=[plain_label(t) for t in promo["title"]], hovertemplate="%{x|%-d %b %Y}: %{customdata}<extra></extra>"))
    style(fig, height=460)
    # Round ticks on the left axis, set here: plotly would otherwise line them up with the right axis's gridlines.
    top = max(pd.to_numeric(progress["cumulative"], errors="coerce").max(skipna=True) or 0,
              pd.to_numeric(progress["trajectory"], errors="coerce").max(skipna=True) or 0, 0)
    ticks = nice_ticks(0 if pd.isna(top) else float(top))
    fig.update_layout(yaxis=dict(title_text="Per day", side="right", showgrid=False, rangemode="tozero"),
                      yaxis2=dict(title_text="Responses so far", overlaying="y", side="left", rangemode="tozero",
                                  gridcolor=NHS_PALE_GREY, tickfont=dict(size=16), tickmode="array",
                                  tickvals=ticks, ticktext=[f"{v:,.0f}" for v in ticks],
                                  range=[0, ticks[-1] * 1.04]))
    data = progress.copy()
    data["trajectory"] = data["trajectory"].round(0)
    if len(promo):
        names = promo.groupby("day")["title"].agg("; ".join)
        data["promotion"] = data["day"].map(names).fillna("")
    data["day"] = data["day"].dt.strftime("%Y-%m-%d")
    sentence = f"{title}: {verdict['sentence']}"
    if len(promo):
        sentence += f" {len(promo):,} promotional activit{'y is' if len(promo) == 1 else 'ies are'} marked."
    return Chart(fig, sentence, data)


def nice_ticks(top: float, most: int = 8) -> list[float]:
    """Round tick values from 0 to at least top: a step of 1, 2, 2.5 or 5 times a power of ten, with at most
    `most` steps (e.g. 3,871 -> 0, 500, ..., 4,000)."""
    if top <= 0:
        return [0.0, 1.0]
    power = 10 ** math.floor(math.log10(top / most)) if top >= most else 1
    step = next(m * power for m in (1, 2, 2.5, 5, 10)
                if top / (m * power) <= most and float(m * power).is_integer())
    if step < 1:
        step = 1
    count = math.ceil(top / step - 1e-9)
    return [float(i * step) for i in range(count + 1)]


def _promotions_in(progress: pd.DataFrame, activities: pd.DataFrame | None) -> pd.DataFrame:
    """Activities inside the chart's days, placed on the cumulative line (or the trajectory where the day
    has not happened yet)."""
    if activities is None or activities.empty or progress.empty:
        return pd.DataFrame(columns=["day", "kind", "title", "y"])
    promo = activities.assign(day=pd.to_datetime(activities["held_on"]))
    promo = promo[(promo["day"] >= progress["day"].min()) & (promo["day"] <= progress["day"].max())]
    level = progress.set_index("day")["cumulative"].fillna(progress.set_index("day")["trajectory"]).fillna(0)
    promo = promo.assign(y=promo["day"].map(level).fillna(0))
    return promo[["day", "kind", "title", "y"]].reset_index(drop=True)


def channel_chart(weekly: pd.DataFrame, channels: list[str]) -> Chart:
    """Responses per week by channel, stacked, with a sentence of each channel's total (weekly: as
    data_access.surveys.responses_by_week returns it, small numbers already hidden)."""
    fig = go.Figure()
    if weekly.empty:
        style(fig, height=380)
        return Chart(fig, "No responses yet, so there is no channel mix to show.", weekly)
    patterns = ["", "/", ".", "x"]
    for i, channel in enumerate(channels):
        part = weekly[weekly["channel"] == channel]
        fig.add_trace(go.Bar(x=part["week"], y=part["responses"], name=plain_label(channel),
                             marker_color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                             marker_pattern_shape=patterns[i % len(patterns)],
                             customdata=[plain_label(channel.lower())] * len(part),
                             hovertemplate="Week of %{x|%-d %b}: %{y:,} %{customdata}<extra></extra>"))
    style(fig, height=400)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="Responses per week")
    total, raw = weekly.attrs["total"], weekly.attrs["raw_totals"]

    def hidden(value) -> str:  # a hidden count: 'fewer than 5' where it is small, else 'not shown'
        return format_count(value) if is_small(value) else "not shown"

    parts = [f"{c.lower()} " + (hidden(raw[c]) if n is None else format_count(n) + (
             f" ({format_percent(n, total)})" if total is not None else ""))
             for c, n in weekly.attrs["totals"].items()]
    stated = hidden(weekly.attrs["raw_total"]) if total is None else format_count(total)
    sentence = f"Of {stated} responses: " + ", ".join(parts) + "."
    if weekly.attrs["hidden"]:
        sentence += (f" Figures of {_few()} responses are not shown, nor others from which they could be "
                     "worked out.")
    data = weekly.rename(columns={"week": "week starting"})
    data["week starting"] = data["week starting"].dt.strftime("%Y-%m-%d")
    return Chart(fig, sentence, data)


def glance_sentence(glance: pd.DataFrame) -> str:
    """All surveys in one sentence: how many are open, and the open ones against target
    (glance: from data_access.surveys.surveys_at_a_glance)."""
    n = len(glance)
    open_now = glance[glance["status"] == "Open"]
    text = (f"{n:,} survey{'s' if n != 1 else ''}: {len(open_now):,} open, "
            f"{int((glance['status'] == 'Closed').sum()):,} closed and {int((glance['status'] == 'Upcoming').sum()):,} "
            "still to come.")
    for row in open_now.itertuples():
        target = f" of a target of {int(row.target):,}" if not pd.isna(row.target) and row.target else ""
        count = (f"{format_count(row.responses)} responses{target}" if not getattr(row, "protected", False) else
                 "responses not shown (so that a small count elsewhere cannot be worked out)")
        text += f" {row.title}: {count}, {int(row.days_left):,} days left."
    rated = glance.dropna(subset=["per_1000", "responses"])
    rated = rated[rated["responses"] > 0]
    if len(rated):
        best = rated.loc[rated["per_1000"].idxmax()]
        text += f" The highest response rate was {best['title']}, {best['per_1000']:.1f} per 1,000 residents."
    return text


def glance_table(glance: pd.DataFrame) -> pd.DataFrame:
    """The at-a-glance table with readable headings and rounded figures."""
    out = glance[["title", "status", "opens_on", "closes_on", "responses", "target", "days_left", "per_1000",
                  "core20_share", "areas"]].copy()
    out["per_1000"] = out["per_1000"].round(1)
    out["core20_share"] = (out["core20_share"] * 100).round(0)
    return out.rename(columns={
        "title": "Survey", "status": "Status", "opens_on": "Opens", "closes_on": "Closes",
        "responses": "Responses", "target": "Target", "days_left": "Days left",
        "per_1000": "Per 1,000 residents", "core20_share": "Core20 %",
        "areas": "Areas covered"})


def reach_chart(reach: pd.DataFrame, core20_residents: float | None, under_35_residents: float | None = None) -> Chart:
    """Core20 and under-35 shares of respondents for each survey in date order, with the residents'
    shares as reference lines (reach: from data_access.surveys.reach_over_time)."""
    data = reach.sort_values(["opens_on", "id"]).reset_index(drop=True)
    when = pd.to_datetime(data["opens_on"])
    panel = data["panel"].astype(bool) if "panel" in data else pd.Series(False, index=data.index)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=when, y=data["core20_share"] * 100, name="Core20 (most deprived 20%) share",
                             mode="lines+markers", line=dict(color=NHS_BLUE, width=4),
                             marker=dict(size=12, symbol=["circle-open" if p else "circle" for p in panel],
                                         line=dict(width=3, color=NHS_BLUE)),
                             connectgaps=True, customdata=[plain_label(t) for t in data["title"]],
                             hovertemplate="%{customdata} (opened %{x|%b %Y}): %{y:.0f}% Core20<extra></extra>"))
    fig.add_trace(go.Scatter(x=when, y=data["under_35_share"] * 100, name="Under-35 share",
                             mode="lines+markers", line=dict(color=NHS_GREEN, width=4, dash="dash"),
                             marker=dict(size=12, symbol=["square-open" if p else "square" for p in panel],
                                         line=dict(width=3, color=NHS_GREEN)),
                             connectgaps=True, customdata=[plain_label(t) for t in data["title"]],
                             hovertemplate="%{customdata} (opened %{x|%b %Y}): %{y:.0f}% under 35<extra></extra>"))
    if panel.any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="Open marker: citizens' panel survey",
                                 marker=dict(size=12, symbol="circle-open", color=NHS_DARK_GREY, line=dict(width=3))))
    if core20_residents is not None:
        fig.add_hline(y=core20_residents * 100, line=dict(color=NHS_DARK_GREY, width=2, dash="dot"),
                      annotation_text=f"Core20 share of residents {pct(core20_residents)}",
                      annotation_position="top left", annotation_font_size=15)
    if under_35_residents is not None:
        fig.add_hline(y=under_35_residents * 100, line=dict(color=NHS_GREEN, width=2, dash="dot"),
                      annotation_text=f"Under-35 share of residents aged 16+ {pct(under_35_residents)}",
                      annotation_position="top left", annotation_font_size=15, annotation_font_color=NHS_GREEN)
    style(fig, height=480)
    fig.update_yaxes(title_text="% of respondents", ticksuffix="%", rangemode="tozero")
    fig.update_xaxes(title_text="Survey opening date (one point per survey)")
    table = data[["title", "opens_on", "responses", "with_area", "core20", "core20_share", "with_age", "under_35",
                  "under_35_share"]].copy()
    table["core20_share"] = (table["core20_share"] * 100).round(1)
    table["under_35_share"] = (table["under_35_share"] * 100).round(1)
    table = table.rename(columns={
        "title": "Survey", "opens_on": "Opened", "responses": "Responses", "with_area": "With a known area",
        "core20": "In Core20 areas", "core20_share": "Core20 share (%)", "with_age": "With a known age",
        "under_35": "Aged under 35", "under_35_share": "Under-35 share (%)"})
    open_to_all = data[~panel.to_numpy()] if (~panel).any() else data
    sentence = _reach_sentence(open_to_all, core20_residents, under_35_residents)
    if panel.any():
        sentence += (f" Surveys of the citizens' panel ({int(panel.sum()):,}, open markers) are left out of this "
                     "comparison: its members are invited rather than self-selected.")
    return Chart(fig, sentence, table)


def _reach_sentence(data: pd.DataFrame, core20_residents: float | None, under_35_residents: float | None) -> str:
    known = data.dropna(subset=["core20_share"])
    if known.empty:
        return "There are too few respondents with a known home area to show reach over time."
    first, last = known.iloc[0], known.iloc[-1]
    text = (f"Core20 share of respondents: {pct(first['core20_share'])} in {first['title']} "
            f"({first['opens_on']:%Y}), {pct(last['core20_share'])} in {last['title']} ({last['opens_on']:%Y})")
    text += (f", against {pct(core20_residents)} of residents." if core20_residents is not None else ".")
    young = data.dropna(subset=["under_35_share"])
    if len(young):
        a, b = young.iloc[0], young.iloc[-1]
        text += (f" Under-35 share: {pct(a['under_35_share'])} in {a['title']}, "
                 f"{pct(b['under_35_share'])} in {b['title']}")
        text += (f", against {pct(under_35_residents)} of residents aged 16 and over."
                 if under_35_residents is not None else ".")
    return text


def gaps_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """Representation on every dimension, outside tolerance first, with readable headings
    (gaps: from data_access.surveys.representation_gaps)."""
    out = gaps.copy()
    out["share"] = (out["share"] * 100).round(1)
    out["resident_share"] = (out["resident_share"] * 100).round(1)
    out["ratio"] = out["ratio"].round(2)
    out["outside"] = [("under-represented" if r < 1 else "over-represented") if o else
                      (f"{policy().hidden_label}: not shown" if s else "within tolerance")
                      for o, r, s in zip(out["outside"], out["ratio"], out["suppressed"])]
    out = out.drop(columns=["gap_pp", "suppressed"])
    return out.rename(columns={
        "dimension": "Dimension", "group": "Group", "count": "Respondents", "share": "Share of respondents (%)",
        "residents": "Residents", "resident_share": "Share of residents (%)", "ratio": "Representation ratio",
        "outside": "Against tolerance (0.8 to 1.25)"})


def gaps_sentence(gaps: pd.DataFrame, area: str) -> str:
    """How many groups are outside tolerance, and the furthest out, in words."""
    rated = gaps.dropna(subset=["ratio"])
    if rated.empty:
        return (f"There is no population data for {area} (or too few respondents), so respondents cannot be "
                "compared with residents.")
    outside = gaps[gaps["outside"]]
    if outside.empty:
        return f"Every group is within tolerance in {area}: representation ratios between 0.8 and 1.25."
    worst = outside.iloc[0]
    under = int((outside["ratio"] < 1).sum())
    return (f"{len(outside):,} groups are outside tolerance in {area} ({under:,} under-represented, "
            f"{len(outside) - under:,} over-represented). Furthest out: {worst['group']} "
            f"({worst['dimension'].lower()}) are {pct(worst['resident_share'])} of residents but "
            f"{pct(worst['share'])} of respondents (ratio {worst['ratio']:.2f}).")


def _few() -> str:
    """How a hidden count is described in a sentence: 'fewer than 5', or '1 to 7' under the HES rule."""
    return hidden_words()


def actions_sentence(actions: pd.DataFrame, title: str) -> str:
    """What was done about a survey, in words (actions: theme, status, ...)."""
    if actions.empty:
        return f"No actions have been recorded yet for {title}."
    counts = actions["status"].value_counts()
    parts = [f"{counts.get(s, 0):,} {s.lower()}" for s in ("Done", "In progress", "Planned") if counts.get(s, 0)]
    themes = ", ".join(dict.fromkeys(actions["theme"]))
    return f"{len(actions):,} action{'s' if len(actions) != 1 else ''} for {title}: {', '.join(parts)}. Themes raised: {themes}."
