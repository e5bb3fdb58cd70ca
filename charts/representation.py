"""Who we reach against who lives there: shares side by side, and the representation ratio."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.theme import NHS_BLUE, NHS_DARK_GREY, Chart, pct, plain_label, style
from charts.words import lower_first
from data_access.disclosure import format_count


def representation_chart(rep: pd.DataFrame, engaged_label: str, dimension_label: str, area: str) -> Chart:
    """Engaged share beside resident share for each group (rep: from data_access.profiles.representation)."""
    known = rep[rep["stated"]].copy()
    groups = [plain_label(g) for g in known["group"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        y=groups, x=known["resident_share"] * 100, name="Residents", orientation="h",
        marker=dict(color="white", line=dict(color=NHS_DARK_GREY, width=2)), marker_pattern_shape=".",
        hovertemplate="%{y}: %{x:.1f}% of residents<extra></extra>",
    ))
    fig.add_trace(go.Bar(
        y=groups, x=known["share"] * 100, name=engaged_label.capitalize(), orientation="h",
        marker_color=NHS_BLUE, text=[_ratio_label(r) for r in known["ratio"]], textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f}% of " + engaged_label + "<extra></extra>",
    ))
    style(fig, height=max(300, 90 + 70 * len(known)))
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(autorange="reversed")
    top = max(known["share"].max(skipna=True) if len(known) else 0, known["resident_share"].max() if len(known) else 0)
    fig.update_xaxes(title_text="Share (%)", ticksuffix="%", range=[0, (0 if pd.isna(top) else top) * 100 * 1.18 + 1])
    data = rep.rename(columns={
        "group": dimension_label, "count": engaged_label.capitalize(), "share": f"Share of {engaged_label}",
        "residents": "Residents", "resident_share": "Share of residents", "ratio": "Representation ratio",
        "gap_pp": "Gap (percentage points)",
    }).drop(columns=["stated", "suppressed"])
    return Chart(fig, representation_sentence(rep, engaged_label, dimension_label, area), data)


def _ratio_label(ratio) -> str:
    return "" if ratio is None or pd.isna(ratio) else f"×{ratio:.2f}"


def representation_sentence(rep: pd.DataFrame, engaged_label: str, dimension_label: str, area: str) -> str:
    """The biggest under- and over-representation in words, with the numbers."""
    if rep.attrs.get("withheld"):
        return rep.attrs["withheld"]
    known = rep[rep["stated"] & rep["ratio"].notna()]
    unstated_counts = pd.to_numeric(rep.loc[~rep["stated"], "count"], errors="coerce")
    unstated = int(unstated_counts.fillna(0).sum())
    if known.empty:
        return f"There are too few {engaged_label} in {area} to compare by {lower_first(dimension_label)}."
    low = known.loc[known["ratio"].idxmin()]
    high = known.loc[known["ratio"].idxmax()]
    text = (
        f"By {lower_first(dimension_label)} in {area}: {low['group']} are {pct(low['resident_share'])} of residents "
        f"but {pct(low['share'])} of {engaged_label} (ratio {low['ratio']:.2f}, the least well represented); "
        f"{high['group']} are {pct(high['resident_share'])} of residents and {pct(high['share'])} of "
        f"{engaged_label} (ratio {high['ratio']:.2f})."
    )
    if unstated_counts.isna().any():
        text += " Those who did not say or are not known are left out of the shares."
    elif unstated:
        text += f" {format_count(unstated)} {engaged_label} did not say or are not known and are left out of the shares."
    return text
