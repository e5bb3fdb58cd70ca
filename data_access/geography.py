"""Geography queries: the small areas with deprivation and engagement reach, and ICP area profiles."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.disclosure import suppress
from data_access.filters import Filters, icp_id
from data_access.settings import get_setting

CORE20_MAX_DECILE = 2


def geography_status(conn: Connection) -> dict:
    """What is loaded: synthetic geography (bool), demo engagement data (bool), the edition (text)
    and the number of small areas."""
    return {
        "synthetic": get_setting(conn, "geography_synthetic", "0") == "1",
        "demo": get_setting(conn, "demo_data", "0") == "1",
        "edition": get_setting(conn, "geography_edition", "none loaded"),
        "lsoas": int(conn.execute(select(func.count()).select_from(m.Lsoa)).scalar_one()),
    }


def icp_names(conn: Connection) -> list[str]:
    """The ICP area names, in order."""
    return list(conn.execute(select(m.IcpArea.name).order_by(m.IcpArea.id)).scalars())


def _per_lsoa(conn: Connection, table, cond) -> pd.DataFrame:
    stmt = (select(table.lsoa_code, func.count()).where(and_(*cond), table.lsoa_code.is_not(None))
            .group_by(table.lsoa_code))
    return pd.DataFrame(conn.execute(stmt).all(), columns=["code", "n"]).set_index("code")["n"]


def engagement_by_lsoa(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Members (at the period end), respondents (in the period) and panel members (at the period end)
    per small area: code, members, respondents, panel."""
    kinds = kind_conditions(filters)
    members, panel, respondents = (_per_lsoa(conn, *kinds[k]) for k in ("members", "panel", "respondents"))
    out = pd.DataFrame({"members": members, "respondents": respondents, "panel": panel}).fillna(0).astype(int)
    out.index.name = "code"
    return out.reset_index()


def lsoa_map_data(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Every small area in the filtered ICP area with deprivation, population, outline and reach.

    Reach columns (members, respondents, panel and their rates per 1,000 residents) have
    small counts suppressed. Geometry is GeoJSON text (None where no outline is loaded).
    """
    L = m.Lsoa
    stmt = (select(L.code, L.name, m.LocalAuthority.name.label("district"), m.IcpArea.name.label("icp"),
                   L.imd_score, L.imd_rank, L.imd_decile, L.income_decile, L.employment_decile,
                   L.education_decile, L.health_decile, L.crime_decile, L.barriers_decile,
                   L.living_environment_decile, L.local_rank, L.population, L.longitude, L.latitude,
                   m.LsoaBoundary.geometry)
            .join(m.LocalAuthority, m.LocalAuthority.code == L.lad_code)
            .join(m.IcpArea, m.IcpArea.id == L.icp_id)
            .outerjoin(m.LsoaBoundary, m.LsoaBoundary.lsoa_code == L.code)
            .order_by(L.code))
    ident = icp_id(conn, filters.icp)
    if ident is not None:
        stmt = stmt.where(L.icp_id == ident)
    frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    if frame.empty:
        return frame
    reach = engagement_by_lsoa(conn, filters)
    frame = frame.merge(reach, on="code", how="left")
    for col in ("members", "respondents", "panel"):
        frame[col] = frame[col].fillna(0).astype(int)
        frame[f"{col}_per_1000"] = (frame[col] / frame["population"].where(frame["population"] > 0) * 1000)
        frame = suppress(frame, col, derived=(f"{col}_per_1000",)).drop(columns="suppressed")
    frame["core20"] = frame["imd_decile"] <= CORE20_MAX_DECILE
    return frame


def icp_boundaries(conn: Connection) -> pd.DataFrame:
    """ICP area outlines: icp, geometry (GeoJSON text)."""
    rows = conn.execute(select(m.IcpArea.name, m.IcpBoundary.geometry)
                        .join(m.IcpBoundary, m.IcpBoundary.icp_id == m.IcpArea.id)).all()
    return pd.DataFrame(rows, columns=["icp", "geometry"])


def icp_deprivation_profile(conn: Connection) -> pd.DataFrame:
    """Per ICP area: small areas, residents, Core20 areas and the share of residents living in them.

    Columns: icp, lsoas, population, core20_lsoas, core20_population, core20_share, decile_1_lsoas.
    """
    L = m.Lsoa
    core20 = L.imd_decile <= CORE20_MAX_DECILE
    stmt = (select(m.IcpArea.name, func.count(), func.sum(L.population),
                   func.sum(case((core20, 1), else_=0)), func.sum(case((core20, L.population), else_=0)),
                   func.sum(case((L.imd_decile == 1, 1), else_=0)))
            .join(L, L.icp_id == m.IcpArea.id).group_by(m.IcpArea.id, m.IcpArea.name).order_by(m.IcpArea.id))
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=[
        "icp", "lsoas", "population", "core20_lsoas", "core20_population", "decile_1_lsoas"])
    for col in ("lsoas", "population", "core20_lsoas", "core20_population", "decile_1_lsoas"):
        frame[col] = pd.to_numeric(frame[col]).fillna(0).astype(int)
    frame["core20_share"] = frame["core20_population"] / frame["population"].where(frame["population"] > 0)
    return frame[["icp", "lsoas", "population", "core20_lsoas", "core20_population", "core20_share",
                  "decile_1_lsoas"]]


def core20_share_of_residents(conn: Connection, icp: str | None = None) -> float | None:
    """The share of residents (in the ICP area, or all) who live in Core20 areas (national deciles 1-2)."""
    L = m.Lsoa
    stmt = select(func.sum(case((L.imd_decile <= CORE20_MAX_DECILE, L.population), else_=0)), func.sum(L.population))
    ident = icp_id(conn, icp)
    if ident is not None:
        stmt = stmt.where(L.icp_id == ident)
    core, total = conn.execute(stmt).one()
    return (core or 0) / total if total else None


def lsoa_areas(conn: Connection, icp: str | None = None) -> pd.DataFrame:
    """Every small area (in the ICP area, or all) with its deprivation, population and place; no outline.

    Columns: code, name, district, icp, imd_score, imd_rank, imd_decile, the seven domain deciles,
    local_rank, local_decile (the decile of local_rank among the Kent and Medway small areas, 1 = most
    deprived 10% of them), population, longitude, latitude, core20, has_outline.
    """
    L = m.Lsoa
    stmt = (select(L.code, L.name, m.LocalAuthority.name.label("district"), m.IcpArea.name.label("icp"),
                   L.imd_score, L.imd_rank, L.imd_decile, L.income_decile, L.employment_decile,
                   L.education_decile, L.health_decile, L.crime_decile, L.barriers_decile,
                   L.living_environment_decile, L.local_rank, L.population, L.longitude, L.latitude,
                   m.LsoaBoundary.lsoa_code.is_not(None).label("has_outline"))
            .join(m.LocalAuthority, m.LocalAuthority.code == L.lad_code)
            .join(m.IcpArea, m.IcpArea.id == L.icp_id)
            .outerjoin(m.LsoaBoundary, m.LsoaBoundary.lsoa_code == L.code)
            .order_by(L.code))
    ident = icp_id(conn, icp)
    if ident is not None:
        stmt = stmt.where(L.icp_id == ident)
    frame = pd.DataFrame(conn.execute(stmt).mappings().all())
    if frame.empty:
        return frame
    ranked = int(conn.execute(select(func.count()).select_from(L).where(L.local_rank.is_not(None))).scalar_one())
    rank = pd.to_numeric(frame["local_rank"], errors="coerce")
    frame["local_decile"] = ((rank - 1) * 10 // ranked + 1).astype("Int64") if ranked else pd.NA
    frame["population"] = pd.to_numeric(frame["population"]).fillna(0).astype(int)
    frame["has_outline"] = frame["has_outline"].astype(bool)
    frame["core20"] = frame["imd_decile"] <= CORE20_MAX_DECILE
    return frame


def _simplify(value, digits: int = 4):
    """Coordinates rounded to about 10 metres, with repeated points dropped."""
    if value and isinstance(value[0], (int, float)):
        return [round(float(v), digits) for v in value]
    out = [_simplify(v, digits) for v in value]
    if out and isinstance(out[0], list) and out[0] and isinstance(out[0][0], float):
        ring = [p for i, p in enumerate(out) if i == 0 or p != out[i - 1]]
        return ring if len(ring) >= 4 else out
    return out


def lsoa_shapes(conn: Connection) -> dict[str, dict]:
    """Every small area's outline as a GeoJSON geometry (coordinates simplified), by LSOA code."""
    shapes = {}
    for code, text in conn.execute(select(m.LsoaBoundary.lsoa_code, m.LsoaBoundary.geometry)):
        geometry = json.loads(text)
        shapes[code] = {"type": geometry["type"], "coordinates": _simplify(geometry["coordinates"])}
    return shapes


ENGAGEMENT_KINDS = {"members": "network members", "panel": "panel members", "respondents": "survey responses"}


def kind_conditions(filters: Filters) -> dict:
    """For each kind of engagement: its table and the conditions for being counted in the period."""
    nm, r, p = m.NetworkMembership, m.SurveyResponse, m.PanelMember
    end = filters.end
    start_dt = dt.datetime.combine(filters.start, dt.time())
    end_dt = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    return {
        "members": (nm, [nm.joined_on <= end, or_(nm.left_on.is_(None), nm.left_on > end)]),
        "panel": (p, [p.term_start <= end, p.term_end >= end]),
        "respondents": (r, [r.submitted_at >= start_dt, r.submitted_at < end_dt]),
    }


def unplaced_engagement(conn: Connection, filters: Filters) -> pd.DataFrame:
    """Engagement records in the period that cannot be drawn on the map, per kind.

    Columns: kind, total, no_area (no small area recorded), coarse_area (of those, the district or ICP
    area is known), not_in_geography (a code that is not
    among the loaded small areas), no_outline (a loaded small area without an outline).
    Counts are of all Kent and Medway: a record whose code is unknown cannot be placed in an ICP area.
    """
    rows = []
    for kind, (table, cond) in kind_conditions(filters).items():
        L = m.Lsoa
        stmt = (select(func.count(),
                       func.sum(case((table.lsoa_code.is_(None), 1), else_=0)),
                       func.sum(case((and_(table.lsoa_code.is_not(None), L.code.is_(None)), 1), else_=0)),
                       func.sum(case((and_(L.code.is_not(None), m.LsoaBoundary.lsoa_code.is_(None)), 1), else_=0)))
                .select_from(table)
                .outerjoin(L, L.code == table.lsoa_code)
                .outerjoin(m.LsoaBoundary, m.LsoaBoundary.lsoa_code == table.lsoa_code)
                .where(and_(*cond)))
        coarse_cols = [c for c in ("lad_code", "icp_id") if c in table.__table__.c]
        coarse = or_(*[table.__table__.c[c].is_not(None) for c in coarse_cols]) if coarse_cols else None
        stmt = stmt.add_columns(func.sum(case((and_(table.lsoa_code.is_(None), coarse), 1), else_=0))
                                if coarse is not None else func.sum(0))
        total, no_area, unknown, no_outline, coarse_n = conn.execute(stmt).one()
        rows.append(dict(kind=kind, total=int(total or 0), no_area=int(no_area or 0),
                         coarse_area=int(coarse_n or 0), not_in_geography=int(unknown or 0),
                         no_outline=int(no_outline or 0)))
    return pd.DataFrame(rows, columns=["kind", "total", "no_area", "coarse_area", "not_in_geography", "no_outline"])
