"""Deprivation map: small areas coloured by deprivation or engagement reach, with ICP area outlines;
the area detail, the Core20 reach of each ICP area and reach by IMD decile."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from data_access.surveys import TOLERANCE
from data_access.disclosure import format_count, policy
from charts.theme import (
    NHS_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, NHS_GREEN, Chart, pct, plain_label, style,
)

# Decile 1 (most deprived) darkest, decile 10 lightest: the viridis scale, perceptually even, readable
# with colour-vision deficiency and in greyscale, with a clear change of hue between neighbouring deciles.
DECILE_COLOURS = [
    (68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
    (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37),
]
NOT_KNOWN_COLOUR = (200, 200, 200)
# Reach per 1,000 residents: pale (none) to dark blue (most), ColorBrewer YlGnBu (colour-blind safe).
REACH_COLOURS = [(255, 255, 204), (161, 218, 180), (65, 182, 196), (44, 127, 184), (37, 52, 148)]
HIDDEN_COLOUR = (150, 150, 150)
GAP_COLOUR = (213, 40, 27)          # NHS red: a Core20 area with reach below the median
CORE20_REACHED_COLOUR = (0, 94, 184)  # NHS blue: a Core20 area at or above the median
OTHER_COLOUR = (226, 230, 232)

MEASURES = {
    "imd_decile": "IMD national decile",
    "income_decile": "Income decile",
    "employment_decile": "Employment decile",
    "education_decile": "Education, skills and training decile",
    "health_decile": "Health and disability decile",
    "crime_decile": "Crime decile",
    "barriers_decile": "Barriers to housing and services decile",
    "living_environment_decile": "Living environment decile",
    "local_decile": "Rank within Kent and Medway (decile)",
}
REACH_MEASURES = {"members": "Network members", "panel": "Panel members", "respondents": "Survey responses"}
VIEWS = {"deprivation": "Deprivation", "reach": "Engagement reach", "gaps": "Reach gaps in Core20 areas"}


def decile_colour(decile) -> list[int]:
    """The fill colour [r, g, b, a] for a decile (grey where not known)."""
    if decile is None or pd.isna(decile):
        return [*NOT_KNOWN_COLOUR, 160]
    return [*DECILE_COLOURS[int(decile) - 1], 255]


def _css(rgb) -> str:
    return "rgb({},{},{})".format(*rgb[:3])


def _count(value) -> str:
    """A count for the tooltip, the area detail and sentences, as the disclosure policy says."""
    return "not shown" if value is None or pd.isna(value) else format_count(value)


def _rate(value) -> str:
    return "not shown" if value is None or pd.isna(value) else f"{value:.1f}"


def decile_legend(measure: str = "imd_decile") -> list[tuple[str, str]]:
    """(label, CSS colour) pairs for a decile legend."""
    return [(f"{d}{' (most deprived)' if d == 1 else ' (least deprived)' if d == 10 else ''}",
             _css(DECILE_COLOURS[d - 1])) for d in range(1, 11)]


@dataclass
class Colouring:
    """How the small areas are coloured: a fill and a short value label per area, and the legend."""

    title: str
    fills: list[list[int]]
    values: list[str]
    legend: list[tuple[str, str]] = field(default_factory=list)


def reach_breaks(rates: pd.Series) -> list[float]:
    """Upper bounds of the reach classes above zero: the quartiles of the areas' positive rates (1 decimal)."""
    positive = pd.to_numeric(rates, errors="coerce").dropna()
    positive = positive[positive > 0]
    if positive.empty:
        return []
    qs = [round(float(positive.quantile(q)), 1) for q in (0.25, 0.5, 0.75)]
    breaks = sorted({b for b in qs if b > 0})
    return breaks + [math.inf]


def colouring(areas: pd.DataFrame, view: str = "deprivation", measure: str = "imd_decile",
              kind: str = "members", median: float | None = None) -> Colouring:
    """The colours, value labels and legend for a view: deprivation (a decile measure), reach
    (kind per 1,000 residents, in classes) or gaps (Core20 areas below the Kent and Medway median)."""
    if view == "reach":
        rate_col = f"{kind}_per_1000"
        breaks = reach_breaks(areas[rate_col])
        fills, values = [], []
        for count, rate, pop in zip(areas[kind], areas[rate_col], areas["population"]):
            if not pop:
                fills.append([*NOT_KNOWN_COLOUR, 160])
                values.append("no residents recorded")
            elif count is None or pd.isna(count):
                fills.append([*HIDDEN_COLOUR, 255])
                values.append("not shown (too few people)")
            elif rate == 0:
                fills.append([*REACH_COLOURS[0], 255])
                values.append("none")
            else:
                k = next(i for i, b in enumerate(breaks) if rate <= b)
                fills.append([*REACH_COLOURS[k + 1], 255])
                values.append(f"{rate:.1f} per 1,000 residents")
        legend = [("none", _css(REACH_COLOURS[0]))]
        low = 0.0
        for i, b in enumerate(breaks):
            if math.isinf(b):
                label = f"over {low:.1f}" if low else "more than none"
            else:
                label = f"over {low:.1f} to {b:.1f}" if low else f"up to {b:.1f}"
            legend.append((label, _css(REACH_COLOURS[i + 1])))
            low = b
        legend.append(("not shown (too few people)", _css(HIDDEN_COLOUR)))
        return Colouring(f"{REACH_MEASURES[kind]} per 1,000 residents", fills, values, legend)
    if view == "gaps":
        gap = areas[f"{kind}_gap"].fillna(False).astype(bool)
        fills, values = [], []
        for is_gap, core in zip(gap, areas["core20"].astype(bool)):
            if is_gap:
                fills.append([*GAP_COLOUR, 255])
                values.append("reach gap: Core20, below the Kent and Medway median")
            elif core:
                fills.append([*CORE20_REACHED_COLOUR, 255])
                values.append("Core20, at or above the Kent and Medway median")
            else:
                fills.append([*OTHER_COLOUR, 255])
                values.append("not a Core20 area")
        at = f" ({median:.1f} per 1,000)" if median is not None and not pd.isna(median) else ""
        legend = [(f"Core20, {REACH_MEASURES[kind].lower()} below the Kent and Medway median{at}: a reach gap",
                   _css(GAP_COLOUR)),
                  ("Core20, at or above the median", _css(CORE20_REACHED_COLOUR)),
                  ("not Core20 (national deciles 3 to 10)", _css(OTHER_COLOUR))]
        return Colouring(f"Reach gaps: {REACH_MEASURES[kind].lower()}", fills, values, legend)
    series = areas[measure] if measure in areas else pd.Series([None] * len(areas))
    values = [f"decile {int(v)}" if not pd.isna(v) else "not known" for v in series]
    title = MEASURES.get(measure, measure)
    legend = decile_legend(measure)
    if series.isna().any():
        legend.append(("not known", _css(NOT_KNOWN_COLOUR)))
    return Colouring(f"{title} (1 = most deprived)", [decile_colour(v) for v in series], values, legend)


def legend_html(col: Colouring) -> str:
    """The legend as HTML swatches with their labels (colour is never the only cue: each has words)."""
    items = "".join(
        f"<li style='display:flex;align-items:center;margin:2px 0;list-style:none'><span style='display:inline-block;"
        f"width:22px;height:16px;background:{css};border:1px solid #425563;margin-right:8px;flex:none'></span>"
        f"{label}</li>"
        for label, css in col.legend)
    return (f"<div style='font-size:1rem;line-height:1.3'><div style='font-weight:bold;margin-bottom:4px'>"
            f"Map legend: {col.title}</div><ul style='padding-left:0;margin:0'>{items}</ul></div>")


class CompactDeck(pdk.Deck):
    """A pydeck Deck whose JSON has no indentation: about a seventh of the size sent to the browser. The JSON
    is worked out once and kept (the deck is not changed after it is built), so a kept deck is not
    serialised again on every rerun."""

    def to_json(self) -> str:
        text = self.__dict__.get("_compact_json")
        if text is None:
            text = json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))
            self.__dict__["_compact_json"] = text
        return text


def _zoom(areas: pd.DataFrame) -> tuple[float, float, float]:
    lon = pd.to_numeric(areas.get("longitude"), errors="coerce").dropna() if len(areas) else pd.Series(dtype=float)
    lat = pd.to_numeric(areas.get("latitude"), errors="coerce").dropna() if len(areas) else pd.Series(dtype=float)
    if lon.empty or lat.empty:
        return 51.27, 0.75, 8.3
    span = max(float(lon.max() - lon.min()), float(lat.max() - lat.min()) * 1.6, 0.02)
    zoom = min(max(math.log2(1.9 / span) + 7.75, 6.5), 12.0)
    return (float(lat.min() + lat.max()) / 2, float(lon.min() + lon.max()) / 2, round(zoom, 2))


def deprivation_map(areas: pd.DataFrame, icp_outlines: pd.DataFrame, measure: str = "imd_decile",
                    shapes: dict | None = None, col: Colouring | None = None, selected: str | None = None) -> pdk.Deck:
    """A pydeck map of small areas (outlines from shapes, or areas['geometry'] as GeoJSON text), coloured
    as col says (by default the decile measure), with ICP outlines and a tooltip; no basemap."""
    col = col or colouring(areas, "deprivation", measure)
    features = []
    for i, row in enumerate(areas.itertuples(index=False)):
        geometry = (shapes or {}).get(row.code)
        if geometry is None and "geometry" in areas and getattr(row, "geometry", None):
            geometry = json.loads(row.geometry)
        if geometry is None:
            continue
        decile = getattr(row, measure, None) if measure in areas else None
        props = {
            # the tooltip is HTML: names (from reference files) are escaped, as in every chart label
            "name": plain_label(row.name), "code": row.code, "district": plain_label(row.district),
            "icp": plain_label(row.icp),
            "decile": int(decile) if decile is not None and not pd.isna(decile) else "not known",
            "imd_decile": int(row.imd_decile) if not pd.isna(row.imd_decile) else "not known",
            "value": col.values[i], "population": f"{int(row.population):,}", "fill": col.fills[i],
        }
        for kind in REACH_MEASURES:
            props[kind] = _count(getattr(row, kind, None))
            props[f"{kind}_per_1000"] = _rate(getattr(row, f"{kind}_per_1000", None))
        features.append({"type": "Feature", "geometry": geometry, "properties": props})
    layers = [pdk.Layer(
        "GeoJsonLayer", id="small-areas", data={"type": "FeatureCollection", "features": features},
        pickable=True, stroked=True, filled=True, auto_highlight=True, highlight_color=[255, 184, 28, 200],
        get_fill_color="properties.fill", get_line_color=[255, 255, 255, 140], line_width_min_pixels=0.5,
    )]
    outline_features = [{"type": "Feature", "geometry": json.loads(g), "properties": {"icp": n}}
                        for n, g in zip(icp_outlines.get("icp", []), icp_outlines.get("geometry", []))]
    if outline_features:
        layers.append(pdk.Layer(
            "GeoJsonLayer", id="icp-outlines", data={"type": "FeatureCollection", "features": outline_features},
            stroked=True, filled=False, pickable=False, get_line_color=[33, 43, 50, 255], line_width_min_pixels=3,
        ))
    chosen = [f for f in features if f["properties"]["code"] == selected]
    if chosen:
        layers.append(pdk.Layer(
            "GeoJsonLayer", id="selected-area", data={"type": "FeatureCollection", "features": chosen},
            stroked=True, filled=False, pickable=False, get_line_color=[255, 184, 28, 255], line_width_min_pixels=5,
        ))
    lat, lon, zoom = _zoom(areas)
    tooltip = {
        "html": "<b>{name}</b> ({code})<br/>{district}, {icp}<br/>"
                + ("" if col.title.startswith(MEASURES["imd_decile"]) else
                   f"{col.title.split(' (')[0]}: <b>{{value}}</b><br/>")
                + "IMD national decile: <b>{imd_decile}</b> (1 = most deprived)<br/>Residents: {population}<br/>"
                "Network members: {members} ({members_per_1000} per 1,000)<br/>"
                "Panel members: {panel} ({panel_per_1000} per 1,000)<br/>"
                "Survey responses in period: {respondents} ({respondents_per_1000} per 1,000)",
        "style": {"backgroundColor": "#003087", "color": "white", "fontSize": "15px"},
    }
    return CompactDeck(layers=layers, initial_view_state=pdk.ViewState(latitude=lat, longitude=lon, zoom=zoom),
                       map_provider=None, map_style=None, tooltip=tooltip)


def deprivation_map_chart(areas: pd.DataFrame, icp_outlines: pd.DataFrame, area: str,
                          measure: str = "imd_decile", shapes: dict | None = None, view: str = "deprivation",
                          kind: str = "members", median: float | None = None, col: Colouring | None = None,
                          selected: str | None = None) -> Chart:
    """The map with its sentence and its data table; col (from colouring()) says how areas are coloured,
    selected is the code of an area to outline."""
    col = col or colouring(areas, view, measure, kind, median)
    deck = deprivation_map(areas, icp_outlines, measure, shapes, col, selected)
    n = len(areas)
    core = areas[areas["imd_decile"] <= 2] if n else areas
    pop = int(areas["population"].sum()) if n else 0
    core_pop = int(core["population"].sum()) if n else 0
    # Without a population loaded (e.g. IoD2019 File 1 alone), the residents are left out: the page says why.
    home = f", home to {core_pop:,} of {pop:,} residents ({pct(core_pop / pop)})" if pop else ""
    sentence = (
        f"{area} has {n:,} small areas (LSOAs). {len(core):,} of them ({pct(len(core) / n if n else None)}) are "
        f"among the most deprived 20% in England (Core20, national deciles 1 and 2){home}."
    )
    if view == "deprivation" and measure != "imd_decile" and measure in areas and n:
        low = int((areas[measure] <= 2).sum())
        scope = "Kent and Medway's small areas" if measure == "local_decile" else "England's small areas"
        sentence += (f" By {MEASURES[measure].lower().replace(' (decile)', '')}, {low:,} ({pct(low / n)}) are "
                     f"in deciles 1 and 2, the most deprived 20% of {scope}.")
    elif view == "reach" and n:
        rates = areas[f"{kind}_per_1000"]
        none = int((areas[kind] == 0).sum())
        sentence += (f" {REACH_MEASURES[kind]} per 1,000 residents: the middle (median) area here has "
                     f"{_rate(rates.median())}; {none:,} areas have none.")
    elif view == "gaps" and n:
        gaps = int(areas[f"{kind}_gap"].fillna(False).sum())
        at = f" ({median:.1f} per 1,000 residents)" if median is not None and not pd.isna(median) else ""
        sentence = (f"{gaps:,} of the {len(core):,} Core20 small areas in {area} have fewer "
                    f"{REACH_MEASURES[kind].lower()} per 1,000 residents than the middle (median) small area of "
                    f"Kent and Medway{at}: these are the reach gaps, shown in red.")
    columns = ["code", "name", "district", "icp", "imd_decile", measure, "local_rank", "local_decile", "population",
               "members", "members_per_1000", "panel", "panel_per_1000", "respondents", "respondents_per_1000"]
    if view == "gaps":
        columns.append(f"{kind}_gap")
    data = areas[[c for c in dict.fromkeys(columns) if c in areas]].copy()
    return Chart(deck, sentence, data)


# --- The detail of one small area ------------------------------------------------------------


@dataclass
class AreaDetail:
    """One small area: a heading, a sentence per kind of engagement, and two small tables."""

    title: str
    summary: str
    sentences: list[str]
    reach: pd.DataFrame
    deprivation: pd.DataFrame


def _compare(value: float, other: float | None) -> str:
    if other is None or pd.isna(other):
        return "not known"
    if other == 0:
        return "above" if value > 0 else "the same as"
    ratio = value / other
    return "well below" if ratio < 0.8 else "well above" if ratio > 1.25 else "close to"


def area_detail(row: pd.Series, benchmarks: pd.DataFrame) -> AreaDetail:
    """The figures of one small area (a row of data_access.reach.area_reach) and how its reach compares
    with its ICP area and Kent and Medway (benchmarks: data_access.reach.reach_benchmarks)."""
    bench = benchmarks.set_index("area") if len(benchmarks) else benchmarks
    icp = bench.loc[row["icp"]] if row["icp"] in bench.index else None
    km = bench.loc["Kent and Medway"] if "Kent and Medway" in bench.index else None
    core = bool(row["imd_decile"] <= 2)
    summary = (f"{row['district']}, {row['icp']}. National IMD decile {int(row['imd_decile'])}"
               f"{' (Core20: among the most deprived 20% in England)' if core else ''}"
               + (f"; {int(row['population']):,} residents." if row["population"] else "."))
    sentences, rows = [], []
    for kind, label in REACH_MEASURES.items():
        count, rate = row.get(kind), row.get(f"{kind}_per_1000")
        icp_rate = icp[f"{kind}_per_1000"] if icp is not None else None
        km_rate = km[f"{kind}_per_1000"] if km is not None else None
        km_median = km[f"{kind}_median"] if km is not None else None
        rows.append({"Engagement": label, "This area": _count(count), "Per 1,000 residents": _rate(rate),
                     f"{row['icp']} per 1,000": _rate(icp_rate), "Kent and Medway per 1,000": _rate(km_rate),
                     "Kent and Medway median area": _rate(km_median)})
        if count is None or pd.isna(count):
            sentences.append(f"{label}: too few to show (or could be worked out from the area's total), so the "
                             "number and rate are not shown.")
        elif rate is None or pd.isna(rate):
            sentences.append(f"{label}: {format_count(count)}.")
        elif count == 0:
            sentences.append(f"{label}: none here, against {_rate(icp_rate)} per 1,000 residents in {row['icp']} "
                             f"and {_rate(km_rate)} in Kent and Medway.")
        else:
            sentences.append(
                f"{label}: {format_count(count)}, {rate:.1f} per 1,000 residents, {_compare(rate, icp_rate)} "
                f"{row['icp']} ({_rate(icp_rate)}) and {_compare(rate, km_rate)} Kent and Medway ({_rate(km_rate)}).")
    deprivation = pd.DataFrame([
        {"Measure": MEASURES[k].replace(" decile", "").replace(" (decile)", ""),
         "Decile (1 = most deprived)": "not known" if pd.isna(row.get(k)) else int(row.get(k))}
        for k in MEASURES if k in row.index])
    return AreaDetail(f"{row['name']} ({row['code']})", summary, sentences, pd.DataFrame(rows), deprivation)


# --- Core20 reach per ICP area and district -----------------------------------------------------

_KIND_STYLE = {"members": (NHS_BLUE, "/"), "panel": (NHS_DARK_PINK, "x"), "respondents": (NHS_GREEN, "-")}


def core20_reach_sentences(table: pd.DataFrame) -> list[str]:
    """A plain-English sentence per row of data_access.reach.core20_reach."""
    out = []
    for r in table.to_dict("records"):
        parts = []
        for kind, label in REACH_MEASURES.items():
            share = r[f"{kind}_core20_share"]
            parts.append(f"{pct(share)} of {label.lower()}" if not pd.isna(share)
                         else f"{label.lower()}: too few to show")
        ratios = {k: r[f"{k}_ratio"] for k in REACH_MEASURES if not pd.isna(r[f"{k}_ratio"])}
        verdict = ""
        if ratios:
            low = min(ratios, key=ratios.get)
            word = ("under-represented" if ratios[low] < TOLERANCE[0] else
                    "over-represented" if ratios[low] > TOLERANCE[1] else "in proportion")
            verdict = (f" The lowest Core20 reach ratio is for {REACH_MEASURES[low].lower()}: {ratios[low]:.2f}, "
                       f"so people from Core20 areas are {word} there (1.00 = in proportion).")
        if pd.isna(r["core20_share"]):  # no population loaded: no residents' share to compare with
            out.append(f"{r['area']}: people from Core20 areas are {', '.join(parts[:2])} and {parts[2]}.")
            continue
        out.append(f"{r['area']}: {pct(r['core20_share'])} of residents live in Core20 areas; they are "
                   f"{', '.join(parts[:2])} and {parts[2]}.{verdict}")
    return out


def core20_reach_chart(table: pd.DataFrame) -> Chart:
    """Core20 share of residents beside the Core20 share of members, panel and responses, per area."""
    fig = go.Figure()
    fig.add_trace(go.Bar(
        y=[plain_label(a) for a in table["area"]], x=table["core20_share"] * 100, name="Residents", orientation="h",
        marker=dict(color="white", line=dict(color=NHS_DARK_GREY, width=2)), marker_pattern_shape=".",
        text=[pct(v) for v in table["core20_share"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f}% of residents live in Core20 areas<extra></extra>"))
    for kind, label in REACH_MEASURES.items():
        colour, pattern = _KIND_STYLE[kind]
        share = table[f"{kind}_core20_share"]
        fig.add_trace(go.Bar(
            y=[plain_label(a) for a in table["area"]], x=share * 100, name=label, orientation="h", marker_color=colour,
            marker_pattern_shape=pattern, text=[pct(v) for v in share], textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{x:.1f}% of " + label.lower() + " are from Core20 areas<extra></extra>"))
    style(fig, height=max(340, 120 + 120 * len(table)))
    fig.update_layout(barmode="group", bargap=0.2)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="From Core20 areas (national deciles 1 and 2), %", ticksuffix="%")
    sentence = core20_reach_sentences(table.iloc[[-1]])[0] if len(table) else "No small areas are loaded."
    return Chart(fig, sentence, reach_table(table))


def reach_table(table: pd.DataFrame) -> pd.DataFrame:
    """data_access.reach.core20_reach with readable headings."""
    names = {"area": "Area", "lsoas": "Small areas", "population": "Residents",
             "core20_population": "Residents in Core20 areas", "core20_share": "Share of residents in Core20 areas"}
    for kind, label in REACH_MEASURES.items():
        names.update({kind: f"{label} (small area known)", f"{kind}_core20": f"{label} from Core20 areas",
                      f"{kind}_core20_share": f"Share of {label.lower()} from Core20 areas",
                      f"{kind}_ratio": f"Core20 reach ratio, {label.lower()}"})
    return table.rename(columns=names)


# --- Reach by IMD decile -----------------------------------------------------------------------


def reach_by_decile_chart(frame: pd.DataFrame, kind: str, area: str) -> Chart:
    """Engagement per 1,000 residents in each national IMD decile (frame: data_access.reach.reach_by_decile)."""
    label = REACH_MEASURES[kind]
    rate = frame[f"{kind}_per_1000"]
    fig = go.Figure(go.Bar(
        x=[f"{d}" for d in frame["decile"]], y=rate,
        marker=dict(color=[_css(DECILE_COLOURS[int(d) - 1]) for d in frame["decile"]],
                    line=dict(color=NHS_DARK_GREY, width=1.5)),
        text=[_rate(v) if not pd.isna(v) else ("no areas" if not p else policy().hidden_label)
              for v, p in zip(rate, frame["population"])],
        textposition="outside", cliponaxis=False,
        hovertemplate="Decile %{x}: %{y:.1f} per 1,000 residents<extra></extra>"))
    style(fig, height=420)
    top = float(rate.max()) if rate.notna().any() else 1.0
    fig.update_yaxes(title_text=f"{label} per 1,000 residents", range=[0, top * 1.18 + 0.1])
    fig.update_xaxes(title_text="National IMD decile (1 = most deprived 10% in England, 10 = least deprived)",
                     type="category")
    known = frame[(frame["population"] > 0) & rate.notna()]
    if len(known) < 2:
        sentence = f"{area} has too few small areas with figures to compare deciles."
    else:
        first, last = known.iloc[0], known.iloc[-1]
        a, b = first[f"{kind}_per_1000"], last[f"{kind}_per_1000"]
        if b > 0:
            ratio = a / b
            how = (f"{ratio:.1f} times as many" if ratio >= 1.05 else
                   "about the same" if ratio > 0.95 else f"{ratio * 100:.0f}% as many")
        else:
            how = "more" if a > 0 else "the same"
        sentence = (f"{area}: {label.lower()} per 1,000 residents are {a:.1f} in decile {int(first['decile'])} "
                    f"(most deprived) and {b:.1f} in decile {int(last['decile'])} (least deprived): the most "
                    f"deprived areas have {how} per resident.")
    data = frame.rename(columns={"decile": "IMD decile", "lsoas": "Small areas", "population": "Residents",
                                 **{k: v for kk, vv in REACH_MEASURES.items()
                                    for k, v in ((kk, vv), (f"{kk}_per_1000", f"{vv} per 1,000"))}})
    return Chart(fig, sentence, data)


def core20_by_icp_chart(profile: pd.DataFrame) -> Chart:
    """Share of residents living in Core20 areas, per ICP area (profile: icp, core20_share, ...)."""
    fig = go.Figure(go.Bar(
        y=[plain_label(a) for a in profile["icp"]], x=profile["core20_share"] * 100, orientation="h",
        marker_color=NHS_BLUE,
        text=[pct(v) for v in profile["core20_share"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f}% of residents in Core20 areas<extra></extra>",
    ))
    style(fig, height=320)
    fig.update_yaxes(autorange="reversed")
    top = float(profile["core20_share"].max()) if len(profile) else 0.0
    fig.update_xaxes(title_text="Residents living in Core20 areas (%)", ticksuffix="%", range=[0, top * 100 * 1.15 + 1])
    if profile.empty:
        return Chart(fig, "No small areas are loaded.", profile)
    top = profile.loc[profile["core20_share"].idxmax()]
    low = profile.loc[profile["core20_share"].idxmin()]
    sentence = (
        f"{top['icp']} has the highest share of residents living in Core20 areas: {pct(top['core20_share'])} "
        f"({int(top['core20_population']):,} of {int(top['population']):,}). {low['icp']} has the lowest: "
        f"{pct(low['core20_share'])}."
    )
    data = profile.rename(columns={
        "icp": "ICP area", "lsoas": "Small areas", "population": "Residents", "core20_lsoas": "Core20 small areas",
        "core20_population": "Residents in Core20 areas", "core20_share": "Share in Core20 areas",
        "decile_1_lsoas": "Small areas in decile 1"})
    return Chart(fig, sentence, data)

