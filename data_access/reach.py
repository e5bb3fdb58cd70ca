"""Engagement reach: members, panel members and respondents per 1,000 residents by small area,
ICP area, district and IMD decile; the Core20 reach ratio; and the reach gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.disclosure import Policy, linked_suppression, policy, round_count
from data_access.filters import Filters, icp_id
from data_access.cached import remembered
from data_access.sql import IMD_QUINTILES
from data_access.geography import (
    CORE20_MAX_DECILE, ENGAGEMENT_KINDS, kind_conditions, engagement_by_lsoa, lsoa_areas,
)

KINDS = list(ENGAGEMENT_KINDS)
CORE20_QUINTILE = IMD_QUINTILES[0]  # national deciles 1-2, the Core20 areas
assert CORE20_MAX_DECILE == 2, "Core20 is counted from the first IMD quintile"
KENT_AND_MEDWAY = "Kent and Medway"


def _per_1000(count: pd.Series, population: pd.Series) -> pd.Series:
    return pd.to_numeric(count, errors="coerce").astype(float) / population.where(population > 0).astype(float) * 1000


def _rounded_per_1000(frame: pd.DataFrame, kind: str) -> pd.Series:
    """Each small area's rate worked out from its count rounded as the policy asks (HES: to the nearest 5), for
    the medians: a median is one area's rate (or two areas'), so under HES it must not come from an exact count."""
    return _per_1000(frame[kind].map(round_count), frame["population"])


def _all_area_rates(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Every Kent and Medway small area with unsuppressed counts and rates (for medians and gaps only)."""
    areas = lsoa_areas(conn)
    if areas.empty:
        return areas
    frame = areas.merge(engagement_by_lsoa(conn, filters), on="code", how="left")
    for kind in KINDS:
        frame[kind] = frame[kind].fillna(0).astype(int)
        frame[f"{kind}_per_1000"] = _per_1000(frame[kind], frame["population"])
    return frame


def map_release(areas: pd.DataFrame) -> dict[tuple, list[int]]:
    """Every count of people the deprivation map publishes, for all areas and for each ICP area, as the rows
    (small areas, positions in `areas`) it adds up. Keys: ("lsoa", code), ("km",), ("km_core20",), ("icp", name),
    ("icp_core20", name), ("district", icp or None, name), ("district_core20", icp or None, name) and
    ("decile", icp or None, decile); None = all of Kent and Medway."""
    rows = pd.Series(range(len(areas)), index=areas.index)
    core = areas["core20"].to_numpy(dtype=bool)
    out: dict[tuple, list[int]] = {("lsoa", code): [i] for i, code in enumerate(areas["code"])}
    out[("km",)] = list(range(len(areas)))
    out[("km_core20",)] = [i for i in range(len(areas)) if core[i]]
    for icp in [None, *sorted(areas["icp"].unique())]:
        part = areas if icp is None else areas[areas["icp"] == icp]
        if icp is not None:
            out[("icp", icp)] = rows[part.index].tolist()
            out[("icp_core20", icp)] = rows[part.index[part["core20"]]].tolist()
        for district, group in part.groupby("district"):
            out[("district", icp, district)] = rows[group.index].tolist()
            out[("district_core20", icp, district)] = rows[group.index[group["core20"]]].tolist()
        for decile, group in part.groupby("imd_decile"):
            out[("decile", icp, int(decile))] = rows[group.index].tolist()
    return out


@remembered
def _map_hidden(conn: Connection, start, end, rules: Policy) -> dict[str, set]:
    frame = _all_area_rates(conn, Filters(None, start, end))
    if frame.empty:
        return {kind: set() for kind in KINDS}
    release = map_release(frame)
    keys, cells = list(release), list(release.values())
    hidden = {}
    for kind in KINDS:
        flags = linked_suppression(frame[kind].to_numpy(), cells, rules.threshold, rules.secondary)
        hidden[kind] = {key for key, flag in zip(keys, flags) if flag}
    return hidden


def map_hidden(conn: Connection, filters: Filters) -> dict[str, set]:
    """For each kind, the keys of data_access.reach.map_release hidden on the deprivation map (and wherever its
    counts appear): small counts, and those that would let a small one be worked out from everything the map
    publishes in any ICP area's view and the all-areas view together."""
    return _map_hidden(conn, filters.start, filters.end, policy())


def _float(column: pd.Series) -> pd.Series:
    return pd.Series(column.astype("Float64").to_numpy(dtype=float, na_value=np.nan), index=column.index)


def _hide(frame: pd.DataFrame, column: str, flags, derived: tuple[str, ...] = ()) -> pd.DataFrame:
    """The frame with column (and the columns derived from it) missing where flags are True, as published
    (rounded as the policy asks)."""
    flags = pd.Series(list(flags), index=frame.index, dtype=bool)
    raw = pd.to_numeric(frame[column], errors="coerce").astype(float)
    rounded = raw.map(round_count)
    factor = (rounded / raw.where(raw > 0)).fillna(1.0)  # a rate is worked out from the rounded count
    frame[column] = pd.array(rounded.mask(flags).tolist(), dtype="Int64")
    for col in derived:
        frame[col] = (pd.to_numeric(frame[col], errors="coerce").astype(float) * factor).mask(flags)
    return frame


def area_reach(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Every small area of the filtered ICP area with deprivation and reach, ready for the map.

    The columns of data_access.geography.lsoa_areas, plus for each kind (members, panel, respondents):
    the count and {kind}_per_1000 (both hidden where the count is small, or where it could be worked out
    from its ICP area's total; see data_access.disclosure) and {kind}_gap: True for a Core20
    area whose rate is below the median rate of the Kent and Medway small areas.
    """
    frame = _all_area_rates(conn, filters)
    if frame.empty:
        return frame
    for kind in KINDS:
        rates = _rounded_per_1000(frame, kind)
        frame[f"{kind}_gap"] = frame["core20"] & (rates < rates.median())
    # Hidden as everything the map publishes together requires (see map_hidden).
    hidden = map_hidden(conn, filters)
    for kind in KINDS:
        flags = [("lsoa", code) in hidden[kind] for code in frame["code"]]
        frame = _hide(frame, kind, flags, derived=(f"{kind}_per_1000",))
    if filters.icp:
        icp_id(conn, filters.icp)  # an unknown name is an error
        frame = frame[frame["icp"] == filters.icp].reset_index(drop=True)
    return frame


def reach_benchmarks(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Reach of each ICP area and of Kent and Medway, to compare a small area with.

    One row per ICP area and one for "Kent and Medway": area, population, and for each kind the count,
    {kind}_per_1000 (all people with a small area there, per 1,000 residents) and {kind}_median
    (the median of its small areas' rates). Counts of 1-4 are hidden.
    """
    frame = _all_area_rates(conn, filters)
    columns = ["area", "population"] + [f"{k}{s}" for k in KINDS for s in ("", "_per_1000", "_median")]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for name, part in [*frame.groupby("icp", sort=True), (KENT_AND_MEDWAY, frame)]:
        row = {"area": name, "population": int(part["population"].sum())}
        for kind in KINDS:
            row[kind] = int(part[kind].sum())
            row[f"{kind}_per_1000"] = row[kind] / row["population"] * 1000 if row["population"] else None
            row[f"{kind}_median"] = _rounded_per_1000(part, kind).median()
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns)
    hidden = map_hidden(conn, filters)
    for kind in KINDS:
        flags = [(("km",) if a == KENT_AND_MEDWAY else ("icp", a)) in hidden[kind] for a in out["area"]]
        out = _hide(out, kind, flags, derived=(f"{kind}_per_1000",))
    return out


def _groups(by: str):
    if by == "icp":
        return m.IcpArea.name, [m.IcpArea.id == m.Lsoa.icp_id]
    if by == "district":
        return m.LocalAuthority.name, [m.LocalAuthority.code == m.Lsoa.lad_code]
    raise ValueError(f"Reach can be grouped by 'icp' or 'district', not {by!r}.")


def core20_reach(conn: Connection, filters: Filters, by: str = "icp",
                 cells: dict[str, pd.DataFrame] | None = None, raw: bool = False) -> pd.DataFrame:
    """Per ICP area or district (of the filtered ICP area), with a last row for the whole of it
    (except for a single chosen ICP area, which is its own whole):
    residents, the share living in Core20 areas (national deciles 1-2), and for each kind the people
    with a known small area there ({kind}), those in Core20 areas ({kind}_core20), their share
    ({kind}_core20_share) and the Core20 reach ratio ({kind}_ratio = engaged share / resident share).

    Columns: area, lsoas, population, core20_population, core20_share, then the kind columns.
    Counts of 1-4 (and the shares and ratios from them) are hidden. The engaged people are counted in SQL, or
    taken from cells given (profiles.engaged_cells of a kind for these filters) to save a scan. raw=True: nothing
    hidden (for ranking reach gaps only; never to be shown).
    """
    L = m.Lsoa
    label, join = _groups(by)
    core20 = L.imd_decile <= CORE20_MAX_DECILE
    ident = icp_id(conn, filters.icp)
    where = [L.icp_id == ident] if ident is not None else []
    table = m.IcpArea if by == "icp" else m.LocalAuthority
    residents = conn.execute(
        select(label, func.count(), func.sum(L.population), func.sum(case((core20, L.population), else_=0)))
        .select_from(L).join(table, and_(*join)).where(*where).group_by(label).order_by(label)).all()
    frame = pd.DataFrame(residents, columns=["area", "lsoas", "population", "core20_population"])
    engaged = {}
    column = "icp_area" if by == "icp" else "district"
    for kind, (rec, cond) in kind_conditions(filters).items():
        if not (cells and kind in cells):
            rows = conn.execute(
                select(label, func.count(), func.sum(case((core20, 1), else_=0)))
                .select_from(rec).join(L, L.code == rec.lsoa_code).join(table, and_(*join))
                .where(and_(*cond), *where).group_by(label)).all()
            engaged[kind] = pd.DataFrame(rows, columns=["area", kind, f"{kind}_core20"])
            continue
        part = cells[kind]
        # people in a loaded small area of the filtered ICP area whose ICP area (or district) is known
        part = part[part["placed"] & (part[column] != m.NOT_KNOWN)]
        if ident is not None:
            part = part[part["icp_area"] == filters.icp]
        core = part["n"].where(part["imd_quintile"] == CORE20_QUINTILE, 0)
        engaged[kind] = (part.assign(core=core).groupby(column, as_index=False)[["n", "core"]].sum()
                         .set_axis(["area", kind, f"{kind}_core20"], axis=1))
    for kind in KINDS:
        frame = frame.merge(engaged[kind], on="area", how="left")
    numeric = [c for c in frame.columns if c != "area"]
    frame[numeric] = frame[numeric].apply(pd.to_numeric).fillna(0).astype(int)
    if not frame.empty and not (by == "icp" and ident is not None):
        total = frame[numeric].sum().to_dict()
        total["area"] = filters.icp or KENT_AND_MEDWAY
        frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
        frame[numeric] = frame[numeric].astype(int)
    frame["core20_share"] = frame["core20_population"] / frame["population"].where(frame["population"] > 0)
    hidden = map_hidden(conn, filters) if not raw else {kind: set() for kind in KINDS}
    if by == "icp":
        keys = [("icp", a) if a in frame["area"].iloc[:len(residents)].tolist() else ("km",) for a in frame["area"]]
    else:
        keys = [("district", filters.icp, a) for a in frame["area"].iloc[:len(residents)]]
        keys += [("icp", filters.icp) if filters.icp else ("km",)] * (len(frame) - len(residents))
    core_keys = [(k[0] + "_core20",) + k[1:] if k != ("km",) else ("km_core20",) for k in keys]
    for kind in KINDS:
        # shares and ratios from the counts as published (rounded as the policy asks), hidden with either count
        hide_all = [k in hidden[kind] for k in keys]
        hide_core = [k in hidden[kind] for k in core_keys]
        frame = _hide(frame, kind, hide_all)
        frame = _hide(frame, f"{kind}_core20", hide_core)
        total = _float(frame[kind])
        frame[f"{kind}_core20_share"] = _float(frame[f"{kind}_core20"]) / total.where(total > 0)
        frame[f"{kind}_ratio"] = frame[f"{kind}_core20_share"] / frame["core20_share"].where(frame["core20_share"] > 0)
    cols = ["area", "lsoas", "population", "core20_population", "core20_share"]
    cols += [f"{k}{s}" for k in KINDS for s in ("", "_core20", "_core20_share", "_ratio")]
    return frame[cols]


def reach_by_decile(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Per national IMD decile (1 = most deprived) in the filtered ICP area: small areas, residents,
    and for each kind the count and {kind}_per_1000. Counts of 1-4 (and their rates) are hidden."""
    L = m.Lsoa
    ident = icp_id(conn, filters.icp)
    where = [L.icp_id == ident] if ident is not None else []
    residents = conn.execute(select(L.imd_decile, func.count(), func.sum(L.population)).where(*where)
                             .group_by(L.imd_decile)).all()
    frame = pd.DataFrame({"decile": range(1, 11)}).merge(
        pd.DataFrame(residents, columns=["decile", "lsoas", "population"]), on="decile", how="left")
    for kind, (rec, cond) in kind_conditions(filters).items():
        rows = conn.execute(select(L.imd_decile, func.count()).select_from(rec).join(L, L.code == rec.lsoa_code)
                            .where(and_(*cond), *where).group_by(L.imd_decile)).all()
        frame = frame.merge(pd.DataFrame(rows, columns=["decile", kind]), on="decile", how="left")
    numeric = [c for c in frame.columns if c != "decile"]
    frame[numeric] = frame[numeric].apply(pd.to_numeric).fillna(0).astype(int)
    hidden = map_hidden(conn, filters)
    for kind in KINDS:
        frame[f"{kind}_per_1000"] = _per_1000(frame[kind], frame["population"])
        flags = [("decile", filters.icp, int(d)) in hidden[kind] for d in frame["decile"]]
        frame = _hide(frame, kind, flags, derived=(f"{kind}_per_1000",))
    return frame[["decile", "lsoas", "population"] + [f"{k}{s}" for k in KINDS for s in ("", "_per_1000")]]
