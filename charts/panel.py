"""Citizens' panel charts: panel against residents with 95% intervals, the gaps to close, summary
measures, heatmaps of the representation ratio, the panel over time, quotas and response rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.theme import (NHS_BLUE, NHS_BRIGHT_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, NHS_GREEN, NHS_PALE_GREY,
                          SERIES_COLOURS, Chart, hidden_words, pct, plain_label, style)
from charts.words import lower_first
from data_access.disclosure import format_count, policy, round_count, round_estimate, threshold
from data_access.representativeness import OVER, TOO_FEW, UNDER, WITHIN, Tolerance

STATUS_MARK = {UNDER: "▼ under", OVER: "▲ over", TOO_FEW: "? too few to tell", WITHIN: "✓ within"}


def _num(value, digits: int = 2) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _pp(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:+.1f}"


def _members(count, small) -> str:
    """A published count of members: the policy's label where hidden for being small ('fewer than 5', or '*'
    under the HES rule), 'not shown' where hidden so that a small one cannot be worked out."""
    if count is None or pd.isna(count):
        return policy().hidden_label if small else "not shown"
    return format_count(count)


def comparison_data(table: pd.DataFrame, dimension_label: str) -> pd.DataFrame:
    """The table behind a dimension chart, in words (small counts shown with the policy's label, counts hidden
    so that a small one cannot be worked out as 'not shown')."""
    small = table["small"] if "small" in table else table["count"].isna()
    return pd.DataFrame({
        dimension_label: table["group"],
        "Panel members": [_members(c, s) for c, s in zip(table["count"], small)],
        "Share of panel": [pct(v, 1) if not pd.isna(v) else "—" for v in table["share"]],
        "95% interval": [f"{pct(lo, 1)} to {pct(hi, 1)}" if not pd.isna(lo) else "—"
                         for lo, hi in zip(table["low"], table["high"])],
        "Share of residents": [pct(v, 1) if not pd.isna(v) else "—" for v in table["resident_share"]],
        "Representation ratio": [_num(v) for v in table["ratio"]],
        "Gap (points)": [_pp(v) for v in table["gap_pp"]],
        "Members short (−) or over (+)": ["—" if pd.isna(v) else f"{v:+.0f}" for v in table["short_over"]],
        "Status": table["status"],
    })


def dimension_chart(table: pd.DataFrame, dimension_label: str, area: str, tolerance: Tolerance) -> Chart:
    """Panel share (with its 95% interval) beside resident share for each stated group, each bar labelled
    with its ratio and status (table: representativeness.for_display of an assessed comparison)."""
    known = table[table["stated"]]
    groups = [plain_label(g) for g in known["group"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        y=groups, x=known["resident_share"] * 100, name="Residents", orientation="h",
        marker=dict(color="white", line=dict(color=NHS_DARK_GREY, width=2)), marker_pattern_shape=".",
        hovertemplate="%{y}: %{x:.1f}% of residents<extra></extra>"))
    share = known["share"] * 100
    fig.add_trace(go.Bar(
        y=groups, x=share, name="Panel (with 95% interval)", orientation="h", marker_color=NHS_BLUE,
        error_x=dict(type="data", symmetric=False, array=(known["high"] * 100 - share).fillna(0),
                     arrayminus=(share - known["low"] * 100).fillna(0), color=NHS_DARK_GREY, thickness=2),
        hovertemplate="%{y}: %{x:.1f}% of the panel<extra></extra>"))
    label_x = np.fmax(known["high"].fillna(0), known["resident_share"].fillna(0)) * 100
    fig.add_trace(go.Scatter(
        y=groups, x=label_x, mode="text", showlegend=False, hoverinfo="skip", cliponaxis=False,
        text=["  " + _bar_label(r, s, c, sm) for r, s, c, sm in zip(
            known["ratio"], known["status"], known["count"],
            known["small"] if "small" in known else known["count"].isna())],
        textposition="middle right", textfont=dict(size=17)))
    style(fig, height=max(320, 100 + 75 * len(known)))
    fig.update_layout(barmode="group", bargap=0.25, margin=dict(r=40))
    fig.update_yaxes(autorange="reversed")
    top = float(label_x.max()) if len(known) else 1.0
    fig.update_xaxes(title_text="Share (%)", ticksuffix="%", range=[0, top * 1.45 + 1])
    return Chart(fig, dimension_sentence(table, dimension_label, area, tolerance),
                 comparison_data(table, dimension_label))


def _bar_label(ratio, status, count, small=True) -> str:
    mark = STATUS_MARK.get(status, "")
    if pd.isna(count):
        return f"{_members(count, small)} · {mark}"
    return f"×{ratio:.2f} {mark}" if not pd.isna(ratio) else mark


def dimension_sentence(table: pd.DataFrame, dimension_label: str, area: str, tolerance: Tolerance) -> str:
    """Which groups are outside tolerance on this dimension, with the numbers, and who did not say."""
    known = table[table["stated"]]
    unstated = table[~table["stated"]]
    dim = lower_first(dimension_label)
    if table.attrs.get("withheld"):
        return table.attrs["withheld"]
    if known["count"].fillna(0).sum() == 0 and known["count"].notna().all():
        return f"No panel members in {area} have a known {dim}."
    parts = []
    for status, word in ((UNDER, "under-represented"), (OVER, "over-represented")):
        rows = known[known["status"] == status]
        if len(rows):
            items = [f"{r.group} ({_share_words(r)})" for r in rows.itertuples()]
            parts.append(f"{word}: " + "; ".join(items))
    few = known[known["status"] == TOO_FEW]
    text = f"By {dim} in {area}, " + (" — ".join(parts) if parts else
                                      "every group is within tolerance") + "."
    if len(few):
        text += (f" Too few to tell for {', '.join(few['group'])}: outside tolerance, but the 95% interval "
                 "of the panel share still includes the resident share.")
    if len(unstated):
        counts = "; ".join(f"{r.group.lower()}, {_members(r.count, getattr(r, 'small', True))}"
                           for r in unstated.itertuples())
        text += f" Left out of the shares (group not stated): {counts}."
    return text


def _share_words(r) -> str:
    if pd.isna(r.share):
        who = f"{hidden_words()} panel members" if getattr(r, "small", True) else "a number of panel members not shown"
        return f"{who}, against {pct(r.resident_share)} of residents"
    return f"{pct(r.share)} of the panel against {pct(r.resident_share)} of residents, ratio {r.ratio:.2f}"


def gaps_data(gaps: pd.DataFrame) -> pd.DataFrame:
    """The gaps-to-close table in words, worst first."""
    if gaps.empty:
        return pd.DataFrame(columns=["Rank", "Dimension", "Group", "Status"])
    data = comparison_data(gaps, "Group")
    data.insert(0, "Dimension", gaps["dimension"].to_numpy())
    data.insert(0, "Rank", range(1, len(data) + 1))
    return data


def gaps_sentence(gaps: pd.DataFrame, too_few: int, tolerance: Tolerance) -> str:
    """How many groups are outside tolerance, and the worst, in words."""
    if gaps.empty:
        text = f"Every group is within tolerance ({tolerance.label})."
    else:
        w = gaps.iloc[0]
        n_under = int((gaps["status"] == UNDER).sum())
        text = (f"{len(gaps)} groups are outside tolerance ({tolerance.label}): {n_under} under-represented and "
                f"{len(gaps) - n_under} over-represented. The worst: {w['group']} ({lower_first(w['dimension'])}), "
                f"{_share_words(w)}.")
    if too_few:
        text += f" {too_few} more are outside tolerance but too few to tell apart from chance."
    return text


# --- Summary measures ---------------------------------------------------------------------------


def summary_data(rows: pd.DataFrame) -> pd.DataFrame:
    """Summary measures per dimension and overall, in words."""
    return pd.DataFrame({
        "Dimension": rows["label"],
        "Proportional similarity": [pct(v, 1) for v in rows["similarity"]],
        "Representativeness score": [_num(v) for v in rows["score"]],
        "Lowest / highest participation": [f"{lo} / {hi}" if lo else "—"
                                           for lo, hi in zip(rows["lowest_rate_group"], rows["highest_rate_group"])],
        "Largest gap (points)": [_pp(v) for v in rows["largest_gap_signed"]],
        "Largest gap in": rows["largest_gap_group"].fillna("—"),
        "Design effect": [_num(v) for v in rows["design_effect"]],
        "Effective sample size": ["—" if pd.isna(v) else f"{round_estimate(v):,.0f}" for v in rows["effective_n"]],
        "Not stated": ["—" if pd.isna(v) else format_count(v) for v in rows["not_stated"]],
    })


def summary_sentences(overall: pd.Series) -> list[str]:
    """One plain sentence for each summary measure, with the overall figures."""
    return [
        f"**Proportional similarity {pct(overall['similarity'])}** (average over the dimensions): the share of "
        "the panel already \"in the right place\" — the sum over groups of the smaller of the panel's share and "
        "residents' share. 100% would be a perfect match.",
        f"**Representativeness score {_num(overall['score'])}** (the lowest of the dimensions, "
        f"{overall['score_dimension']}): the lowest participation rate divided by the highest, where a group's "
        f"participation rate is its panel members per resident. 1 means every group is equally likely to be "
        f"on the panel; here {overall['lowest_rate_group']} residents are the least likely, "
        f"{overall['highest_rate_group']} the most.",
        f"**Largest gap {_pp(overall['largest_gap_signed'])} percentage points** ({overall['largest_gap_group']}, "
        f"{lower_first(str(overall['gap_dimension']))}): the biggest difference between a group's share of the "
        "panel and its share of residents.",
        f"**Design effect {_num(overall['design_effect'])}, effective sample size "
        f"{'—' if pd.isna(overall['effective_n']) else format(round_estimate(overall['effective_n']), ',.0f')}**: weighting the "
        f"panel to match residents on every dimension at once makes its {format_count(overall['weighted'])} members "
        f"(those who stated every characteristic) worth about that many equally weighted people — the "
        "further from 1, the more the panel leans on a few under-represented members.",
    ]


# --- Heatmaps ---------------------------------------------------------------------------------------


def heatmap_chart(cells: pd.DataFrame, row: str, col: str, row_label: str, col_label: str, area: str,
                  row_order: list[str], col_order: list[str], caveat: str = "") -> Chart:
    """Representation ratio of each cell (panel share ÷ resident share) coloured from pink (under) through
    white (1) to blue (over), each cell labelled; cells with 1-4 members are not shown.
    cells: row, col, count, residents, share, resident_share, ratio, suppressed."""
    rows = [r for r in row_order if r in set(cells[row])]
    cols = [c for c in col_order if c in set(cells[col])]
    grid = cells.set_index([row, col])
    z, text = [], []
    for r in rows:
        zr, tr = [], []
        for c in cols:
            if (r, c) not in grid.index:
                zr.append(None)
                tr.append("")
                continue
            cell = grid.loc[(r, c)]
            if cell["suppressed"]:
                zr.append(None)
                tr.append(_members(None, cell.get("small", True)))
            elif pd.isna(cell["ratio"]):
                zr.append(None)
                tr.append("—")
            else:
                zr.append(math.log2(max(cell["ratio"], 0.25)))
                tr.append(f"{cell['ratio']:.2f}")
        z.append(zr)
        text.append(tr)
    fig = go.Figure(go.Heatmap(
        z=z, x=[plain_label(c) for c in cols], y=[plain_label(r) for r in rows], text=text, texttemplate="%{text}",
        textfont=dict(size=18),
        zmin=-2, zmax=2, zmid=0, xgap=3, ygap=3,
        colorscale=[[0, NHS_DARK_PINK], [0.35, "#E4B7CF"], [0.5, "#FFFFFF"], [0.65, "#A7C7EA"], [1, NHS_BLUE]],
        colorbar=dict(title="Ratio", tickvals=[-2, -1, 0, 1, 2], ticktext=["¼ or less", "½", "1", "2", "4 or more"]),
        hovertemplate=f"{row_label} %{{y}}, {col_label} %{{x}}: ratio %{{text}}<extra></extra>"))
    style(fig, height=max(320, 110 + 60 * len(rows)))
    fig.update_yaxes(autorange="reversed", title_text=row_label)
    fig.update_xaxes(title_text=col_label, side="top")
    shown = cells[~cells["suppressed"] & cells["ratio"].notna()]
    if shown.empty:
        sentence = f"There are too few panel members in {area} to compare {row_label.lower()} by {col_label.lower()}."
    else:
        lo = shown.loc[shown["ratio"].idxmin()]
        hi = shown.loc[shown["ratio"].idxmax()]
        sentence = (f"{row_label} by {lower_first(col_label)} in {area}: the least well represented cell is "
                    f"{lo[row]}, {lo[col]} ({pct(lo['share'], 1)} of the panel against {pct(lo['resident_share'], 1)} "
                    f"of residents, ratio {lo['ratio']:.2f}); the most over-represented is {hi[row]}, {hi[col]} "
                    f"(ratio {hi['ratio']:.2f}).")
        n_small = int(cells["suppressed"].sum())
        if n_small:
            sentence += (f" {n_small} cells are not shown: {hidden_words()} panel members, or a number from which "
                         "one could be worked out.")
    if caveat:
        sentence += " " + caveat
    data = pd.DataFrame({
        row_label: cells[row], col_label: cells[col], "Panel members": [_members(c, s) for c, s in zip(
            cells["count"], cells["small"] if "small" in cells else cells["suppressed"])],
        "Share of panel": [pct(v, 1) if not pd.isna(v) else "—" for v in cells["share"]],
        "Residents": [f"{v:,.0f}" for v in cells["residents"]],
        "Share of residents": [pct(v, 1) for v in cells["resident_share"]],
        "Representation ratio": [_num(v) for v in cells["ratio"]]})
    return Chart(fig, sentence, data)


# --- Recruitment quotas --------------------------------------------------------------------------------


def quota_table(plan, labels: dict[str, str]) -> pd.DataFrame:
    """Recruits per group on every dimension, with the tolerance range and the panel after the wave. A group
    with 1-4 members still serving shows 'fewer than 5'; the group its members are counted with in the plan
    shows 'not shown' (so neither can be worked out by subtraction); neither shows the panel after the wave."""
    rows = []
    for dim, t in plan.by_dimension.items():
        for r in t.itertuples():
            hidden = bool(r.hidden)
            serving = (format_count(None) if r.hidden == "small" else "not shown" if hidden
                       else format_count(r.retained))
            rows.append({
                "Dimension": labels.get(dim, dim), "Group": r.group, "Still serving": serving,
                "Share of residents": pct(r.resident_share, 1), "Recruits": int(r.recruits),
                "At least": int(r.at_least), "At most": int(r.at_most),
                "Share after the wave": "—" if hidden else pct(r.share_after, 1),
                "Ratio after the wave": "—" if hidden else _num(r.ratio_after),
                "Note": _quota_note(r)})
    return pd.DataFrame(rows)


def is_small_count(value) -> bool:
    """True where a count of people is 1-4 (and must not be shown or be worked back from)."""
    return value is not None and not pd.isna(value) and 0 < value < threshold()


def _quota_note(r) -> str:
    if r.hidden == "small":
        extra = (f"{hidden_words().capitalize()} will still be serving: planned as if none were, so the number cannot "
                 f"be worked out; the group may end up to {threshold() - 1} above its share.")
    elif r.hidden == "hidden":
        extra = ("Not shown, so that no small number can be worked out from it: planned as if none were serving; "
                 "the group may end up above its share.")
    elif r.hidden == "pooled":
        extra = (f"Not shown, and planned together with the other groups not shown (at least one of {hidden_words()}),"
                 " so that no small number can be worked out by subtraction.")
    else:
        return r.note
    return f"{extra} {r.note}".strip()


def quota_sentence(plan, area: str, wave_day, labels: dict[str, str]) -> str:
    """The wave in words: its size, who it must find most, and what cannot be fixed by recruiting."""
    if plan.wave == 0:
        return (f"{format_count(plan.serving)} members will still be serving in {area} on {wave_day:%-d %B %Y}, at or above the "
                f"target of {plan.target_size:,}: no wave is needed to reach the target size.")
    text = (f"On {wave_day:%-d %B %Y}, {format_count(plan.serving)} members will still be serving in {area}, so a wave of "
            f"{plan.wave:,} recruits brings the panel to {plan.target_size:,}.")
    biggest = []
    for dim, t in plan.by_dimension.items():
        inprop = t["resident_share"] * plan.wave
        extra = (t["recruits"] - inprop)
        if len(t) and extra.max() > 0.5:
            r = t.loc[extra.idxmax()]
            biggest.append((extra.max(), f"{r['group']} ({lower_first(labels.get(dim, dim))}: {int(r['recruits']):,}, "
                                         f"against {inprop[extra.idxmax()]:,.0f} if recruited in proportion)"))
    if biggest:
        biggest.sort(reverse=True)
        text += " It must find most extra: " + "; ".join(b for _, b in biggest[:3]) + "."
    stuck = [f"{g} ({lower_first(labels.get(d, d))})" for d, g, n in plan.notes if "only removing" in n]
    if stuck:
        text += f" Recruiting alone cannot bring {', '.join(stuck)} within tolerance: that needs removing members."
    return text


def joint_pivot(cells: pd.DataFrame, row: str, col: str, row_label: str, col_order: list[str]) -> pd.DataFrame:
    """Recruits of the joint quota table summed to two of its dimensions, with totals."""
    pivot = cells.pivot_table(index=row, columns=col, values="recruits", aggfunc="sum", sort=False)
    pivot = pivot.reindex(columns=[c for c in col_order if c in pivot.columns])
    pivot["Total"] = pivot.sum(axis=1)
    pivot.loc["Total"] = pivot.sum(axis=0)
    return pivot.reset_index().rename(columns={row: row_label})


# --- The panel over time ---------------------------------------------------------------------------------

PATTERNS = ["", "/", ".", "x", "\\", "+", "-", "|"]


def _count(value) -> str:
    return format_count(value)


def size_chart(sizes: pd.DataFrame, target: int, area: str) -> Chart:
    """Members serving at each month end (solid), then at each month end ahead counting only members already on
    record (dashed: no new recruits), against the target (dotted line). sizes: day, members, recorded."""
    data = sizes.copy()
    data["members"] = data["members"].map(round_count)  # as published: the HES rule rounds to 5
    data["shown"] = data["members"].where(~data["members"].map(is_small_count))
    past, ahead = data[data["recorded"]], data[~data["recorded"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=past["day"], y=past["shown"], name="Members serving", mode="lines+markers",
                             line=dict(color=NHS_BLUE, width=3), marker=dict(size=8),
                             hovertemplate="%{x|%-d %b %Y}: %{y:,} members<extra></extra>"))
    if len(ahead):
        bridge = pd.concat([past.tail(1), ahead])
        fig.add_trace(go.Scatter(x=bridge["day"], y=bridge["shown"], name="Ahead, if no one new is recruited",
                                 mode="lines+markers", line=dict(color=NHS_DARK_GREY, width=3, dash="dash"),
                                 marker=dict(size=8, symbol="square"),
                                 hovertemplate="%{x|%-d %b %Y}: %{y:,} members on record<extra></extra>"))
    fig.add_hline(y=target, line=dict(color=NHS_DARK_PINK, width=2, dash="dot"),
                  annotation_text=f"Target {target:,}", annotation_position="top left",
                  annotation_font=dict(color=NHS_DARK_PINK, size=16))
    style(fig, height=420)
    top = max(float(data["shown"].max()) if data["shown"].notna().any() else 0.0, float(target))
    fig.update_yaxes(title_text="Panel members", rangemode="tozero", range=[0, top * 1.12], tickformat=",")
    fig.update_xaxes(title_text="Month end")
    table = pd.DataFrame({
        "Date": [f"{d:%-d %B %Y}" for d in data["day"]],
        "Panel members": data["members"].map(_count),
        "Against target": ["—" if is_small_count(v) else f"{int(v) - target:+,}" for v in data["members"]],
        "Counted": ["serving" if r else "on record, no new recruits" for r in data["recorded"]]})
    return Chart(fig, size_sentence(data, target, area), table)


def size_sentence(sizes: pd.DataFrame, target: int, area: str) -> str:
    """The panel's size now, at the start of the period, and ahead without new recruits, against the target."""
    past, ahead = sizes[sizes["recorded"]], sizes[~sizes["recorded"]]
    if past.empty:
        return f"There is no panel size to show for {area}."
    now, first = past.iloc[-1], past.iloc[0]
    text = f"On {now['day']:%-d %B %Y} the panel in {area} had {_count(now['members'])} members"
    if not is_small_count(now["members"]):
        gap = int(round_count(now["members"])) - target
        text += f", {abs(gap):,} {'above' if gap > 0 else 'below'} the target of {target:,}" if gap else \
            f", exactly the target of {target:,}"
    if len(past) > 1:
        text += f" (at the end of {first['day']:%B %Y}: {_count(first['members'])})"
    text += "."
    if len(ahead):
        last = ahead.iloc[-1]
        low = ahead.loc[ahead["members"].idxmin()]
        text += (f" If no one new were recruited, terms ending would bring it to {_count(last['members'])} by "
                 f"{last['day']:%-d %B %Y}")
        text += "." if low["day"] == last["day"] else f" (lowest {_count(low['members'])}, {low['day']:%B %Y})."
    return text


def waves_data(waves: pd.DataFrame) -> pd.DataFrame:
    """Members by recruitment wave in words (waves: panel.published_waves)."""
    return pd.DataFrame({
        "Wave": waves["wave"], "Terms started": [f"{d:%-d %B %Y}" if pd.notna(d) else "—" for d in waves["started"]],
        "Recruited": [_members(c, s) for c, s in zip(waves["recruited"], waves["small_recruited"])],
        "Still serving": [_members(c, s) for c, s in zip(waves["serving"], waves["small"])]})


def _wave_label(wave, started) -> str:
    return f"Wave {int(wave)} ({started:%b %Y})"


def joiners_chart(joiners: pd.DataFrame, waves: pd.DataFrame, dimension_label: str, area: str) -> Chart:
    """Joiners of each recruitment wave stacked by group (colour and pattern); hidden counts are not drawn.
    joiners: panel_history.joiners_by_wave; waves: wave, started, joiners (each wave's total)."""
    fig = go.Figure()
    if joiners.empty:
        style(fig, height=300)
        return Chart(fig, f"No recruitment waves had started in {area} by the end of the period.",
                     pd.DataFrame(columns=["Wave", dimension_label, "Joiners", "Share of the wave"]))
    data = joiners.copy()
    data["label"] = [_wave_label(w, s) for w, s in zip(data["wave"], data["started"])]
    labels = list(dict.fromkeys(data.sort_values("wave")["label"]))
    stated = dict(zip(data["group"], data["stated"]))
    colours = [c for c in SERIES_COLOURS if c != NHS_BRIGHT_BLUE]  # too close to NHS blue when stacked
    k = 0
    for g in dict.fromkeys(data["group"]):
        part = data[data["group"] == g].set_index("label").reindex(labels)
        if stated[g]:
            marker = dict(color=colours[k % len(colours)], pattern_shape=PATTERNS[(k // len(colours)) % len(PATTERNS)],
                          line=dict(color="white", width=1))
            k += 1
        else:  # not known / prefer not to say: pale, hatched and outlined
            marker = dict(color=NHS_PALE_GREY, pattern_shape="/", pattern_fgcolor=NHS_DARK_GREY,
                          line=dict(color=NHS_DARK_GREY, width=1))
        fig.add_trace(go.Bar(x=labels, y=part["joiners"].astype(float), name=plain_label(g), marker=marker,
                             hovertemplate="%{fullData.name}: %{y:,} joiners<extra>%{x}</extra>"))
    style(fig, height=460)
    fig.update_layout(barmode="stack", bargap=0.35, legend_traceorder="normal")
    fig.update_yaxes(title_text="Joiners", tickformat=",")
    totals = dict(zip(waves["wave"], waves["joiners"]))
    return Chart(fig, joiners_sentence(data, totals, dimension_label, area), joiners_data(data, totals, dimension_label))


def joiners_data(data: pd.DataFrame, totals: dict, dimension_label: str) -> pd.DataFrame:
    """Joiners by wave and group in words, with each group's share of its wave."""
    return pd.DataFrame({
        "Wave": [_wave_label(w, s) for w, s in zip(data["wave"], data["started"])],
        dimension_label: data["group"],
        "Joiners": [format_count(v) if not h else "not shown" for v, h in zip(data["joiners"], data["hidden"])],
        "Share of the wave": ["—" if h or not totals.get(w) else pct(float(v) / totals[w], 1)
                              for v, h, w in zip(data["joiners"], data["hidden"], data["wave"])]})


def joiners_sentence(data: pd.DataFrame, totals: dict, dimension_label: str, area: str) -> str:
    """The latest wave in words: its size, its largest and smallest groups, and how many counts are hidden."""
    last_wave = data["wave"].max()
    first = data[data["wave"] == last_wave].iloc[0]
    part = data[(data["wave"] == last_wave) & data["stated"] & ~data["hidden"]]
    n_waves = data["wave"].nunique()
    text = (f"{n_waves} recruitment {'wave has' if n_waves == 1 else 'waves have'} started in {area}; the latest, "
            f"{_wave_label(last_wave, first['started'])}, recruited {_count(totals.get(last_wave))} members.")
    if len(part):
        top = part.loc[part["joiners"].astype(float).idxmax()]
        low = part.loc[part["joiners"].astype(float).idxmin()]
        text += (f" By {lower_first(dimension_label)}, its largest group was {top['group']} "
                 f"({int(top['joiners']):,} joiners)")
        text += (f" and the smallest shown {low['group']} ({int(low['joiners']):,})." if low["group"] != top["group"]
                 else ".")
    hidden = int(data["hidden"].sum())
    if hidden:
        text += (f" {hidden} counts are not shown: {hidden_words()} people, or a count from which one "
                 "could be worked out by subtraction from the wave's total.")
    return text


def terms_chart(terms: pd.DataFrame, totals: dict, dimension_label: str, area: str) -> Chart:
    """For each group, the share of its members whose terms end within 3, 6 and 12 months (bars), against the
    whole panel's 12-month share (dotted line). terms: panel_history.terms_ending; totals: terms_ending_total."""
    fig = go.Figure()
    groups = [plain_label(g) for g in terms["group"]]
    for k, (h, colour) in enumerate(zip((3, 6, 12), (NHS_BLUE, NHS_DARK_PINK, NHS_DARK_GREY))):
        fig.add_trace(go.Bar(
            y=groups, x=terms[f"share_{h}"] * 100, name=f"Within {h} months", orientation="h",
            marker=dict(color=colour, pattern_shape=PATTERNS[k]),
            hovertemplate=f"%{{y}}: %{{x:.0f}}% end within {h} months<extra></extra>"))
    overall = totals["within_12"] / totals["serving"] if totals["serving"] else float("nan")
    if not pd.isna(overall):
        fig.add_vline(x=overall * 100, line=dict(color=NHS_GREEN, width=3, dash="dot"),
                      annotation_text=f"Whole panel, 12 months: {pct(overall)}", annotation_position="top right",
                      annotation_font=dict(color="#006B2A", size=16))
    style(fig, height=max(340, 120 + 70 * len(groups)))
    fig.update_layout(barmode="group", bargap=0.3)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="Share of the group's members serving now (%)", ticksuffix="%", range=[0, 105])
    data = pd.DataFrame({
        dimension_label: terms["group"], "Serving now": terms["serving"].map(format_count),
        **{f"Ending within {h} months": _hidden_counts(terms[f"within_{h}"]) for h in (3, 6, 12)},
        "Share ending within 12 months": [pct(v) if not pd.isna(v) else "—" for v in terms["share_12"]]})
    return Chart(fig, terms_sentence(terms, totals, area), data)


def _hidden_counts(values: pd.Series) -> list[str]:
    return [format_count(v) if not pd.isna(v) else "not shown" for v in values]


def terms_sentence(terms: pd.DataFrame, totals: dict, area: str) -> str:
    """How many terms end within 3, 6 and 12 months, and the groups the panel is about to lose most of."""
    n = totals["serving"]
    if not n:
        return f"No panel members are serving in {area}."
    ends = totals["ends"]
    text = (f"Of the {_count(n)} members serving in {area}, {_count(totals['within_3'])} have terms ending within 3 "
            f"months (by {ends[3]:%-d %B %Y}), {_count(totals['within_6'])} within 6 and "
            f"{_count(totals['within_12'])} within 12 months ({pct(totals['within_12'] / n)}).")
    known = terms[terms["stated"] & terms["share_12"].notna()]
    overall = totals["within_12"] / n
    worst = known[known["share_12"] > overall + 0.05].sort_values("share_12", ascending=False).head(3)
    if len(worst):
        items = [f"{r.group} ({pct(r.share_12)} of its {format_count(r.serving)})" for r in worst.itertuples()]
        text += " The panel is about to lose most of: " + "; ".join(items) + "."
    elif len(known):
        text += " No group is losing clearly more than the panel as a whole (5 points or more above it)."
    hidden = int(terms[[f"within_{h}" for h in (3, 6, 12)]].isna().sum().sum())
    if hidden:
        text += (f" {hidden} counts are not shown: {hidden_words()} people, or a count from which one could "
                 "be worked out by subtraction.")
    return text


# --- Participation ---------------------------------------------------------------------------------------


def participation_chart(rates: pd.DataFrame, total: dict, dimension_label: str, area: str, what: str) -> Chart:
    """Response rate of each group to panel surveys with its 95% interval, against the whole panel's rate
    (dotted line). rates: panel_history.participation; total: participation_total; what: which surveys, in words."""
    shown = rates[rates["rate"].notna()]
    fig = go.Figure()
    rate = shown["rate"] * 100
    fig.add_trace(go.Bar(
        y=[plain_label(g) for g in shown["group"]], x=rate, orientation="h", name="Response rate (with 95% interval)",
        marker=dict(color=[NHS_DARK_PINK if h * 100 < total["rate"] * 100 else NHS_BLUE
                           for h in shown["high"]]),
        error_x=dict(type="data", symmetric=False, array=(shown["high"] * 100 - rate).fillna(0),
                     arrayminus=(rate - shown["low"] * 100).fillna(0), color=NHS_DARK_GREY, thickness=2),
        text=[f"{v:.0f}%" + (" ▼" if h < total["rate"] else "") for v, h in zip(rate, shown["high"])],
        textposition="inside", insidetextanchor="start", textfont=dict(color="white", size=16),
        hovertemplate="%{y}: %{x:.1f}% replied<extra></extra>"))
    if total["invited"]:
        fig.add_vline(x=total["rate"] * 100, line=dict(color=NHS_GREEN, width=3, dash="dot"),
                      annotation_text=f"Whole panel {pct(total['rate'])}", annotation_position="top right",
                      annotation_font=dict(color="#006B2A", size=16))
    style(fig, height=max(320, 110 + 60 * len(shown)))
    fig.update_layout(showlegend=False)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="Invitations answered (%)", ticksuffix="%", range=[0, 100])
    data = pd.DataFrame({
        dimension_label: rates["group"],
        "Invitations": [format_count(v) if not pd.isna(v) else "not shown" for v in rates["invited"]],
        "Answered": [format_count(v) if not pd.isna(v) else "not shown" for v in rates["responded"]],
        "Response rate": [pct(v, 1) if not pd.isna(v) else "—" for v in rates["rate"]],
        "95% interval": [f"{pct(lo, 1)} to {pct(hi, 1)}" if not pd.isna(lo) else "—"
                         for lo, hi in zip(rates["low"], rates["high"])]})
    return Chart(fig, participation_sentence(rates, total, dimension_label, area, what), data)


def participation_sentence(rates: pd.DataFrame, total: dict, dimension_label: str, area: str, what: str) -> str:
    """The overall response rate and the groups clearly less likely to reply (interval wholly below it)."""
    if not total["invited"]:
        return f"No panel survey invitations were sent to members in {area} ({what})."
    text = (f"Of {_count(total['invited'])} invitations to panel members in {area} ({what}), "
            f"{_count(total['responded'])} were answered ({pct(total['rate'])}).")
    known = rates[rates["stated"] & rates["rate"].notna()]
    silent = known[known["high"] < total["rate"]].sort_values("rate")
    if len(silent):
        items = [f"{r.group} ({pct(r.rate)})" for r in silent.itertuples()]
        text += (f" By {lower_first(dimension_label)}, clearly less likely to reply (the 95% interval is wholly "
                 f"below the whole panel's rate): " + "; ".join(items) + ".")
    elif len(known):
        low = known.loc[known["rate"].idxmin()]
        text += (f" By {lower_first(dimension_label)}, no group is clearly less likely to reply than the panel as "
                 f"a whole; the lowest rate is {low['group']} ({pct(low['rate'])}).")
    hidden = int(rates["rate"].isna().sum())
    if hidden:
        text += f" {hidden} groups' rates are not shown ({hidden_words()} people, or could be worked out)."
    return text
