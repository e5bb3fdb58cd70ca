"""Geography queries: the small areas with deprivation and engagement reach, and ICP area profiles."""

from __future__ import annotations

import datetime as dt

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
    nm, r, p = m.NetworkMembership, m.SurveyResponse, m.PanelMember
    end = filters.end
    start_dt = dt.datetime.combine(filters.start, dt.time())
    end_dt = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    members = _per_lsoa(conn, nm, [nm.joined_on <= end, or_(nm.left_on.is_(None), nm.left_on > end)])
    respondents = _per_lsoa(conn, r, [r.submitted_at >= start_dt, r.submitted_at < end_dt])
    panel = _per_lsoa(conn, p, [p.term_start <= end, p.term_end >= end])
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
