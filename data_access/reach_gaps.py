"""Reach gaps to act on: the groups we hear from least compared with who lives there, across every source
(network members, survey respondents, the citizens' panel, and the Core20 reach of each district on the map).

How a gap is measured and ranked
--------------------------------
For each group (an age band, sex, ethnic group, disability, deprivation quintile, or the Core20 areas of a
district) the *shortfall* is the group's share of residents minus its share of the engaged people whose group
is known, in percentage points. Only groups whose engaged share is clearly below their resident share are
listed: the upper end of the 95% interval (Wilson) of the engaged share must be below the resident share, so
a gap is not just chance in a small number of people. Gaps are ranked by the shortfall, largest first.
A count hidden for being small (1 to threshold-1 people) is taken as threshold-1 for the ranking, so a gap is
never overstated; a count hidden so that a small one cannot be worked out from a total (disclosure.suppress_table,
as its page hides it) is ranked by its own size. Neither's count, share nor shortfall is shown. A group whose base
(people with the group known) is itself a hidden count is not listed, nor a breakdown by ethnic group or
disability withheld for too small a base.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from data_access.areas import LOCAL_AUTHORITIES, SPLIT_AUTHORITIES
from data_access.disclosure import is_small, threshold
from data_access.disclosure import share as published_share
from data_access.filters import Filters
from data_access.panel import coverage
from data_access.profiles import (counts_from_cells, engaged_cells, engaged_counts, representation, representation_hidden,
                                  resident_counts)
from data_access.reach import core20_reach
from data_access.representativeness import for_display, wilson_interval

GAP_DIMENSIONS = ["age_band", "sex", "ethnic_group", "disability", "imd_quintile"]
SOURCE_PAGES = {
    "members": "pages/network_growth.py",
    "respondents": "pages/survey_responses.py",
    "panel": "pages/panel_coverage.py",
    "map": "pages/deprivation_map.py",
}
PAGE_TITLES = {
    "pages/network_growth.py": "Network growth",
    "pages/survey_responses.py": "Survey responses",
    "pages/panel_coverage.py": "Citizens' panel coverage",
    "pages/deprivation_map.py": "Deprivation map",
}
# Residents each source is compared with, where they are not all ages.
ADULT_DIMENSIONS = {"members": {"age_band"}, "respondents": {"age_band"},
                    "panel": {"age_band", "imd_quintile"}, "map": set()}
COLUMNS = ["source", "kind", "dimension", "group", "area", "count", "base", "share", "resident_share",
           "shortfall_pp", "hidden", "small", "adults", "page"]


def _candidates(table: pd.DataFrame, source: str, kind: str, dimension: str, area: str) -> list[dict]:
    """Rows of one comparison table (group, count, stated, resident_share, and 'suppressed' where the table is
    published with it) as gap candidates; a count is hidden where the table as published hides it (small, or
    hidden so a small one cannot be worked out), and a special-category breakdown withheld for too small a
    base gives none."""
    if "suppressed" not in table:  # the panel's comparison: published as the panel page shows it
        shown = for_display(table, dimension)
        table = table.assign(suppressed=shown["suppressed"].to_numpy())
        table.attrs["withheld"] = shown.attrs.get("withheld")
    if table.attrs.get("withheld"):
        return []
    known = table[table["stated"]]
    base = int(pd.to_numeric(known["count"]).sum())
    if base == 0:
        return []
    rows = []
    for r in known.itertuples():
        count = int(r.count)
        resident_share = float(r.resident_share) if pd.notna(r.resident_share) else float("nan")
        rows.append(dict(source=source, kind=kind, dimension=dimension, group=r.group, area=area, count=count,
                         base=base, resident_share=resident_share, hidden=bool(r.suppressed)))
    return rows


def _raw_counts(conn: Connection, source: str, dimension: str, filters: Filters,
                cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unsuppressed representation of members or respondents (the hidden counts are needed to rank safely),
    counted from the source's engaged_cells where given."""
    engaged = (engaged_counts(conn, source, dimension, filters) if cells is None
               else counts_from_cells(cells, dimension))
    residents = resident_counts(conn, dimension, icp=filters.icp)
    table = representation(engaged, residents, dimension, representation_hidden(conn, source, filters)[dimension])
    raw = engaged.set_index("group")["count"]
    table["count"] = table["group"].map(raw).fillna(0).astype(int)
    return table


def _core20_candidates(conn: Connection, filters: Filters, cells: dict | None = None) -> list[dict]:
    """Each district's Core20 residents against the Core20 share of each kind of engaged person there."""
    frame = core20_reach(conn, filters, by="district", cells=cells)
    raw = core20_reach(conn, filters, by="district", cells=cells, raw=True).set_index("area")
    whole = filters.icp or "Kent and Medway"
    split = {LOCAL_AUTHORITIES[code][0] for code in SPLIT_AUTHORITIES}
    rows = []
    for r in frame[frame["area"] != whole].itertuples():
        # Sevenoaks and Swale are split between two ICP areas: with one chosen, the district here is its part.
        area = f"the part of {r.area} in {filters.icp}" if filters.icp and r.area in split else r.area
        if not r.core20_share or pd.isna(r.core20_share):
            continue
        for kind in ("members", "respondents", "panel"):
            base = getattr(r, kind)
            if pd.isna(base) or base == 0:
                continue  # nobody, or a hidden number of people, with a known area there
            core = getattr(r, f"{kind}_core20")
            true_core = int(raw.loc[r.area, f"{kind}_core20"])
            # hidden and small: ranked as threshold-1; hidden only so a small one cannot be worked out: as it is
            count = int(core) if not pd.isna(core) else threshold() - 1 if is_small(true_core) else true_core
            rows.append(dict(source="map", kind=kind, dimension="core20", group="Core20", area=area,
                             count=count, base=int(base), resident_share=float(r.core20_share),
                             hidden=bool(pd.isna(core))))
    return rows


def all_gaps(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Every clear reach gap across the sources, largest shortfall first (see the module's notes).

    Columns: source (members, respondents, panel or map), kind (who was engaged), dimension, group, area
    (the district for map gaps, else the filtered area), count and share (missing where the count is hidden),
    base (people whose group is known), resident_share, shortfall_pp (for ranking), hidden, adults (compared
    with residents aged 16 and over), page (the page that explains it).
    """
    rows: list[dict] = []
    area = filters.area_label
    # one scan of each source, counted by every dimension at once; each comparison is a margin of it
    cells = {kind: engaged_cells(conn, kind, filters) for kind in ("members", "respondents", "panel")}
    for source in ("members", "respondents"):
        for dim in GAP_DIMENSIONS:
            rows += _candidates(_raw_counts(conn, source, dim, filters, cells[source]), source, source, dim, area)
    panel_tables = coverage(conn, filters.end, filters.icp, cells=cells["panel"])
    for dim in GAP_DIMENSIONS:
        rows += _candidates(panel_tables[dim], "panel", "panel", dim, area)
    rows += _core20_candidates(conn, filters, cells)
    out = []
    for row in rows:
        count, base, res = row["count"], row["base"], row["resident_share"]
        if pd.isna(res) or res <= 0 or is_small(base):
            continue  # no residents to compare with, or too few people to say anything
        # a hidden Core20 count (the map's) is taken as small; other hidden counts may be hidden only so that a
        # small one cannot be worked out, and are ranked by their own size (their shortfall is not shown)
        small = is_small(count) or (row["source"] == "map" and row.get("hidden", False))
        hidden = row.get("hidden", False) or small
        ranked = min(max(count, threshold() - 1), base) if small else count
        share = ranked / base
        _low, high = wilson_interval(ranked, base)
        if high >= res:
            continue
        row.update(hidden=hidden, small=small, count=None if hidden else count,
                   share=None if hidden else published_share(count, base),
                   shortfall_pp=(res - share) * 100, adults=row["dimension"] in ADULT_DIMENSIONS[row["source"]],
                   page=SOURCE_PAGES[row["source"]])
        out.append(row)
    frame = pd.DataFrame(out, columns=COLUMNS)
    if frame.empty:
        return frame
    frame = frame.sort_values(["shortfall_pp", "base"], ascending=[False, False], kind="stable")
    return frame.reset_index(drop=True)


def reach_gaps(conn: Connection, filters: Filters, limit: int = 5) -> pd.DataFrame:
    """The `limit` biggest reach gaps (see all_gaps)."""
    return all_gaps(conn, filters).head(limit).reset_index(drop=True)
