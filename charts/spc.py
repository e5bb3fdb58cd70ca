"""Statistical process control (XmR) as NHS England's "Making Data Count" does it, following the
NHS-R community's NHSRplotthedots: the calculations (pure Python, a series in, a result out) and the chart.

The rules, as in NHSRplotthedots:
- mean and moving ranges from the first `baseline` points of each segment (default 12; a segment with
  fewer points has trial limits, so 12 points give fixed limits: NHSRplotthedots' message and documentation say
  "fewer than 12 points" too, though its current code warns below 13, getOption("ptd_spc.warning_threshold", 13);
  here the trial flag follows the baseline the limits are fixed from); moving ranges of 3.267 x their mean or more are screened out before
  the mean moving range is recomputed (on by default; off reproduces the NHS England Excel tool);
- process limits at mean +/- 2.66 x mean moving range, near-limit band at two thirds of that distance;
- special cause: a point beyond a limit; 7 points in a row on one side of the mean; 7 points in a row
  all rising or all falling; 2 of 3 points in the near-limit band (and all 3 on the same side of the mean);
- limits are recalculated from each chosen change date (a new segment).

One deliberate difference: a constant baseline has a mean moving range of 0. NHSRplotthedots screens every
moving range out then (0 is not below 3.267 x 0) and gets no limits; here nothing is screened, so the
limits sit on the mean and a later point away from it is beyond a limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.theme import NHS_DARK_GREY, Chart, style

LIMIT = 2.66
NEAR = LIMIT * 2 / 3
SCREEN = 3.267
DEFAULT_BASELINE = 12

COLOURS = {
    "common": "#a6a6a6",
    "improvement": "#00b0f0",
    "concern": "#e46c0a",
    "neutral": "#490092",
}
TARGET_COLOUR = "#de1b1b"
# A marker shape per class, so that colour is never the only cue.
SYMBOLS = {"common": "circle", "improvement": "diamond", "concern": "square", "neutral": "triangle-up"}
CLASS_WORDS = {
    "common": "Common cause",
    "improvement": "Special cause: improvement",
    "concern": "Special cause: concern",
    "neutral": "Special cause: neither better nor worse",
}
RULE_WORDS = {
    "above_limit": "a point above the upper process limit",
    "below_limit": "a point below the lower process limit",
    "run_above": "7 points in a row above the mean",
    "run_below": "7 points in a row below the mean",
    "trend_up": "7 points in a row all rising",
    "trend_down": "7 points in a row all falling",
    "two_of_three_high": "2 of 3 points close to the upper limit",
    "two_of_three_low": "2 of 3 points close to the lower limit",
}
ASSURANCE_WORDS = {
    "consistent_pass": "The target will consistently be met",
    "consistent_fail": "The target will consistently be missed",
    "inconsistent": "The target will be met and missed at random",
}
ASSURANCE_ICONS = {"consistent_pass": "✔ P", "consistent_fail": "✘ F", "inconsistent": "? ~"}


@dataclass
class SpcResult:
    """The XmR calculation for one series.

    frame columns: x, y, segment, mean, lpl, upl, nlpl, nupl, trial, outside, near, rule, direction, point_class.
    `variation` is the class of the last point ("common", "improvement", "concern", "neutral") or
    "not_enough" (no limits); `assurance` is consistent_pass / consistent_fail / inconsistent or None.
    """

    frame: pd.DataFrame
    improvement: str = "increase"
    target: float | None = None
    variation: str = "not_enough"
    variation_side: int = 0
    assurance: str | None = None
    notes: list[str] = field(default_factory=list)


def _segment_limits(y: np.ndarray, baseline: int | None, screen: bool) -> tuple[float, float]:
    """(mean, mean moving range) of a segment, from its baseline points."""
    fix = y[:baseline] if baseline else y
    mean = float(fix.mean()) if len(fix) else math.nan
    mr = np.abs(np.diff(fix))
    if len(mr) == 0:
        return mean, math.nan
    amr = float(mr.mean())
    if screen and amr > 0:
        amr = float(mr[mr < SCREEN * amr].mean())
    return mean, amr


def _part_of_seven(flags: np.ndarray) -> np.ndarray:
    """True where a point is one of the 7 that end at a flagged point."""
    n = len(flags)
    return np.array([bool(np.any(flags[i:min(n, i + 7)] != 0)) for i in range(n)], dtype=bool)


def _seven_one_side(rtm: np.ndarray) -> np.ndarray:
    n = len(rtm)
    out = np.zeros(n)
    for i in range(6, n):
        window = rtm[i - 6:i + 1]
        if rtm[i] != 0 and np.all(window == rtm[i]):
            out[i] = 1
    return out


def _seven_trend(y: np.ndarray) -> np.ndarray:
    n = len(y)
    out = np.zeros(n)
    for i in range(6, n):
        d = np.sign(np.diff(y[i - 6:i + 1]))
        if np.all(d == 1):
            out[i] = 1
        elif np.all(d == -1):
            out[i] = -1
    return out


def _two_in_three(near: np.ndarray, rtm: np.ndarray) -> np.ndarray:
    n = len(near)
    vp = np.concatenate([[0, 0], near.astype(float), [0, 0]])
    rp = np.concatenate([[0, 0], rtm, [0, 0]])
    hit = np.zeros(n, dtype=bool)
    for i in range(n):
        for k in range(3):
            window = slice(i + k, i + k + 3)
            if vp[window].sum() >= 2 and abs(rp[window].sum()) == 3:
                hit[i] = True
    return hit & near


def _segment_rules(y: np.ndarray, mean: float, lpl: float, upl: float, nlpl: float, nupl: float):
    """(rule, direction) for each point of one segment: the first rule in priority order."""
    n = len(y)
    has_limits = not math.isnan(upl)
    rtm = np.sign(y - mean) if not math.isnan(mean) else np.zeros(n)
    outside = (y > upl) | (y < lpl) if has_limits else np.zeros(n, dtype=bool)
    near = (~outside) & ((y < nlpl) | (y > nupl)) if has_limits else np.zeros(n, dtype=bool)
    trend_end = _seven_trend(y)
    in_trend = _part_of_seven(trend_end)
    in_two = _two_in_three(near, rtm)
    in_run = _part_of_seven(_seven_one_side(rtm))
    sdy = np.sign(np.diff(y))
    rules, dirs = [], []
    for i in range(n):
        if outside[i]:
            up = rtm[i] == 1
            rules.append("above_limit" if up else "below_limit")
            dirs.append(1 if up else -1)
        elif in_trend[i]:
            # as NHSRplotthedots: where the trend carries on to the next point use that step, else the last
            if i + 1 < n and in_trend[i + 1]:
                step = sdy[i]
            else:
                step = sdy[i - 1] if i > 0 else 0
            rules.append("trend_up" if step == 1 else "trend_down")
            dirs.append(1 if step == 1 else -1)
        elif in_two[i]:
            rules.append("two_of_three_high" if rtm[i] > 0 else "two_of_three_low")
            dirs.append(1 if rtm[i] > 0 else -1)
        elif in_run[i]:
            rules.append("run_above" if rtm[i] > 0 else "run_below")
            dirs.append(1 if rtm[i] > 0 else -1)
        else:
            rules.append("")
            dirs.append(0)
    return rules, dirs, outside, near


def _classify(direction: int, improvement: str) -> str:
    if direction == 0:
        return "common"
    if improvement == "increase":
        return "improvement" if direction > 0 else "concern"
    if improvement == "decrease":
        return "improvement" if direction < 0 else "concern"
    return "neutral"


def spc(values: Sequence[float], x: Sequence | None = None, improvement: str = "increase",
        target: float | None = None, baseline: int | None = DEFAULT_BASELINE, screen: bool = True,
        recalculate_from: Iterable = ()) -> SpcResult:
    """The XmR calculation for a series (in time order), its point classes and verdicts.

    improvement: "increase", "decrease" or "neither" (which way is better); baseline: the number of
    points each segment's limits are fixed from (None = all); recalculate_from: x values where new
    limits start.
    """
    y = np.asarray(pd.to_numeric(pd.Series(list(values)), errors="coerce"), dtype=float)
    xs = list(x) if x is not None else list(range(1, len(y) + 1))
    if len(xs) != len(y):
        raise ValueError("The series and its dates must be the same length.")
    if baseline is not None and baseline < 1:
        raise ValueError("The baseline must be at least one point.")
    if improvement not in ("increase", "decrease", "neither"):
        raise ValueError(f"Improvement direction {improvement!r}: expected increase, decrease or neither.")
    starts = {xv for xv in recalculate_from}
    segment = np.cumsum([1 if (i > 0 and xv in starts) else 0 for i, xv in enumerate(xs)]) if len(xs) else np.array([])
    cols = {k: [] for k in ("mean", "lpl", "upl", "nlpl", "nupl", "trial", "outside", "near", "rule", "direction")}
    for seg in (np.unique(segment) if len(segment) else []):
        idx = np.where(segment == seg)[0]
        ys = y[idx]
        mean, amr = _segment_limits(ys, baseline, screen)
        lpl, upl = mean - LIMIT * amr, mean + LIMIT * amr
        nlpl, nupl = mean - NEAR * amr, mean + NEAR * amr
        rules, dirs, outside, near = _segment_rules(ys, mean, lpl, upl, nlpl, nupl)
        trial = len(ys) < (baseline or DEFAULT_BASELINE)
        for i in range(len(ys)):
            for k, v in (("mean", mean), ("lpl", lpl), ("upl", upl), ("nlpl", nlpl), ("nupl", nupl),
                         ("trial", trial), ("outside", bool(outside[i])), ("near", bool(near[i])),
                         ("rule", rules[i]), ("direction", dirs[i])):
                cols[k].append(v)
    frame = pd.DataFrame({"x": xs, "y": y, "segment": segment.astype(int) if len(segment) else [], **cols})
    frame["point_class"] = [_classify(d, improvement) for d in frame["direction"]]
    result = SpcResult(frame=frame, improvement=improvement, target=target)
    if frame.empty:
        result.notes.append("There are no points to chart.")
        return result
    last = frame.iloc[-1]
    if math.isnan(last["upl"]):
        result.variation = "not_enough"
        result.notes.append("Process limits need at least 2 points in the baseline.")
    else:
        result.variation = last["point_class"]
        result.variation_side = int(last["direction"])
        if target is not None and improvement != "neither":
            if target > last["upl"]:
                result.assurance = "consistent_fail" if improvement == "increase" else "consistent_pass"
            elif target < last["lpl"]:
                result.assurance = "consistent_pass" if improvement == "increase" else "consistent_fail"
            else:
                result.assurance = "inconsistent"
    if bool(frame["trial"].iloc[-1]):
        result.notes.append(f"Trial limits: fewer than {baseline or DEFAULT_BASELINE} points since the limits "
                            "were last set, so they will change as points are added.")
    return result


# --- Words -------------------------------------------------------------------------------

def variation_words(result: SpcResult) -> tuple[str, str]:
    """(icon, words) for the variation verdict."""
    v, side = result.variation, result.variation_side
    high = "higher" if side > 0 else "lower"
    if v == "not_enough":
        return "…", "Not enough data for process limits"
    if v == "common":
        return "≈", "Common cause variation: no significant change"
    if v == "improvement":
        return ("▲" if side > 0 else "▼"), f"Special cause improvement: significantly {high}"
    if v == "concern":
        return ("▲" if side > 0 else "▼"), f"Special cause concern: significantly {high}"
    return ("▲" if side > 0 else "▼"), f"Special cause: significantly {high} (neither better nor worse)"


def assurance_words(result: SpcResult) -> tuple[str, str] | None:
    """(icon, words) for the assurance verdict, or None without a target."""
    if result.assurance is None:
        return None
    return ASSURANCE_ICONS[result.assurance], ASSURANCE_WORDS[result.assurance]


def _label(xv) -> str:
    if isinstance(xv, (pd.Timestamp,)) or hasattr(xv, "strftime"):
        return pd.Timestamp(xv).strftime("%B %Y")
    return str(xv)


def rules_fired(result: SpcResult) -> list[tuple[str, int, str]]:
    """Each rule that fired: (words, points flagged, the last point it flagged), latest first."""
    f = result.frame[result.frame["rule"] != ""]
    out = []
    for rule, part in f.groupby("rule", sort=False):
        out.append((RULE_WORDS[rule], len(part), _label(part["x"].iloc[-1]), part.index[-1]))
    out.sort(key=lambda t: -t[3])
    return [(w, n, last) for w, n, last, _ in out]


def spc_sentence(result: SpcResult, label: str, unit: str = "") -> str:
    """The verdicts and the rule that fired, in a sentence with the numbers."""
    f = result.frame
    if f.empty:
        return f"{label}: there are no complete months to chart."
    last = f.iloc[-1]
    if math.isnan(last["upl"]):
        return (f"{label}: only {len(f)} point{'s' if len(f) != 1 else ''} since the limits were last set, "
                f"so there are no process limits yet (they need at least 2); the mean is {last['mean']:,.1f}{unit}.")
    _, words = variation_words(result)
    text = (f"{label}: mean {last['mean']:,.1f}{unit}, process limits {last['lpl']:,.1f} to {last['upl']:,.1f}"
            f"{' (trial limits)' if last['trial'] else ''}. Latest point ({_label(last['x'])}): {last['y']:,.0f}, "
            f"{words[0].lower() + words[1:]}.")
    fired = rules_fired(result)
    if fired:
        parts = [f"{w} (last in {when})" for w, _n, when in fired]
        text += " Rules that fired: " + "; ".join(parts) + "."
    else:
        text += " No special-cause rule fired."
    a = assurance_words(result)
    if a:
        text += f" Target {result.target:,.0f}: {a[1].lower()}."
    return text


# --- The chart ------------------------------------------------------------------------------

def xmr_chart(result: SpcResult, label: str, y_title: str) -> Chart:
    """The XmR chart in Making Data Count colours, with a shape per point class and the verdict icons."""
    f = result.frame
    fig = go.Figure()
    for seg, part in f.groupby("segment", sort=True):
        first = seg == f["segment"].min()
        dash_limits = "dot" if bool(part["trial"].iloc[0]) else "dash"
        fig.add_trace(go.Scatter(x=part["x"], y=part["mean"], mode="lines", name="Mean", legendgroup="mean",
                                 showlegend=bool(first), line=dict(color=NHS_DARK_GREY, width=2),
                                 hovertemplate="Mean %{y:,.1f}<extra></extra>"))
        for col, name in (("upl", "Process limits"), ("lpl", "Process limits")):
            fig.add_trace(go.Scatter(x=part["x"], y=part[col], mode="lines", name=name, legendgroup="limits",
                                     showlegend=bool(first and col == "upl"),
                                     line=dict(color="#6b6b6b", width=2, dash=dash_limits),
                                     hovertemplate=name + " %{y:,.1f}<extra></extra>"))
        for col in ("nupl", "nlpl"):
            fig.add_trace(go.Scatter(x=part["x"], y=part[col], mode="lines", name="Near-limit band",
                                     legendgroup="near", showlegend=bool(first and col == "nupl"),
                                     line=dict(color="#bdbdbd", width=1, dash="dot"), hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=part["x"], y=part["y"], mode="lines", showlegend=False,
                                 line=dict(color=NHS_DARK_GREY, width=2), hoverinfo="skip"))
    for cls in ("common", "improvement", "concern", "neutral"):
        part = f[f["point_class"] == cls]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["x"], y=part["y"], mode="markers", name=CLASS_WORDS[cls],
            marker=dict(color=COLOURS[cls], symbol=SYMBOLS[cls], size=14, line=dict(color="#212B32", width=1)),
            customdata=[RULE_WORDS.get(r, "common cause") for r in part["rule"]],
            hovertemplate="%{x}: %{y:,}<br>%{customdata}<extra></extra>"))
    if result.target is not None and not f.empty:
        fig.add_trace(go.Scatter(x=[f["x"].iloc[0], f["x"].iloc[-1]], y=[result.target] * 2, mode="lines",
                                 name=f"Target ({result.target:,.0f})",
                                 line=dict(color=TARGET_COLOUR, width=3, dash="longdash")))
    style(fig, height=500)
    fig.update_layout(margin=dict(t=70))
    fig.update_yaxes(title_text=y_title)
    icon, words = variation_words(result)
    colour = COLOURS.get(result.variation, NHS_DARK_GREY)
    badges = [f"<span style='color:{colour}'>●</span> <b>{icon}</b> {words}"]
    a = assurance_words(result)
    if a:
        a_colour = {"consistent_pass": COLOURS["improvement"], "consistent_fail": COLOURS["concern"]}.get(
            result.assurance, NHS_DARK_GREY)
        badges.append(f"<span style='color:{a_colour}'>●</span> <b>{a[0]}</b> {a[1]}")
    fig.add_annotation(xref="paper", yref="paper", x=0, y=1.02, xanchor="left", yanchor="bottom", showarrow=False,
                       text="   |   ".join(badges), font=dict(size=18),
                       bgcolor="white", bordercolor=COLOURS.get(result.variation, NHS_DARK_GREY), borderwidth=2)
    data = f[["x", "y", "mean", "lpl", "upl", "trial", "rule", "point_class"]].copy()
    data["x"] = [_label(v) for v in data["x"]]
    data["rule"] = [RULE_WORDS.get(r, "") for r in data["rule"]]
    data["point_class"] = [CLASS_WORDS[c] for c in data["point_class"]]
    data = data.rename(columns={"x": "Month", "y": label, "mean": "Mean", "lpl": "Lower process limit",
                                "upl": "Upper process limit", "trial": "Trial limits", "rule": "Rule",
                                "point_class": "Variation"}).round(2)
    return Chart(fig, spc_sentence(result, label), data)


def spc_with_chart(values: Sequence[float], x: Sequence, label: str, y_title: str,
                   **settings) -> tuple[SpcResult, Chart]:
    """spc(values, x, **settings) and its XmR chart, in one step (so both can be kept between reruns)."""
    result = spc(values, x=x, **settings)
    return result, xmr_chart(result, label, y_title)
