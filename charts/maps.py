"""Deprivation map: small areas coloured by national IMD decile, with ICP area outlines."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk

from charts.theme import NHS_BLUE, Chart, pct, style

# Decile 1 (most deprived) darkest, decile 10 lightest: one hue, so it reads in greyscale too.
DECILE_COLOURS = [
    (0, 48, 135), (0, 70, 160), (0, 94, 184), (0, 114, 206), (44, 140, 220),
    (90, 165, 228), (133, 188, 236), (171, 208, 242), (205, 226, 247), (232, 241, 251),
]
MEASURES = {
    "imd_decile": "IMD national decile",
    "income_decile": "Income decile",
    "employment_decile": "Employment decile",
    "education_decile": "Education, skills and training decile",
    "health_decile": "Health and disability decile",
    "crime_decile": "Crime decile",
    "barriers_decile": "Barriers to housing and services decile",
    "living_environment_decile": "Living environment decile",
}


def decile_colour(decile) -> list[int]:
    """The fill colour [r, g, b, a] for a national decile (grey where not known)."""
    if decile is None or pd.isna(decile):
        return [200, 200, 200, 160]
    return [*DECILE_COLOURS[int(decile) - 1], 200]


def _fmt(value, per_1000: bool = False) -> str:
    if value is None or pd.isna(value):
        return "fewer than 5" if not per_1000 else "–"
    return f"{value:.1f}" if per_1000 else f"{int(value):,}"


def deprivation_map(areas: pd.DataFrame, icp_outlines: pd.DataFrame, measure: str = "imd_decile") -> pdk.Deck:
    """A pydeck map of small areas coloured by a decile measure, with ICP outlines and a tooltip."""
    features = []
    for row in areas.itertuples(index=False):
        if not row.geometry:
            continue
        features.append({
            "type": "Feature",
            "geometry": json.loads(row.geometry),
            "properties": {
                "name": row.name, "code": row.code, "district": row.district, "icp": row.icp,
                "decile": int(getattr(row, measure)) if not pd.isna(getattr(row, measure)) else "not known",
                "population": f"{int(row.population):,}",
                "members": _fmt(row.members), "members_per_1000": _fmt(row.members_per_1000, True),
                "respondents": _fmt(row.respondents), "panel": _fmt(row.panel),
                "fill": decile_colour(getattr(row, measure)),
            },
        })
    layers = [pdk.Layer(
        "GeoJsonLayer", id="small-areas", data={"type": "FeatureCollection", "features": features},
        pickable=True, stroked=True, filled=True, get_fill_color="properties.fill",
        get_line_color=[255, 255, 255, 120], line_width_min_pixels=0.5,
    )]
    outline_features = [{"type": "Feature", "geometry": json.loads(g), "properties": {"icp": n}}
                        for n, g in zip(icp_outlines.get("icp", []), icp_outlines.get("geometry", []))]
    if outline_features:
        layers.append(pdk.Layer(
            "GeoJsonLayer", id="icp-outlines", data={"type": "FeatureCollection", "features": outline_features},
            stroked=True, filled=False, get_line_color=[33, 43, 50, 255], line_width_min_pixels=2.5,
        ))
    lat = float(areas["latitude"].mean()) if len(areas) else 51.27
    lon = float(areas["longitude"].mean()) if len(areas) else 0.75
    tooltip = {
        "html": "<b>{name}</b> ({code})<br/>{district}, {icp}<br/>"
                f"{MEASURES.get(measure, measure)}: <b>{{decile}}</b> (1 = most deprived)<br/>"
                "Residents: {population}<br/>Network members: {members} ({members_per_1000} per 1,000)<br/>"
                "Survey respondents in period: {respondents}<br/>Panel members: {panel}",
        "style": {"backgroundColor": "#003087", "color": "white", "fontSize": "15px"},
    }
    return pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(latitude=lat, longitude=lon, zoom=8.3),
                    map_style=None, tooltip=tooltip)


def deprivation_map_chart(areas: pd.DataFrame, icp_outlines: pd.DataFrame, area: str,
                          measure: str = "imd_decile") -> Chart:
    """The map with its sentence and its data table."""
    deck = deprivation_map(areas, icp_outlines, measure)
    n = len(areas)
    core = areas[areas["imd_decile"] <= 2] if n else areas
    pop = int(areas["population"].sum()) if n else 0
    core_pop = int(core["population"].sum()) if n else 0
    sentence = (
        f"{area} has {n:,} small areas (LSOAs). {len(core):,} of them ({pct(len(core) / n if n else None)}) are "
        f"among the most deprived 20% in England (Core20, national deciles 1 and 2), home to "
        f"{core_pop:,} of {pop:,} residents ({pct(core_pop / pop if pop else None)})."
    )
    columns = ["code", "name", "district", "icp", "imd_decile", measure, "local_rank", "population",
               "members", "members_per_1000", "respondents", "panel"]
    data = areas[[c for c in dict.fromkeys(columns) if c in areas]].copy()
    return Chart(deck, sentence, data)


def decile_legend() -> list[tuple[str, str]]:
    """(label, CSS colour) pairs for the decile legend."""
    return [(f"{d}{' (most deprived)' if d == 1 else ' (least deprived)' if d == 10 else ''}",
             "rgb({},{},{})".format(*DECILE_COLOURS[d - 1])) for d in range(1, 11)]


def core20_by_icp_chart(profile: pd.DataFrame) -> Chart:
    """Share of residents living in Core20 areas, per ICP area (profile: icp, core20_share, ...)."""
    fig = go.Figure(go.Bar(
        y=profile["icp"], x=profile["core20_share"] * 100, orientation="h", marker_color=NHS_BLUE,
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
