"""Network growth charts: members over time with activities, joiners and leavers, growth per 1,000 residents,
recent growth, retention, recruitment channels, and the projection of each network's size."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.theme import (
    NHS_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, SERIES_COLOURS, SERIES_DASHES, SERIES_SYMBOLS, Chart,
    hidden_words, plain_label, signed, style,
)
from data_access.disclosure import format_count, is_small, policy


def members_over_time(frame: pd.DataFrame, area: str, totals: pd.DataFrame | None = None) -> Chart:
    """Members at each month end, one line per network (frame: network, month, members; small counts already
    hidden by data_access), with all networks' totals (totals: month, members) for the sentence."""
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby("network", sort=False)):
        fig.add_trace(go.Scatter(
            x=part["month"], y=[None if pd.isna(v) else v for v in part["members"]], name=plain_label(name), mode="lines",
            connectgaps=True,
            line=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)], width=3,
                      dash=SERIES_DASHES[i % len(SERIES_DASHES)]),
            hovertemplate="%{x|%B %Y}: %{y:,} members<extra>%{fullData.name}</extra>",
        ))
    style(fig, height=480)
    fig.update_yaxes(title_text="Members", rangemode="tozero")
    data = frame[["network", "month", "members"]].copy()
    data["month"] = data["month"].dt.strftime("%B %Y")
    if frame.empty:
        return Chart(fig, f"There are no network members in {area} for this period.", data)
    if totals is None:
        totals = frame.groupby("month", as_index=False)["members"].sum(min_count=1)
    totals = totals.sort_values("month")
    final_month = totals["month"].iloc[-1]
    # A month end hidden by the running-total rule is not "fewer than 5": the sentence uses the months shown.
    shown = totals.dropna(subset=["members"])
    names = list(frame["network"].drop_duplicates())
    subject = (f"{names[0]} in {area} went from" if len(names) == 1 else
               f"Across all networks in {area}, memberships went from")
    if shown.empty:
        sentence = f"{subject.rsplit(' went from', 1)[0]}: every month is hidden, so that a small number cannot be " \
                   "worked out."
        return Chart(fig, sentence.replace("Across all networks in", "For all networks in"), data)
    first, last = shown["month"].iloc[0], shown["month"].iloc[-1]
    start_total, end_total = shown["members"].iloc[0], shown["members"].iloc[-1]
    sentence = (f"{subject} {format_count(start_total)}{' members' if len(names) == 1 else ''} at the end of "
                f"{first:%B %Y} to {format_count(end_total)} by {last:%B %Y}")
    if not (is_small(start_total) or is_small(end_total)):
        sentence += f" ({signed(int(end_total) - int(start_total))})"
    if last != final_month:
        sentence += ", the latest month shown"
    sentence += "."
    if len(names) > 1:
        # Each network at its latest month shown (a network whose last month is hidden still counts).
        latest = frame.dropna(subset=["members"])
        latest = latest[latest["members"].map(lambda v: v > 0 and not is_small(v))]
        latest = latest.sort_values("month").groupby("network", sort=False).tail(1)
        if len(latest):
            biggest = latest.sort_values(["members", "network"], ascending=[False, True]).iloc[0]
            when = "" if biggest["month"] == final_month else f" at the end of {biggest['month']:%B %Y}"
            sentence += f" The largest is the {biggest['network']} with {format_count(biggest['members'])} members{when}."
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
    joined = totals.attrs.get("joined", totals["joiners"].sum())
    left = totals.attrs.get("left", totals["leavers"].sum())
    sentence = f"In this period {format_count(joined)} people joined a network in {area} and {format_count(left)} left"
    if not (pd.isna(joined) or pd.isna(left) or is_small(joined) or is_small(left)):
        sentence += f", a net change of {signed(int(joined) - int(left))}"
    sentence += "."
    shown = totals.dropna(subset=["joiners"])
    if len(shown) and shown["joiners"].max() > 0:
        busiest = shown.loc[shown["joiners"].astype(float).idxmax()]
        sentence += f" The most joined in {busiest['month']:%B %Y} ({format_count(busiest['joiners'])})."
    hidden = int(totals["joiners"].isna().sum() + totals["leavers"].isna().sum())
    if hidden:
        sentence += f" Months with {_few()} people joining or leaving are not shown."
    return Chart(fig, sentence, data)


def _few() -> str:
    """How a hidden count is described in a sentence: 'fewer than 5', or '1 to 7' under the HES rule."""
    return hidden_words()


# --- Growth for the size of each area -----------------------------------------------------------

def _fmt_rate(v) -> str:
    return f"not shown ({_few()} people)" if pd.isna(v) else f"{v:,.1f}"


def growth_per_1000_chart(growth: pd.DataFrame, level_label: str, area: str, which: str,
                          chosen: str | None = None) -> Chart:
    """Net growth and joiners per 1,000 residents per area (growth: from data_access.networks.growth_by_area);
    the chosen area, if any, is marked in its label."""
    frame = growth.sort_values("net_per_1000", ascending=True, na_position="first")
    if chosen:
        frame = frame.assign(area=[f"▶ {a} (chosen)" if a == chosen else a for a in frame["area"]])
    fig = go.Figure()
    fig.add_trace(go.Bar(y=frame["area"], x=frame["joiners_per_1000"], name="Joined per 1,000 residents",
                         orientation="h", marker=dict(color="white", line=dict(color=NHS_BLUE, width=2)),
                         marker_pattern_shape="/", hovertemplate="%{y}: %{x:.1f} joined per 1,000<extra></extra>"))
    fig.add_trace(go.Bar(y=frame["area"], x=frame["net_per_1000"], name="Net growth per 1,000 residents",
                         orientation="h", marker_color=NHS_BLUE, text=[
                             "" if pd.isna(v) else f"{v:+.2f}" for v in frame["net_per_1000"]],
                         textposition="outside", cliponaxis=False,
                         hovertemplate="%{y}: net %{x:+.1f} per 1,000<extra></extra>"))
    style(fig, height=max(340, 130 + 60 * len(frame)))
    fig.update_layout(barmode="group", margin=dict(r=70, t=60),
                      legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="left", x=0))
    fig.update_xaxes(title_text="People per 1,000 residents", zeroline=True, zerolinecolor=NHS_DARK_GREY)
    data = growth.rename(columns={
        "area": level_label, "members_start": "Members at start", "members_end": "Members at end",
        "joiners": "Joined", "leavers": "Left", "net": "Net growth", "residents": "Residents",
        "members_per_1000": "Members per 1,000", "joiners_per_1000": "Joined per 1,000",
        "net_per_1000": "Net growth per 1,000"}).round(2)
    shown = growth.dropna(subset=["net_per_1000"])
    if not growth.empty and growth[["members_end", "joiners", "leavers"]].fillna(1).sum().sum() == 0:
        return Chart(fig, f"No one was a member of, joined or left {which} in {area} in this period.", data)
    if shown.empty:
        return Chart(fig, f"There are too few members of {which} in {area} to compare areas.", data)
    hi, lo = shown.loc[shown["net_per_1000"].idxmax()], shown.loc[shown["net_per_1000"].idxmin()]
    level_words = "ICP area" if level_label == "ICP area" else level_label.lower()
    sentence = (f"For {which} in {area}, net growth for the size of the {level_words} was highest in "
                f"{hi['area']} ({hi['net_per_1000']:+.2f} per 1,000 residents, {int(hi['net']):+,} members)")
    if lo["area"] != hi["area"]:
        sentence += f" and lowest in {lo['area']} ({lo['net_per_1000']:+.2f} per 1,000, {int(lo['net']):+,})"
    sentence += "."
    hidden = int(growth["net_per_1000"].isna().sum())
    if hidden:
        sentence += f" {hidden} with {_few()} people joining, leaving or in the network are not shown."
    return Chart(fig, sentence, data)


def about(n: int) -> str:
    """A count as a board report would say it: about 140 (nearest 10 from 100, nearest 5 below)."""
    step = 10 if abs(n) >= 100 else 5 if abs(n) >= 20 else 1
    return f"{int(round(n / step) * step):,}"


def _people(n: int) -> str:
    return f"{about(n)} member{'' if about(n) == '1' else 's'}"


def _joined(which: str) -> str:
    return "a network" if which == "all networks" else which


def recent_growth_chart(recent: pd.DataFrame, area: str) -> Chart:
    """Net growth of each network over the last two months (recent: from data_access.networks.recent_growth)."""
    frame = recent.sort_values("net", ascending=True, na_position="first")
    fig = go.Figure(go.Bar(
        y=[plain_label(n) for n in frame["network"]], x=frame["net"], orientation="h", marker_color=NHS_BLUE,
        text=[policy().hidden_label if pd.isna(v) else f"{v:+,.0f}" for v in frame["net"]], textposition="outside",
        cliponaxis=False, hovertemplate="%{y}: net %{x:+,}<extra></extra>", name="Net growth"))
    style(fig, height=max(320, 100 + 55 * len(frame)))
    fig.update_layout(margin=dict(r=90), showlegend=False)
    fig.update_xaxes(title_text="Net change in members", zeroline=True, zerolinecolor=NHS_DARK_GREY)
    data = recent.drop(columns=["joiners_small", "leavers_small"], errors="ignore")
    for col in ("window_start", "window_end"):
        data[col] = pd.to_datetime(data[col]).dt.strftime("%-d %B %Y")
    data = data.rename(columns={"network": "Network", "window_start": "From", "window_end": "To",
                                "members_before": "Members before", "members_end": "Members at end",
                                "joiners": "Joined", "leavers": "Left", "net": "Net growth"})
    if recent.empty:
        return Chart(fig, "There are no networks to report.", data)
    start, end = pd.Timestamp(recent["window_start"].iloc[0]), pd.Timestamp(recent["window_end"].iloc[0])

    def count_words(r, col: str) -> str:
        """A count as shown, 'fewer than 5' where it is small, 'not shown' where it is hidden to protect one."""
        if not pd.isna(r[col]):
            return format_count(r[col])
        return _few() if bool(r.get(f"{col}_small", True)) else "not shown"

    parts = []
    for _, r in recent.sort_values("net", ascending=False, na_position="last").iterrows():
        flows = f"{count_words(r, 'joiners')} joined, {count_words(r, 'leavers')} left"
        if pd.isna(r["net"]):
            parts.append(f"{r['network']}: {flows}")
        elif r["net"] == 0 and r["joiners"] == 0 and r["leavers"] == 0:
            parts.append(f"{r['network']}: no one joined or left")
        elif r["net"] == 0:
            parts.append(f"{r['network']} stayed the same size ({flows})")
        elif r["net"] > 0:
            parts.append(f"{r['network']} grew by about {_people(int(r['net']))} ({flows})")
        else:
            parts.append(f"{r['network']} shrank by about {_people(-int(r['net']))} ({flows})")
    sentence = f"In the last two months ({start:%-d %B} to {end:%-d %B %Y}) in {area}: " + "; ".join(parts) + "."
    return Chart(fig, sentence, data)


# --- Retention --------------------------------------------------------------------------------------

def retention_chart(retention: pd.DataFrame, area: str, which: str) -> Chart:
    """Share of each quarter's joiners still members 6 and 12 months on (from data_access.retention)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=retention["cohort"], y=retention["share_6"] * 100, name="Still a member after 6 months",
                         marker_color=NHS_BLUE, hovertemplate="%{x}: %{y:.0f}% after 6 months<extra></extra>",
                         text=["" if pd.isna(v) else f"{v:.0%}" for v in retention["share_6"]], textposition="outside"))
    fig.add_trace(go.Bar(x=retention["cohort"], y=retention["share_12"] * 100, name="Still a member after 12 months",
                         marker=dict(color=NHS_DARK_BLUE, pattern_shape="x"),
                         hovertemplate="%{x}: %{y:.0f}% after 12 months<extra></extra>",
                         text=["" if pd.isna(v) else f"{v:.0%}" for v in retention["share_12"]], textposition="outside"))
    waiting = retention[retention["share_6"].isna()]
    fig.add_trace(go.Scatter(x=waiting["cohort"], y=[6] * len(waiting), mode="text", showlegend=False,
                             text=["not yet" if pd.isna(r) or r > 0 else "none" for r in waiting["joiners"]],
                             textfont=dict(size=15, color=NHS_DARK_GREY), hoverinfo="skip"))
    style(fig, height=440)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text="Share still members", ticksuffix="%", range=[0, 112])
    fig.update_xaxes(title_text="Quarter joined")
    data = retention.rename(columns={
        "cohort": "Quarter joined", "quarter_start": "Quarter starts", "joiners": "Joined",
        "still_6": "Still members after 6 months", "share_6": "Share after 6 months",
        "still_12": "Still members after 12 months", "share_12": "Share after 12 months"}).round(3)
    shown6 = retention.dropna(subset=["share_6"])
    if shown6.empty:
        return Chart(fig, f"None of these quarters' joiners to {_joined(which)} in {area} can be followed for 6 months yet, "
                          "or there are too few of them.", data)
    last6 = shown6.iloc[-1]
    sentence = (f"Of the people who joined {_joined(which)} in {area} in {last6['cohort']}, {last6['share_6']:.0%} were "
                f"still members 6 months later")
    shown12 = retention.dropna(subset=["share_12"])
    if not shown12.empty:
        last12 = shown12.iloc[-1]
        sentence += f"; of those who joined in {last12['cohort']}, {last12['share_12']:.0%} were after 12 months"
    sentence += (f". Across the quarters shown, 6-month retention ranged from {shown6['share_6'].min():.0%} "
                 f"to {shown6['share_6'].max():.0%}. Recent quarters cannot be followed up yet.")
    return Chart(fig, sentence, data)


# --- Recruitment channels -----------------------------------------------------------------------------

def channel_joiners_chart(frame: pd.DataFrame, area: str, which: str, totals: pd.DataFrame | None = None) -> Chart:
    """Joiners each month by recruitment channel (frame: month, channel, joiners), with each channel's total
    for the period (totals: channel, joiners; from data_access.retention.channel_totals) for the sentence."""
    fig = go.Figure()
    channels = list(dict.fromkeys(frame["channel"]))
    for i, channel in enumerate(channels):
        part = frame[frame["channel"] == channel]
        fig.add_trace(go.Scatter(
            x=part["month"], y=part["joiners"].astype("Float64").astype(float), name=plain_label(channel),
            mode="lines+markers",
            line=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)], width=3, dash=SERIES_DASHES[i % len(SERIES_DASHES)]),
            marker=dict(symbol=SERIES_SYMBOLS[i % len(SERIES_SYMBOLS)], size=9),
            hovertemplate="%{x|%B %Y}: %{y:,} joined<extra>%{fullData.name}</extra>"))
    style(fig, height=460)
    fig.update_yaxes(title_text="People joining", rangemode="tozero")
    data = frame.assign(month=frame["month"].dt.strftime("%B %Y")).rename(
        columns={"month": "Month", "channel": "Channel", "joiners": "Joined"})
    if frame.empty:
        return Chart(fig, f"No one joined {_joined(which)} in {area} in this period.", data)
    if totals is None:
        totals = frame.groupby("channel", as_index=False)["joiners"].sum(min_count=1)
    known = totals.dropna(subset=["joiners"]).sort_values("joiners", ascending=False)
    known = known[known["joiners"] > 0]
    if known.empty:
        return Chart(fig, f"Too few people joined {_joined(which)} in {area} in this period to show channels.", data)
    total = totals.attrs.get("total", known["joiners"].sum())
    top = known.iloc[0]
    sentence = (f"Of the people who joined {_joined(which)} in {area} in this period, the most came through "
                f"{top['channel']} ({format_count(top['joiners'])}"
                + (f", {top['joiners'] / total:.0%})" if total and not pd.isna(total) else ")"))
    if len(known) > 1:
        sentence += f" and the fewest through {known.iloc[-1]['channel']} ({format_count(known.iloc[-1]['joiners'])})"
    return Chart(fig, sentence + f". Months and channels with {_few()} joiners, and some others from which one could "
                 "be worked out, are left out.", data)


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def channel_mix_chart(mix: pd.DataFrame, dimension_label: str, area: str) -> Chart:
    """Representation ratio of each channel's joiners against residents, by group, as a labelled grid."""
    known = mix[mix["stated"].astype(bool)]
    channels = list(dict.fromkeys(known["channel"]))
    groups = list(dict.fromkeys(known["group"]))
    grid = known.pivot(index="channel", columns="group", values="ratio").reindex(index=channels, columns=groups)
    share = known.pivot(index="channel", columns="group", values="share").reindex(index=channels, columns=groups)
    text = [[(policy().hidden_label if pd.isna(grid.iloc[i, j]) else f"×{grid.iloc[i, j]:.2f}<br>{share.iloc[i, j]:.0%}")
             for j in range(len(groups))] for i in range(len(channels))]
    fig = go.Figure(go.Heatmap(
        z=grid.clip(upper=2).values, x=[plain_label(g) for g in groups], y=[plain_label(c) for c in channels],
        text=text, texttemplate="%{text}",
        textfont=dict(size=15, color="#212B32"), zmin=0, zmax=2, zmid=1,
        colorscale=[[0, NHS_DARK_PINK], [0.5, "#ffffff"], [1, NHS_BLUE]],
        colorbar=dict(title="Ratio", tickvals=[0, 0.5, 1, 1.5, 2], ticktext=["0", "0.5", "1", "1.5", "2+"]),
        hovertemplate="%{y}, %{x}: %{text}<extra></extra>"))
    style(fig, height=max(340, 120 + 62 * len(channels)))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(side="top", title_text=f"{dimension_label}: ratio of share of joiners to share of residents")
    data = mix.rename(columns={"channel": "Channel", "group": dimension_label, "count": "Joined",
                               "share": "Share of channel's joiners", "residents": "Residents",
                               "resident_share": "Share of residents", "ratio": "Representation ratio",
                               "gap_pp": "Gap (percentage points)"}).drop(columns=["stated", "suppressed"]).round(3)
    shown = known.dropna(subset=["ratio"])
    if shown.empty:
        return Chart(fig, f"There are too few joiners in {area} to compare channels by {_first_lower(dimension_label)}.",
                     data)
    low = shown.loc[shown["ratio"].idxmin()]
    high = shown.loc[shown["ratio"].idxmax()]
    sentence = (f"By {_first_lower(dimension_label)} in {area}: {high['channel']} brought the most over-represented "
                f"group, {high['group']} ({high['share']:.0%} of its joiners against {high['resident_share']:.0%} of "
                f"residents, ratio {high['ratio']:.2f}); {low['channel']} the least represented, {low['group']} "
                f"({low['share']:.0%} against {low['resident_share']:.0%}, ratio {low['ratio']:.2f}). A ratio of 1 "
                "means a channel's joiners match residents.")
    return Chart(fig, sentence, data)


# --- Activities on the timeline -------------------------------------------------------------------

def growth_timeline(frame: pd.DataFrame, activities: pd.DataFrame, area: str,
                    totals: pd.DataFrame | None = None) -> Chart:
    """Members over time with the networks' activities (campaigns, events) marked, so a jump can be tied
    to its cause (frame: network, month, joiners, members; totals: month, joiners, members for all networks;
    activities: held_on, kind, title, network)."""
    chart = members_over_time(frame, area, totals)
    fig = chart.figure
    # a small count (already hidden by data_access, or in a hand-made frame): its line and table values are not shown
    for trace in fig.data:
        trace.y = [None if v is None or pd.isna(v) or is_small(v) else v for v in trace.y]
    chart.data["members"] = chart.data["members"].astype("Int64").mask(chart.data["members"].map(is_small))
    if not activities.empty:
        for day in activities["held_on"].drop_duplicates():
            fig.add_vline(x=day, line=dict(color="#8a8a8a", width=1, dash="dot"))
        fig.add_trace(go.Scatter(
            x=activities["held_on"], y=[0] * len(activities), mode="markers", name="Activity (campaign, event)",
            marker=dict(symbol="triangle-up", size=16, color="#FFB81C", line=dict(color="#212B32", width=1.5)),
            customdata=activities[["title", "kind"]].map(plain_label).values,
            hovertemplate="%{x|%-d %B %Y}: %{customdata[0]}<extra>%{customdata[1]}</extra>"))
    sentence = chart.sentence
    if totals is None:
        totals = frame.groupby("month", as_index=False)[["joiners", "members"]].sum(min_count=1)
    if frame.empty or (totals["members"].fillna(0).sum() == 0 and totals["joiners"].fillna(0).sum() == 0
                       and not totals[["members", "joiners"]].isna().any().any()):
        return Chart(fig, f"There are no network members in {area} for this period.", chart.data)
    if len(activities):
        sentence += f" {len(activities):,} network activit{'y is' if len(activities) == 1 else 'ies are'} marked " \
                    "(triangles)."
    shown = totals.dropna(subset=["joiners"])
    if len(shown) and shown["joiners"].max() > 0:
        busiest = shown.loc[shown["joiners"].astype(float).idxmax()]
        month = pd.Timestamp(busiest["month"])
        near = activities[(activities["held_on"] >= month - pd.DateOffset(months=1))
                          & (activities["held_on"] < month + pd.DateOffset(months=1))] if not activities.empty \
            else activities
        sentence += f" The most people joined in {month:%B %Y} ({format_count(busiest['joiners'])})"
        if len(near):
            first = near.iloc[0]
            sentence += (f", around the {_first_lower(first['title'])} ({first['kind'].lower()}, "
                         f"{first['held_on']:%-d %B %Y})")
        else:
            sentence += ", with no network activity recorded that month or the month before"
        sentence += "."
    hidden_month = frame["members"].map(lambda v: v is None or pd.isna(v) or is_small(v)) if len(frame) else []
    gaps = frame.loc[hidden_month, "network"].nunique() if len(frame) else 0
    if gaps:
        sentence += (f" {gaps} network{'s have' if gaps > 1 else ' has'} months not shown (a break in its line): "
                     f"{_few()} people, or a count from which a small number could be worked out.")
    data = chart.data
    if not activities.empty:
        acts = activities.assign(held_on=activities["held_on"].dt.strftime("%-d %B %Y")).rename(columns={
            "held_on": "month", "kind": "activity", "title": "title"})
        data = pd.concat([data.assign(activity="", title=""), acts[["month", "network", "activity", "title"]]],
                         ignore_index=True)
    return Chart(fig, sentence, data)


# --- Projection -------------------------------------------------------------------------------------------

def project_sizes(monthly: pd.DataFrame, complete: pd.DataFrame, targets: dict, end, horizon: int = 12) -> pd.DataFrame:
    """Each network's size `horizon` months ahead at its current rate, with a 95% band, and when its target
    would be reached.

    monthly: network, month, members (members at the period end in the last row of each network);
    complete: the same for complete months only (their net changes give the rate). The band treats size as a
    random walk with drift: +/- 1.96 x sd x sqrt(h x (1 + h / n)) after h months, sd and n from the monthly
    net changes. Columns: network, members, rate, sd, months_used, projected, low, high, target, target_date,
    target_status ("reached", "on course", "not at this rate", "not within 20 years", "no target").
    """
    rows = []
    end = pd.Timestamp(end)
    for name, part in monthly.groupby("network", sort=False):
        nets = complete.loc[complete["network"] == name, "net"].astype(float)
        n = len(nets)
        current = float(part["members"].iloc[-1])
        rate = float(nets.mean()) if n else float("nan")
        sd = float(nets.std(ddof=1)) if n >= 2 else float("nan")
        half = 1.96 * sd * (horizon * (1 + horizon / n)) ** 0.5 if n >= 2 else float("nan")
        projected = current + horizon * rate if n else float("nan")
        target = targets.get(name)
        status, when = "no target", None
        if target is not None and not pd.isna(target):
            if current >= target:
                status = "reached"
            elif n and rate > 0:
                months = int(-(-(target - current) // rate))
                if months > 240:
                    status = "not within 20 years"
                else:
                    status, when = "on course", (end + pd.DateOffset(months=months)).date()
            else:
                status = "not at this rate"
        rows.append(dict(network=name, members=int(current), rate=rate, sd=sd, months_used=n, projected=projected,
                         low=max(projected - half, 0) if not pd.isna(half) else float("nan"),
                         high=projected + half if not pd.isna(half) else float("nan"),
                         target=None if target is None or pd.isna(target) else int(target), target_date=when,
                         target_status=status))
    return pd.DataFrame(rows, columns=["network", "members", "rate", "sd", "months_used", "projected", "low", "high",
                                       "target", "target_date", "target_status"])


def projection_chart(monthly: pd.DataFrame, projection: pd.DataFrame, end, area: str, horizon: int = 12,
                     show_targets: bool = True) -> Chart:
    """History and a dashed projection with its 95% band for each network."""
    end = pd.Timestamp(end)
    ahead = end + pd.DateOffset(months=horizon)
    fig = go.Figure()
    for i, row in projection.reset_index(drop=True).iterrows():
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        if is_small(row["members"]):
            continue
        hist = monthly[monthly["network"] == row["network"]]
        fig.add_trace(go.Scatter(x=hist["month"], y=hist["members"], mode="lines", name=plain_label(row["network"]),
                                 legendgroup=row["network"], line=dict(color=colour, width=3),
                                 hovertemplate="%{x|%B %Y}: %{y:,}<extra>%{fullData.name}</extra>"))
        if pd.isna(row["projected"]) or is_small(row["members"]):
            continue
        if not pd.isna(row["low"]):
            fig.add_trace(go.Scatter(x=[end, ahead, ahead, end], y=[row["members"], row["high"], row["low"], row["members"]],
                                     fill="toself", mode="lines", line=dict(width=0), fillcolor=colour, opacity=0.15,
                                     legendgroup=row["network"], showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[end, ahead], y=[row["members"], row["projected"]], mode="lines+markers",
                                 line=dict(color=colour, width=3, dash="dash"), marker=dict(size=8),
                                 legendgroup=row["network"], showlegend=False,
                                 hovertemplate="%{x|%B %Y}: about %{y:,.0f}<extra>projected</extra>"))
        if show_targets and row["target"] is not None and not pd.isna(row["target"]) and len(projection) == 1:
            fig.add_hline(y=row["target"], line=dict(color="#de1b1b", width=2, dash="dot"),
                          annotation_text=f"Target {int(row['target']):,}", annotation_position="top left")
    style(fig, height=500)
    fig.update_yaxes(title_text="Members", rangemode="tozero")
    data = projection.copy()
    small = data["members"].map(is_small)
    data.loc[small, ["members", "rate", "sd", "projected", "low", "high"]] = float("nan")
    data["target_date"] = [("" if d is None or pd.isna(d) else f"{pd.Timestamp(d):%B %Y}") for d in data["target_date"]]
    data = data.round(1).rename(columns={
        "network": "Network", "members": "Members now", "rate": "Mean net change a month", "sd": "Standard deviation",
        "months_used": "Months used", "projected": f"Projected in {horizon} months", "low": "Low (95%)",
        "high": "High (95%)", "target": "Target", "target_date": "Target reached by", "target_status": "Target status"})
    if projection.empty or projection["projected"].isna().all():
        return Chart(fig, f"There are not enough complete months in {area} to project from.", data)
    parts = []
    for _, r in projection.dropna(subset=["projected"]).iterrows():
        if r["members"] == 0 and r["rate"] == 0:
            continue
        if is_small(r["members"]):
            parts.append(f"{r['network']}: {_few()} members")
            continue
        text = (f"{r['network']}: about {r['projected']:,.0f} by {ahead:%B %Y}"
                + (f" (95% range {r['low']:,.0f} to {r['high']:,.0f})" if not pd.isna(r["low"]) else "")
                + f", from {r['members']:,} at {r['rate']:+,.1f} a month")
        if show_targets:
            if r["target_status"] == "on course":
                text += f"; target {int(r['target']):,} reached by about {pd.Timestamp(r['target_date']):%B %Y}"
            elif r["target_status"] == "reached":
                text += f"; target {int(r['target']):,} already reached"
            elif r["target_status"] == "not at this rate":
                text += f"; target {int(r['target']):,} not reached at this rate"
            elif r["target_status"] == "not within 20 years":
                text += f"; target {int(r['target']):,} not reached within 20 years at this rate"
        parts.append(text)
    if not parts:
        return Chart(fig, f"No network has members in {area} to project from.", data)
    return Chart(fig, "At the current rate (mean monthly net change over the last complete months): "
                 + "; ".join(parts) + ".", data)
