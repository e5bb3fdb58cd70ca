"""Question charts: Likert scales as diverging stacked bars, choices as bars with n, free-text themes,
breakdowns by group and weighted beside unweighted results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.theme import (
    NHS_BLUE, NHS_BRIGHT_BLUE, NHS_DARK_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, SERIES_COLOURS, Chart, hidden_words, pct, plain_label, style,
)
from data_access.disclosure import format_count, is_small, policy, round_count, round_estimate

NHS_PINK = "#AE2573"
NHS_MID_GREY = "#768692"
PATTERNS = ["", "/", ".", "x", "-", "|", "+", "\\"]
TOP_LEGEND = dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, traceorder="normal")


def _lead(question: str) -> str:
    """The question as the start of a sentence: 'Q1. Agree?' stays, 'Q1. Services used' gets a colon."""
    return question if question.rstrip().endswith(("?", ".", "!")) else question + ":"


def _scale_colours(k: int) -> list[str]:
    """Colours for a k-point scale: pinks for disagreeing, grey for the middle, blues for agreeing."""
    half = k // 2
    low = [NHS_DARK_PINK, NHS_PINK][-half:] if half <= 2 else [NHS_DARK_PINK] * (half - 1) + [NHS_PINK]
    high = [NHS_BRIGHT_BLUE, NHS_DARK_BLUE][:half] if half <= 2 else [NHS_BRIGHT_BLUE] + [NHS_DARK_BLUE] * (half - 1)
    return low + [NHS_MID_GREY] * (k - 2 * half) + high


def likert_parts(shares: list[float], k: int) -> dict:
    """Disagreeing (lower half), neutral (middle) and agreeing (upper half) shares of a k-point scale."""
    s = np.nan_to_num(np.asarray(shares, dtype=float))
    half = k // 2
    return {"disagree": float(s[:half].sum()), "neutral": float(s[half:k - half].sum()),
            "agree": float(s[k - half:].sum())}


def likert_chart(frame: pd.DataFrame, options: list[str], question: str, row_col: str | None = None,
                 dimension_label: str = "") -> Chart:
    """Diverging stacked bars: disagreeing to the left of zero, agreeing to the right, the middle
    answer split across zero. frame: option, count, share, n (and row_col for one bar per group)."""
    data = frame.copy()
    if row_col is None:
        row_col = "row"
        data[row_col] = "All respondents"
    rows = list(dict.fromkeys(data[row_col]))
    k = len(options)
    half = k // 2
    colours = _scale_colours(k)
    wide = data.pivot_table(index=row_col, columns="option", values="share", aggfunc="first", dropna=False)
    wide = wide.reindex(index=rows, columns=options)
    n_by_row = data.groupby(row_col, sort=False)["n"].first().reindex(rows)
    labels = [f"{plain_label(r)} (n={format_count(n)})" for r, n in n_by_row.items()]
    fig = go.Figure()
    order = []  # (option index, side, share scale): traces nearest zero first on each side
    if k % 2:
        order.append((half, -1, 0.5))
    order += [(i, -1, 1.0) for i in range(half - 1, -1, -1)]
    if k % 2:
        order.append((half, 1, 0.5))
    order += [(i, 1, 1.0) for i in range(k - half, k)]
    shown = set()
    for i, side, scale in order:
        values = wide[options[i]].astype(float) * 100
        x = side * values * scale
        text = [f"{v:.0f}%" if (scale == 1.0 or side > 0) and not np.isnan(v) and v >= 8 else "" for v in values]
        fig.add_trace(go.Bar(
            y=labels, x=x, orientation="h", name=plain_label(options[i]), legendgroup=options[i],
            showlegend=options[i] not in shown, legendrank=i,
            marker=dict(color=colours[i], line=dict(color="white", width=1)),
            text=text, textposition="inside", insidetextanchor="middle", textangle=0,
            textfont=dict(color="white", size=16),
            customdata=values, hovertemplate="%{y}<br>%{fullData.name}: %{customdata:.1f}%<extra></extra>"))
        shown.add(options[i])
    style(fig, height=max(260, 170 + 60 * len(rows)))
    fig.update_layout(barmode="relative", bargap=0.3, legend=TOP_LEGEND)
    ticks = [-100, -75, -50, -25, 0, 25, 50, 75, 100]
    fig.update_xaxes(range=[-102, 102], tickvals=ticks, ticktext=[f"{abs(t)}%" for t in ticks],
                     title_text="← disagree    % of those who answered    agree →", zeroline=True,
                     zerolinecolor=NHS_DARK_GREY, zerolinewidth=2)
    fig.update_yaxes(autorange="reversed")
    table = data[[c for c in (row_col, "option", "count", "n", "share") if c in data]].copy()
    table["share"] = (table["share"] * 100).round(1)
    if "n" in table:
        table["n"] = _published(table["n"])
    table = table.rename(columns={row_col: "group", "share": "share (%)", "n": "answered"})
    if row_col == "row":
        table = table.drop(columns="group")
    return Chart(fig, _likert_sentence(wide, n_by_row, options, question, dimension_label), table)


def _likert_sentence(wide: pd.DataFrame, n_by_row: pd.Series, options: list[str], question: str,
                     dimension_label: str = "") -> str:
    k = len(options)
    # a row with any hidden share is not described (its other shares would not add up)
    parts = {r: likert_parts(wide.loc[r].tolist(), k) for r in wide.index if not wide.loc[r].isna().any()}
    hidden = len(wide.index) - len(parts)
    if len(wide.index) > 1 and any(r not in UNSTATED for r in parts):
        parts = {r: p for r, p in parts.items() if r not in UNSTATED}
    if not parts:
        return f"{_lead(question)} there are too few answers in each group to show."
    if len(wide.index) == 1:
        r = wide.index[0]
        p = parts[r]
        return (f"{_lead(question)} {pct(p['agree'])} agreed and {pct(p['disagree'])} disagreed "
                f"({format_count(n_by_row[r])} answered).")
    best = max(parts, key=lambda r: parts[r]["agree"])
    worst = min(parts, key=lambda r: parts[r]["agree"])
    text = (f"{_lead(question)} Agreement was highest among {_group_name(best, dimension_label)} "
            f"({pct(parts[best]['agree'])} of {format_count(n_by_row[best])}) and lowest among "
            f"{_group_name(worst, dimension_label)} ({pct(parts[worst]['agree'])} of {format_count(n_by_row[worst])}).")
    if hidden:
        text += f" {hidden} group{'s' if hidden > 1 else ''} with {hidden_words()} answers not shown."
    return text


def _answered_text(results: pd.DataFrame) -> str:
    """How many answered, as published: the count (rounded as the policy asks), the hidden label where small, or
    'not shown' where it is hidden so that a small count elsewhere cannot be worked out."""
    shown = results["n"].iloc[0] if len(results) else 0
    if pd.isna(shown) and not is_small(results.attrs.get("answered", 0)):
        return "not shown"
    return format_count(shown)


def weights_shown(weights) -> dict[str, str]:
    """The weighting's figures as published: respondents weighted and left out (they add up to all responses, which
    is published: where one is small, the other is not shown either), the design effect and the effective sample
    size (not shown with the respondents weighted, which they would nearly give away)."""
    weighted, left_out = weights.weighted, weights.left_out
    either = is_small(weighted) or is_small(left_out)
    out = {"weighted": format_count(weighted) if is_small(weighted) or not either else "not shown",
           "left_out": format_count(left_out) if is_small(left_out) or not either else "not shown"}
    hidden = out["weighted"] != format_count(weighted) or is_small(weighted)
    out["design_effect"] = "not shown" if hidden else f"{weights.design_effect:.2f}"
    out["effective_size"] = "not shown" if hidden else f"{round_estimate(weights.effective_size):,.0f}"
    return out


def choice_chart(results: pd.DataFrame, question: str, multiple: bool) -> Chart:
    """Horizontal bars: the share of respondents choosing each option, labelled with the share and count
    (results: option, count, share, n)."""
    data = results.copy()
    n = int(data.attrs.get("answered", 0 if data.empty or pd.isna(data["n"].iloc[0]) else data["n"].iloc[0]))
    n_text = _answered_text(data)
    fig = go.Figure(go.Bar(
        y=[plain_label(o) for o in data["option"]], x=data["share"] * 100, orientation="h", marker_color=NHS_BLUE,
        text=[policy().hidden_label if pd.isna(c) else f"{s * 100:.0f}% ({format_count(c)})"
              for s, c in zip(data["share"], data["count"])],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    style(fig, height=max(240, 90 + 50 * len(data)))
    top = float(data["share"].max() * 100) if len(data) and data["share"].notna().any() else 0
    fig.update_xaxes(title_text=f"% of the {n_text} respondents who answered", ticksuffix="%",
                     range=[0, max(top * 1.3, 10)])
    fig.update_yaxes(autorange="reversed")
    table = data[["option", "count", "share"]].copy()
    table["share"] = (table["share"] * 100).round(1)
    table = table.rename(columns={"count": "respondents", "share": "share of respondents (%)"})
    if not n:
        return Chart(fig, f"{_lead(question)} nobody has answered this question.", table)
    shown = data.dropna(subset=["count"])
    if shown.empty or shown["count"].max() == 0:
        sentence = (f"{_lead(question)} {n_text} answered; the counts for each answer are too small to "
                    "show, or could be worked out from one that is.")
    else:
        best = shown.loc[shown["count"].astype(float).idxmax()]
        share = "" if pd.isna(best["share"]) else f" ({pct(best['share'])})"
        sentence = (f"{_lead(question)} of {n_text} who answered, {format_count(best['count'])}{share} "
                    f"chose {best['option']}, the most common answer shown.")
        if len(shown) < len(data):
            sentence += f" {len(data) - len(shown)} answer{'s' if len(data) - len(shown) > 1 else ''} not shown."
    if multiple:
        sentence += (" People could choose more than one answer, so shares are of respondents and add up to "
                     "more than 100%.")
    return Chart(fig, sentence, table)


def choice_group_chart(frame: pd.DataFrame, question: str, dimension_label: str) -> Chart:
    """Bars of the share choosing each option, one bar per group (frame: group, option, count, n, share)."""
    groups = list(dict.fromkeys(frame["group"]))
    options = list(dict.fromkeys(frame["option"]))
    fig = go.Figure()
    for i, g in enumerate(groups):
        part = frame[frame["group"] == g].set_index("option").reindex(options)
        n = part["n"].iloc[0] if len(part) else None
        fig.add_trace(go.Bar(
            y=[plain_label(o) for o in options], x=part["share"].astype(float) * 100, orientation="h",
            name=f"{plain_label(g)} (n={format_count(n)})",
            marker=dict(color=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                        pattern=dict(shape=PATTERNS[i % len(PATTERNS)], fgcolor="white")),
            text=[f"{v:.0f}%" if not pd.isna(v) else "" for v in part["share"].astype(float) * 100],
            textposition="outside", cliponaxis=False,
            customdata=[plain_label(g)] * len(options), hovertemplate="%{customdata}: %{y} %{x:.1f}%<extra></extra>"))
    style(fig, height=max(320, 120 + 22 * len(groups) * len(options)))
    fig.update_layout(barmode="group", bargap=0.2, legend=TOP_LEGEND)
    fig.update_xaxes(title_text="% of each group who answered", ticksuffix="%")
    fig.update_yaxes(autorange="reversed")
    table = frame.drop(columns=["suppressed"], errors="ignore").copy()
    table["share"] = (table["share"].astype(float) * 100).round(1)
    if "n" in table:
        table["n"] = _published(table["n"])
    table = table.rename(columns={"group": dimension_label, "count": "respondents", "n": "answered",
                                  "share": "share (%)"})
    return Chart(fig, _group_sentence(frame, question, dimension_label), table)


UNSTATED = ("Not known", "Prefer not to say", "Under 16")


def _published(counts: pd.Series) -> pd.Series:
    """Counts of people as a download may show them: missing where small, rounded as the policy asks."""
    return pd.Series([pd.NA if pd.isna(v) or is_small(v) else round_count(v) for v in counts],
                     index=counts.index, dtype="Int64")


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _group_name(group: str, dimension_label: str) -> str:
    """A group as words in a sentence: IMD quintiles say what they are ('IMD quintile 2')."""
    if "IMD" in dimension_label:
        return f"IMD quintile {group}"
    return str(group)


def _group_sentence(frame: pd.DataFrame, question: str, dimension_label: str) -> str:
    shown = frame.dropna(subset=["share"])
    stated = shown[~shown["group"].isin(UNSTATED)]
    shown = stated if len(stated) else shown
    if shown.empty:
        return f"{_lead(question)} there are too few answers in each {dimension_label.lower()} group to show."
    overall = shown.groupby("option")["count"].sum().sort_values(ascending=False)
    option = overall.index[0]
    rows = shown[shown["option"] == option]
    hi = rows.loc[rows["share"].idxmax()]
    lo = rows.loc[rows["share"].idxmin()]
    text = (f"{_lead(question)} By {_first_lower(dimension_label)}: {option} was chosen by {pct(hi['share'])} of "
            f"{_group_name(hi['group'], dimension_label)} (n={format_count(hi['n'])}) and {pct(lo['share'])} of "
            f"{_group_name(lo['group'], dimension_label)} (n={format_count(lo['n'])}).")
    hidden = frame.loc[frame["n"].isna(), "group"].nunique()
    if hidden:
        text += f" {hidden} group{'s' if hidden > 1 else ''} with {hidden_words()} answers not shown."
    return text


def themes_chart(summary: dict, question: str) -> Chart:
    """The themes mentioned in free-text answers, most frequent first (summary: from free_text_summary)."""
    themes = summary["themes"]
    answers = summary.get("answers_shown", summary["answers"])
    answers_text = "not shown" if answers is None and not is_small(summary["answers"]) else format_count(answers)
    shown = themes.dropna(subset=["answers"])
    shown = shown[shown["answers"] > 0]
    fig = go.Figure(go.Bar(
        y=[plain_label(t) for t in shown["theme"]], x=shown["answers"], orientation="h", marker_color=NHS_BLUE,
        text=[f"{int(c):,}" + ("" if pd.isna(s) else f" ({s * 100:.0f}%)") for c, s in zip(shown["answers"], shown["share"])],
        textposition="outside", cliponaxis=False, hovertemplate="%{y}: %{x:,} answers<extra></extra>"))
    style(fig, height=max(240, 90 + 50 * len(shown)))
    fig.update_xaxes(title_text="Answers mentioning the theme", range=[0, max(shown["answers"].max() * 1.3, 5)
                                                                           if len(shown) else 5])
    fig.update_yaxes(autorange="reversed")
    table = themes.drop(columns=["suppressed"], errors="ignore").copy()
    table["share"] = (table["share"].astype(float) * 100).round(1)
    table = table.rename(columns={"share": "share of answers (%)"})
    if shown.empty:
        sentence = (f"{_lead(question)} {answers_text} people wrote an answer; none mentions a theme often enough to show "
                    f"({hidden_words()} answers each, or no keywords matched).")
    else:
        top = ", ".join(f"{r.theme} ({int(r.answers):,}" + ("" if pd.isna(r.share) else f", {pct(r.share)}") + ")"
                        for r in shown.head(3).itertuples())
        sentence = (f"{_lead(question)} {answers_text} people wrote an answer. The most frequent themes: {top}. "
                    "An answer can mention more than one theme.")
    return Chart(fig, sentence, table)


def weighted_chart(results: pd.DataFrame, weights, question: str, likert: bool) -> Chart:
    """Unweighted shares beside shares weighted to residents (results: option, count, share, n,
    weighted_share; weights: data_access.answers.SurveyWeights)."""
    data = results.copy()
    data["weighted_share"] = data["weighted_share"].mask(data["count"].isna())
    fig = go.Figure()
    fig.add_trace(go.Bar(y=[plain_label(o) for o in data["option"]], x=data["share"] * 100, orientation="h", name="As answered",
                         marker=dict(color="white", line=dict(color=NHS_DARK_GREY, width=2), pattern_shape="."),
                         text=[f"{v * 100:.0f}%" for v in data["share"].fillna(0)], textposition="outside",
                         cliponaxis=False, hovertemplate="%{y}: %{x:.1f}% as answered<extra></extra>"))
    fig.add_trace(go.Bar(y=[plain_label(o) for o in data["option"]], x=data["weighted_share"] * 100, orientation="h",
                         name="Weighted to residents", marker_color=NHS_BLUE,
                         text=[f"{v * 100:.0f}%" for v in data["weighted_share"].fillna(0)], textposition="outside",
                         cliponaxis=False, hovertemplate="%{y}: %{x:.1f}% weighted<extra></extra>"))
    style(fig, height=max(300, 120 + 60 * len(data)))
    fig.update_layout(barmode="group", bargap=0.25, legend=TOP_LEGEND)
    top = np.nanmax([data["share"].max(), data["weighted_share"].max(), 0.05]) * 100
    fig.update_xaxes(title_text="% of those who answered", ticksuffix="%", range=[0, top * 1.3])
    fig.update_yaxes(autorange="reversed")
    table = data[["option", "count", "share", "weighted_share"]].copy()
    table["share"] = (table["share"] * 100).round(1)
    table["weighted_share"] = (table["weighted_share"] * 100).round(1)
    table = table.rename(columns={"count": "respondents", "share": "as answered (%)",
                                  "weighted_share": "weighted to residents (%)"})
    if likert and data["share"].isna().any():
        head = f"{_lead(question)} Some answers are too few to show, so agreement is not summed up"
    elif likert:
        k = len(data)
        raw = likert_parts(data["share"].tolist(), k)["agree"]
        wtd = likert_parts(data["weighted_share"].tolist(), k)["agree"]
        head = f"{_lead(question)} {pct(raw)} agreed as answered, {pct(wtd)} once weighted to match residents"
    else:
        change = (data["weighted_share"] - data["share"]).abs()
        if change.notna().any():
            row = data.loc[change.idxmax()]
            head = (f"{_lead(question)} The biggest change from weighting is {row['option']}, {pct(row['share'])} "
                    f"as answered and {pct(row['weighted_share'])} weighted")
        else:
            head = f"{_lead(question)} The answers are too few to show weighted"
    shown = weights_shown(weights)
    sentence = (f"{head} ({_answered_text(data)} answered). Weighting on age band, sex and deprivation uses the "
                f"{shown['weighted']} respondents who gave all three")
    if shown["effective_size"] == "not shown":
        return Chart(fig, sentence + ".", table)
    sentence += (f"; design effect {shown['design_effect']}, so the weighted results are as precise as a simple "
                 f"random sample of about {shown['effective_size']} people.")
    return Chart(fig, sentence, table)
