"""Deprivation map: small areas by deprivation or engagement reach across the four ICP areas,
the reach gaps in Core20 areas, each area's detail, Core20 reach per ICP area and district, and
reach by IMD decile."""

import dataclasses
import html

import streamlit as st

from charts.maps import (
    MEASURES, REACH_MEASURES, VIEWS, area_detail, colouring, core20_reach_chart, core20_reach_sentences,
    deprivation_map_chart, legend_html, reach_by_decile_chart, reach_table,
)
from charts.theme import pct
from data_access.cached import derived
from data_access.disclosure import format_count
from data_access.geography import geography_status, icp_boundaries, lsoa_shapes, unplaced_engagement
from data_access.reach import area_reach, core20_reach, reach_benchmarks, reach_by_decile
from ui.context import open_run
from ui.render import chart_table, data_table, icp_caveat, show_chart, show_table, synthetic_notice

run = open_run()
filters = run.filters
st.title("Deprivation map")
status = run.query(geography_status)
st.markdown(f"**{filters.area_label}**: English Indices of Deprivation ({status['edition']}), decile 1 = the most "
            f"deprived 10% of small areas in England. Engagement reach: network and panel members on "
            f"{filters.end:%-d %B %Y}, survey responses {filters.period_label}.")
synthetic_notice(status)

areas = run.query(area_reach, filters)
if areas.empty:
    st.info("No small areas are loaded for this area. Load reference data with `engagement import-reference PATH`.")
    st.stop()
benchmarks = run.query(reach_benchmarks, filters)
km = benchmarks.set_index("area").loc["Kent and Medway"]

# --- What to show -----------------------------------------------------------------------------
c1, c2, c3 = st.columns([1.4, 1.2, 1.2])
view = c1.radio("Show on the map", list(VIEWS), format_func=VIEWS.get, key="map_view", horizontal=True)
measure = c2.selectbox("Deprivation measure", list(MEASURES), format_func=MEASURES.get, key="map_measure")
kind = c3.selectbox("Engagement measure (reach and gaps)", list(REACH_MEASURES), format_func=REACH_MEASURES.get,
                    key="map_reach")

core = areas[areas["core20"]]
has_population = bool(areas["population"].sum())
if not has_population:
    st.info(f"The population of the small areas is not loaded ({status['edition']}), so residents, rates per "
            "1,000 residents, reach gaps and Core20 reach ratios are left out of this page. Load it with "
            "`engagement import-reference`: Census 2021 population on 2021 small areas, or the IoD2019 population "
            "denominators (File 6) on 2011 small areas.", icon=":material/info:")
m1, m2, m3 = st.columns(3)
m1.metric("Core20 small areas", f"{len(core):,} of {len(areas):,}",
          help="Small areas in national IMD deciles 1 and 2, the most deprived 20% in England.")
if has_population:
    m2.metric("Residents in Core20 areas", pct(core["population"].sum() / areas["population"].sum()))
m3.metric(f"Reach gaps ({REACH_MEASURES[kind].lower()})", f"{int(areas[f'{kind}_gap'].sum()):,}",
          help="Core20 small areas with fewer per 1,000 residents than the middle (median) small area of "
               "Kent and Medway.")

# --- The map and the chosen area beside it ------------------------------------------------------
# A click on the map (the map's state from the last run) chooses the area, so the map can outline it.
names = dict(zip(areas["code"], areas["name"]))
clicked = (st.session_state.get("imd_map") or {}).get("selection", {}).get("objects", {}).get("small-areas", [])
picked = [obj.get("properties", obj).get("code") for obj in clicked]
if picked and picked[0] != st.session_state.get("_map_clicked"):
    st.session_state["_map_clicked"] = picked[0]
    st.session_state["map_area"] = picked[0]
if st.session_state.get("map_area") not in names:
    st.session_state["map_area"] = None

col = run.built(colouring, areas, view, measure, kind, km[f"{kind}_median"])
selected = st.session_state.get("map_area")
chart = run.built(deprivation_map_chart, areas, run.query(icp_boundaries), filters.area_label, measure,
                  shapes=run.query(lsoa_shapes), view=view, kind=kind, median=km[f"{kind}_median"], col=col,
                  selected=selected)
left, right = st.columns([2.6, 1.2])
with left:
    st.pydeck_chart(chart.figure, on_select="rerun", selection_mode="single-object", key="imd_map", height=640)
    st.markdown(f"<p class='chart-sentence'>{html.escape(chart.sentence)}</p>", unsafe_allow_html=True)
    show_table(chart.data, "imd_map", shown=derived(chart_table, chart))
with right:
    st.markdown(legend_html(col), unsafe_allow_html=True)
    code = st.selectbox("Small area (or click the map)", sorted(names, key=names.get), key="map_area",
                        placeholder="Choose a small area", format_func=lambda c: f"{names[c]} ({c})")
    if code is None:
        st.markdown("Click a small area on the map, or choose one here, to see its figures and how its reach "
                    "compares with its ICP area and with Kent and Medway.")
    else:
        detail = run.built(area_detail, areas.set_index("code", drop=False).loc[code], benchmarks)
        st.subheader(detail.title)
        st.markdown(detail.summary)
        st.markdown("\n".join(f"- {s}" for s in detail.sentences))
        data_table(detail.reach)
        with st.expander("Deprivation deciles of this area"):
            data_table(detail.deprivation)

# --- Records that cannot be placed on the map -----------------------------------------------------
unplaced = run.query(unplaced_engagement, filters).set_index("kind")
labels = {"members": "network members", "panel": "panel members", "respondents": "survey responses"}
for column, why in [("not_in_geography", f"have a small area code that is not in the loaded geography "
                                         f"({status['edition']}), so they are in no area on this page"),
                    ("no_outline", "are in small areas with no outline loaded, so they are counted but not drawn")]:
    parts = [f"{format_count(n)} {labels[k]}" for k, n in unplaced[column].items() if n]
    if parts:
        st.warning(f"{', '.join(parts)} {why}. Check the codes, or load the matching reference data.",
                   icon=":material/warning:")
missing = [f"{format_count(n)} {labels[k]}" for k, n in unplaced["no_area"].items() if n]
if missing:
    coarse = [f"{format_count(n)} {labels[k]}" for k, n in unplaced["coarse_area"].items() if n]
    st.caption(f"Not on the map because no small area was recorded: {', '.join(missing)} (all of Kent and Medway"
               f"{'; of these, the district or ICP area is known for ' + ', '.join(coarse) if coarse else ''}).")

# --- Core20 reach per ICP area and per district ----------------------------------------------------
st.subheader("Are we reaching Core20 areas? By ICP area")
by_icp = run.query(core20_reach, dataclasses.replace(filters, icp=None), "icp")
show_chart(run.built(core20_reach_chart, by_icp), "core20_reach_icp")
st.markdown("\n".join(f"- {s}" for s in core20_reach_sentences(by_icp.iloc[:-1])))
st.caption("Core20 reach ratio = the share of members, panel members or responses from Core20 areas divided by "
           "the share of residents living there; 1.00 is in proportion, below 0.8 is under-represented. "
           "All four ICP areas are shown for comparison, whatever area is chosen.")

st.subheader(f"By district: {filters.area_label}")
by_district = run.query(core20_reach, filters, "district").iloc[:-1]
if len(by_district):
    ratio = by_district[f"{kind}_ratio"]
    most = by_district.loc[by_district["core20_population"].idxmax()]
    text = (f"{most['area']} has the most residents in Core20 areas: {int(most['core20_population']):,} "
            f"({pct(most['core20_share'])} of its {int(most['population']):,})." if has_population else "")
    rated = by_district[ratio.notna() & (by_district["core20_population"] > 0)]
    if len(rated):
        low = rated.loc[rated[f"{kind}_ratio"].idxmin()]
        text += (f" The lowest Core20 reach ratio for {REACH_MEASURES[kind].lower()} is in {low['area']}: "
                 f"{low[f'{kind}_ratio']:.2f}.")
    if text:
        st.markdown(f"<p class='chart-sentence'>{html.escape(text.strip())}</p>", unsafe_allow_html=True)
show_table(run.built(reach_table, run.query(core20_reach, filters, "district")), "core20_reach_district",
           label="Table: Core20 reach by district")
st.caption("Sevenoaks and Swale are split between two ICP areas; with one ICP area chosen, a district here is "
           "its part in that area.")

# --- Reach by IMD decile ---------------------------------------------------------------------
show_chart(run.built(reach_by_decile_chart, run.query(reach_by_decile, filters), kind, filters.area_label), "reach_by_decile",
           f"{REACH_MEASURES[kind]} per 1,000 residents by IMD decile")
icp_caveat()
