"""A deterministic generator of believable Kent and Medway engagement history (demo data).

The same seed (and scale, and end date) gives the same database. Real engagement's biases are
built in, so the dashboard has real gaps to show: older people, women and less deprived areas
are over-represented; young men, some ethnic minority groups and the most deprived (Core20)
areas are under-represented; digital channels skew younger.

If no reference geography has been loaded, a synthetic one is made first (clearly flagged).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from data_access import models as m
from data_access import summaries
from data_access.areas import ICP_AREAS, LOCAL_AUTHORITIES
from data_access.db import after_load, reset_id_sequences
from data_access.settings import get_setting, set_setting

DEMO_END = dt.date(2026, 11, 15)
HISTORY_START = dt.date(2016, 1, 1)


@dataclass(frozen=True)
class Scale:
    """How much demo data to make."""

    lsoas: int
    memberships: int
    responses: int
    panel: int


SCALES = {
    "demo": Scale(lsoas=1100, memberships=12_000, responses=15_000, panel=2_000),
    "county": Scale(lsoas=1100, memberships=60_000, responses=150_000, panel=2_000),
    "national": Scale(lsoas=33_755, memberships=1_000_000, responses=2_000_000, panel=100_000),
}

# Relative likelihood of taking part, by group: the biases real engagement has.
AGE_BIAS = {"16-24": 0.35, "25-34": 0.6, "35-49": 0.9, "50-64": 1.3, "65+": 1.6}
FEMALE_BIAS = 1.35
YOUNG_MALE_BIAS = 0.6  # extra factor for men aged 16-34
ETHNIC_BIAS = {"Asian": 0.6, "Black": 0.45, "Mixed": 0.8, "White": 1.0, "Other": 0.6}
DECILE_BIAS = {1: 0.45, 2: 0.6, 3: 0.8, 4: 0.9, 5: 1.0, 6: 1.05, 7: 1.1, 8: 1.2, 9: 1.25, 10: 1.3}
AGE_RANGES = {"16-24": (16, 24), "25-34": (25, 34), "35-49": (35, 49), "50-64": (50, 64), "65+": (65, 90)}

NETWORKS = [
    # name, kind, ICP (None = all), share of memberships, target
    ("Patient Network and Community Health Assembly", "County network", None, 0.40, 12_000),
    ("Thanet Health Network", "Local health network", "East Kent", 0.10, 2_500),
    ("West Kent Health Network", "Local health network", "West Kent", 0.10, 2_500),
    ("Patient Participation Groups", "PPG", None, 0.18, None),
    ("Involving Medway", "Local health network", "Medway and Swale", 0.12, 3_000),
    ("Virtual network", "Virtual network", None, 0.10, None),
]

SURVEYS = [
    # title, project, opens, closes, target, ICP areas (None = all), share of responses
    ("Kent and Medway STP survey", "Sustainability and transformation plan", dt.date(2016, 10, 3),
     dt.date(2016, 12, 23), 2000, None, None),
    ("Same Day Service survey", "East Kent urgent care", dt.date(2016, 10, 17), dt.date(2016, 12, 5),
     250, ["East Kent"], None),
    ("Integrated care system and single CCG survey", "ICS and single CCG", dt.date(2019, 6, 3),
     dt.date(2019, 8, 30), 500, None, None),
    ("Mental health services for young people", "Children and young people", dt.date(2021, 3, 1),
     dt.date(2021, 5, 28), 1500, None, 0.10),
    ("Community pharmacy and NHS 111", "Urgent and emergency care", dt.date(2022, 9, 5),
     dt.date(2022, 11, 25), 1500, None, 0.12),
    ("Stroke services in west Kent", "Stroke review", dt.date(2023, 5, 2), dt.date(2023, 7, 28),
     800, ["West Kent", "Dartford, Gravesham and Swanley"], 0.08),
    ("Access to GP services", "Primary care access", dt.date(2024, 9, 2), dt.date(2024, 12, 13),
     3000, None, 0.22),
    ("Health and care in Medway and Swale", "Medway and Swale HCP", dt.date(2025, 5, 6),
     dt.date(2025, 7, 31), 1200, ["Medway and Swale"], 0.10),
    ("Winter vaccination and staying well", "Winter 2025/26", dt.date(2025, 10, 6),
     dt.date(2026, 1, 30), 2500, None, 0.18),
    ("Your priorities for 2027", "Joint forward plan", dt.date(2026, 9, 14), dt.date(2026, 12, 18),
     4000, None, 0.20),
    ("Citizens' panel: urgent care", "Panel survey", dt.date(2025, 6, 2), dt.date(2025, 6, 30),
     1000, None, 0.0),
    ("Citizens' panel: digital access", "Panel survey", dt.date(2026, 2, 2), dt.date(2026, 3, 1),
     1000, None, 0.0),
    ("Citizens' panel: hospital discharge", "Panel survey", dt.date(2026, 12, 1), dt.date(2027, 1, 31),
     1000, None, 0.0),
]
SEED_SURVEY_RESPONSES = {  # real figures from the seeds, and a little after
    "Kent and Medway STP survey": (1_871, dt.date(2016, 11, 30), 1_690),
    "Same Day Service survey": (171, dt.date(2016, 11, 22), 136),
    "Integrated care system and single CCG survey": (234, None, None),
}

THEME_KEYWORDS = {
    "Access": "appointment, waiting, phone lines, access",
    "Transport": "travel, parking, bus, transport",
    "Communication": "letters, told, jargon, leaflet, communication",
    "Digital": "online, internet, app, digital",
    "Mental health": "mental health, crisis, support for young people",
    "Staff": "staff, kind, stretched, continuity",
}
MEASURES = [
    ("network_joiners", "People joining a network each month", "increase", None),
    # No target: 0 would only say "more joined than left"; a team sets its own in the Measure table.
    ("network_net_change", "Net change in network members each month", "increase", None),
    ("survey_responses", "Survey responses each month", "increase", None),
]

THEMES = {
    "Access": ["getting a GP appointment", "waiting times", "phone lines are always busy"],
    "Transport": ["travel to hospital", "parking costs", "bus routes to the clinic"],
    "Communication": ["letters arrive late", "not told what happens next", "jargon in leaflets"],
    "Digital": ["online booking is hard", "not everyone has the internet", "the app works well"],
    "Mental health": ["long waits for support", "crisis help out of hours", "support for young people"],
    "Staff": ["staff were kind", "staff are stretched", "continuity of care"],
}


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _chunks(rows: list[dict], size: int = 20_000):
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _insert(conn, table, rows: list[dict] | pd.DataFrame) -> None:
    """Insert rows (dicts, or a DataFrame converted a chunk at a time to keep memory low)."""
    if isinstance(rows, pd.DataFrame):
        for start in range(0, len(rows), 20_000):
            conn.execute(insert(table), _records(rows.iloc[start:start + 20_000]))
        return
    for chunk in _chunks(rows):
        conn.execute(insert(table), chunk)


def _records(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as plain-Python dicts (no numpy scalars) for the database driver."""
    out = frame.astype(object).where(frame.notna(), None)
    return out.to_dict("records")


# --- Synthetic geography ---------------------------------------------------------

# Rough centre (lon, lat) of each local authority, to place synthetic small areas plausibly.
LA_CENTRES = {
    "E06000035": (0.55, 51.40), "E07000105": (0.87, 51.15), "E07000106": (1.08, 51.28),
    "E07000107": (0.22, 51.43), "E07000108": (1.28, 51.17), "E07000109": (0.37, 51.42),
    "E07000110": (0.58, 51.25), "E07000111": (0.18, 51.28), "E07000112": (1.05, 51.08),
    "E07000113": (0.80, 51.33), "E07000114": (1.37, 51.36), "E07000115": (0.38, 51.27),
    "E07000116": (0.30, 51.12),
}
LA_POP_SHARE = {
    "E06000035": 0.151, "E07000105": 0.071, "E07000106": 0.085, "E07000107": 0.063,
    "E07000108": 0.063, "E07000109": 0.058, "E07000110": 0.094, "E07000111": 0.065,
    "E07000112": 0.059, "E07000113": 0.082, "E07000114": 0.074, "E07000115": 0.072,
    "E07000116": 0.063,
}
# Deprivation tendency per local authority: mean national decile of its synthetic areas.
LA_DECILE_MEAN = {
    "E06000035": 4.6, "E07000105": 5.8, "E07000106": 5.6, "E07000107": 5.6, "E07000108": 4.9,
    "E07000109": 4.9, "E07000110": 6.0, "E07000111": 7.6, "E07000112": 4.7, "E07000113": 4.4,
    "E07000114": 3.4, "E07000115": 7.2, "E07000116": 7.5,
}


def make_synthetic_geography(engine: Engine, n_lsoas: int, seed: int) -> None:
    """Create a synthetic geography (flagged as such) with populations and IMD deciles."""
    rng = _rng(seed + 1)
    la_codes = list(LOCAL_AUTHORITIES)
    shares = np.array([LA_POP_SHARE[c] for c in la_codes])
    counts = np.maximum(1, np.round(shares / shares.sum() * n_lsoas).astype(int))
    cell = 0.012 if n_lsoas <= 2000 else 0.0022
    lsoa_rows, boundary_rows, pop_rows = [], [], []
    icp_ids = {name: i + 1 for i, (name, _short) in enumerate(ICP_AREAS)}
    serial = 0
    for la_code, n in zip(la_codes, counts):
        la_name, default_icp = LOCAL_AUTHORITIES[la_code]
        cx, cy = LA_CENTRES[la_code]
        side = int(np.ceil(np.sqrt(n)))
        for k in range(n):
            serial += 1
            row, col = divmod(k, side)
            x0 = cx + (col - side / 2) * cell * 1.6
            y0 = cy + (row - side / 2) * cell
            decile = int(np.clip(np.round(rng.normal(LA_DECILE_MEAN[la_code], 2.0)), 1, 10))
            icp = default_icp
            if la_code == "E07000111" and col < side / 3:
                icp = "Dartford, Gravesham and Swanley"
            if la_code == "E07000113" and col > 2 * side / 3:
                icp = "East Kent"
            code = f"S{serial:08d}"
            population = int(rng.integers(1200, 2300))
            domain = {
                f"{d}_decile": int(np.clip(decile + rng.integers(-2, 3), 1, 10))
                for d in ["income", "employment", "education", "health", "crime", "barriers", "living_environment"]
            }
            lsoa_rows.append(dict(
                code=code, name=f"{la_name} {k // 5 + 1:03d}{'ABCDE'[k % 5]} (synthetic)", lad_code=la_code,
                icp_id=icp_ids[icp], imd_score=None, imd_decile=decile,
                imd_rank=int((decile - 1) * 3375 + rng.integers(1, 3376)), population=population,
                longitude=round(x0 + cell * 0.8, 5), latitude=round(y0 + cell / 2, 5), local_rank=None, **domain,
            ))
            ring = [[x0, y0], [x0 + cell * 1.6, y0], [x0 + cell * 1.6, y0 + cell], [x0, y0 + cell], [x0, y0]]
            ring = [[round(a, 5), round(b, 5)] for a, b in ring]
            boundary_rows.append(dict(lsoa_code=code, geometry=json.dumps({"type": "Polygon", "coordinates": [ring]})))
            # Residents by group: younger and more diverse where more deprived.
            dep = (10 - decile) / 9  # 1 = most deprived
            age_w = np.array([0.19, 0.10 + 0.03 * dep, 0.12 + 0.03 * dep, 0.19, 0.20 - 0.03 * dep, 0.20 - 0.03 * dep])
            eth_w = np.array([0.04 + 0.05 * dep, 0.02 + 0.05 * dep, 0.025, 0.90 - 0.11 * dep, 0.015 + 0.01 * dep])
            dis_w = np.array([0.16 + 0.08 * dep, 0.84 - 0.08 * dep])
            sex_w = np.array([0.51, 0.49])
            for dim, groups, w in [
                ("age_band", ["0-15", *m.AGE_BANDS], age_w),
                ("ethnic_group", m.ETHNIC_GROUPS, eth_w),
                ("disability", m.DISABILITY, dis_w),
                ("sex", m.SEXES, sex_w),
            ]:
                split = rng.multinomial(population, w / w.sum())
                for g, c in zip(groups, split):
                    pop_rows.append(dict(lsoa_code=code, dimension=dim, group_name=g, count=int(c),
                                         estimated=False))
    frame = pd.DataFrame(lsoa_rows)
    frame["local_rank"] = frame["imd_rank"].rank(method="first").astype(int)
    with engine.begin() as conn:
        _clear_geography(conn)
        _ensure_areas(conn)
        _insert(conn, m.Lsoa.__table__, frame)
        _insert(conn, m.LsoaBoundary.__table__, boundary_rows)
        _insert(conn, m.PopulationCount.__table__, pop_rows)
        set_setting(conn, "geography_synthetic", "1")
        set_setting(conn, "geography_edition", "Synthetic demo geography")


def _ensure_areas(conn) -> None:
    existing = set(conn.execute(select(m.IcpArea.name)).scalars())
    for i, (name, short) in enumerate(ICP_AREAS):
        if name not in existing:
            conn.execute(insert(m.IcpArea.__table__), [dict(id=i + 1, name=name, short_name=short)])
    existing_la = set(conn.execute(select(m.LocalAuthority.code)).scalars())
    rows = [dict(code=c, name=n) for c, (n, _) in LOCAL_AUTHORITIES.items() if c not in existing_la]
    if rows:
        conn.execute(insert(m.LocalAuthority.__table__), rows)


def _clear_engagement(conn) -> None:
    for model in m.ENGAGEMENT_TABLES:
        conn.execute(delete(model.__table__))
    summaries.forget(conn)


def _clear_geography(conn) -> None:
    _clear_engagement(conn)
    for model in [m.LsoaBoundary, m.IcpBoundary, m.PopulationCount, m.Lsoa]:
        conn.execute(delete(model.__table__))


# --- People ------------------------------------------------------------------------


class _Geo:
    """The loaded geography as arrays, for fast sampling."""

    def __init__(self, conn):
        lsoa = pd.DataFrame(conn.execute(select(
            m.Lsoa.code, m.Lsoa.icp_id, m.Lsoa.lad_code, m.Lsoa.imd_decile, m.Lsoa.population
        )).all(), columns=["code", "icp_id", "lad_code", "decile", "population"])
        if lsoa.empty:
            raise ValueError("no geography loaded")
        self.lsoa = lsoa.reset_index(drop=True)
        self.index = {c: i for i, c in enumerate(self.lsoa["code"])}
        pop = pd.DataFrame(conn.execute(select(
            m.PopulationCount.lsoa_code, m.PopulationCount.dimension, m.PopulationCount.group_name,
            m.PopulationCount.count,
        )).all(), columns=["lsoa_code", "dimension", "group_name", "count"])
        self.shares = {}
        for dim, groups in [("age_band", m.AGE_BANDS), ("sex", m.SEXES),
                            ("ethnic_group", m.ETHNIC_GROUPS), ("disability", m.DISABILITY)]:
            wide = (pop[pop["dimension"] == dim]
                    .pivot_table(index="lsoa_code", columns="group_name", values="count", aggfunc="sum")
                    .reindex(index=self.lsoa["code"], columns=groups).fillna(0.0))
            arr = wide.to_numpy(dtype=float) + 1e-9
            self.shares[dim] = arr / arr.sum(axis=1, keepdims=True)
        icps = dict(conn.execute(select(m.IcpArea.name, m.IcpArea.id)).all())
        self.icp_ids = icps
        self.adults = self.lsoa["population"].to_numpy(dtype=float) * 0.8 + 1

    def area_weights(self, icp_names: list[str] | None = None, lad_code: str | None = None) -> np.ndarray:
        w = self.adults * np.array([DECILE_BIAS[int(d)] for d in self.lsoa["decile"]])
        mask = np.ones(len(w), dtype=bool)
        if icp_names:
            ids = {self.icp_ids[n] for n in icp_names}
            mask &= self.lsoa["icp_id"].isin(ids).to_numpy()
        if lad_code:
            mask &= (self.lsoa["lad_code"] == lad_code).to_numpy()
        w = np.where(mask, w, 0.0)
        return w / w.sum()


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a probability matrix."""
    cum = probs.cumsum(axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs))[:, None]
    return (u > cum).sum(axis=1)


def make_people(rng: np.random.Generator, geo: _Geo, n: int, dates: np.ndarray,
                area_w: np.ndarray, young_lean: np.ndarray | None = None) -> pd.DataFrame:
    """Sample n pseudonymous people with biased demographics as at the dates given."""
    idx = rng.choice(len(area_w), size=n, p=area_w)
    age_p = geo.shares["age_band"][idx] * np.array([AGE_BIAS[a] for a in m.AGE_BANDS])
    if young_lean is not None:  # digital channels skew younger
        age_p = age_p * np.where(young_lean[:, None], np.array([2.2, 1.8, 1.2, 0.8, 0.5]), 1.0)
    age_i = _categorical(rng, age_p)
    sex_p = geo.shares["sex"][idx] * np.array([FEMALE_BIAS, 1.0])
    young = age_i <= 1
    sex_p[:, 1] *= np.where(young, YOUNG_MALE_BIAS, 1.0)
    sex_i = _categorical(rng, sex_p)
    eth_i = _categorical(rng, geo.shares["ethnic_group"][idx] * np.array([ETHNIC_BIAS[e] for e in m.ETHNIC_GROUPS]))
    dis_i = _categorical(rng, geo.shares["disability"][idx] * np.array([1.15, 1.0]))
    lo = np.array([AGE_RANGES[a][0] for a in m.AGE_BANDS])[age_i]
    hi = np.array([AGE_RANGES[a][1] for a in m.AGE_BANDS])[age_i]
    age = lo + (rng.random(n) * (hi - lo + 1)).astype(int)
    years = pd.DatetimeIndex(dates).year.to_numpy()
    frame = pd.DataFrame({
        "lsoa_code": geo.lsoa["code"].to_numpy()[idx],
        "birth_year": (years - age).astype(object),
        "sex": np.array(m.SEXES)[sex_i].astype(object),
        "ethnic_group": np.array(m.ETHNIC_GROUPS)[eth_i].astype(object),
        "disability": np.array(m.DISABILITY)[dis_i].astype(object),
    })
    # Some people do not say.
    for col, p in [("birth_year", 0.03), ("sex", 0.02), ("ethnic_group", 0.05), ("disability", 0.07)]:
        gap = rng.random(n) < p
        frame.loc[gap, col] = None if col == "birth_year" else (
            m.PREFER_NOT if col != "disability" else m.NOT_KNOWN)
    no_area = rng.random(n) < 0.02
    frame.loc[no_area, "lsoa_code"] = None
    return frame


def _month_starts(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), end, freq="MS")


# --- Engagement data ------------------------------------------------------------------


def seed_demo(engine: Engine, seed: int = 2026, scale: str = "demo", replace: bool = True,
              end: dt.date = DEMO_END) -> str:
    """Fill the store with demo engagement data; returns a one-paragraph summary."""
    sizes = SCALES[scale]
    with engine.connect() as conn:
        has_geo = conn.execute(select(m.Lsoa.code).limit(1)).first() is not None
        synthetic = get_setting(conn, "geography_synthetic") == "1"
    if not has_geo or (synthetic and scale == "national"):
        make_synthetic_geography(engine, sizes.lsoas, seed)
    rng = _rng(seed)
    with engine.begin() as conn:
        if replace:
            _clear_engagement(conn)
        _ensure_areas(conn)
        geo = _Geo(conn)
        network_ids = _make_networks(conn, geo)
        activities = _make_activities(conn, rng, geo, network_ids, end)
        n_members = _make_memberships(conn, rng, geo, network_ids, activities, sizes.memberships, end)
        survey_ids, n_responses = _make_surveys(conn, rng, geo, sizes.responses, end)
        n_panel = _make_panel(conn, rng, geo, sizes.panel, end)
        _make_panel_surveys(conn, rng, end)
        _make_survey_promotions(conn, rng, geo, end)
        _make_actions(conn, rng, survey_ids, activities, end)
        _ensure_settings_lists(conn)
        reset_id_sequences(conn)
        set_setting(conn, "demo_data", "1")
        set_setting(conn, "demo_seed", str(seed))
        set_setting(conn, "demo_end", end.isoformat())
        set_setting(conn, "data_version", f"demo-{seed}-{scale}-{dt.datetime.now():%Y%m%d%H%M%S%f}")
        summaries.refresh(conn)
        synthetic = get_setting(conn, "geography_synthetic") == "1"
        n_responses = conn.execute(select(func.count()).select_from(m.SurveyResponse)).scalar_one()
    after_load(engine)
    where = "a synthetic geography" if synthetic else "the loaded reference geography"
    return (f"Demo data made with seed {seed} ({scale} scale) on {where}: {n_members:,} network memberships, "
            f"{len(survey_ids)} surveys with {n_responses:,} responses, {n_panel:,} panel members.")


def _make_networks(conn, geo: _Geo) -> dict[str, int]:
    rows = []
    for i, (name, kind, icp, _share, target) in enumerate(NETWORKS):
        rows.append(dict(id=i + 1, name=name, kind=kind, icp_id=geo.icp_ids.get(icp) if icp else None,
                         target_members=target))
    conn.execute(insert(m.Network.__table__), rows)
    return {r["name"]: r["id"] for r in rows}


def _make_activities(conn, rng, geo: _Geo, network_ids: dict[str, int], end: dt.date) -> pd.DataFrame:
    """Recruitment campaigns, roadshows and events; returns them for the membership spikes."""
    rows = []
    months = _month_starts(HISTORY_START, end)
    icp_names = list(geo.icp_ids)
    for month in months:
        for _ in range(int(rng.poisson(2.2))):
            kind = str(rng.choice(m.ACTIVITY_KINDS[:-1]))
            icp = str(rng.choice(icp_names))
            day = month + pd.Timedelta(days=int(rng.integers(0, 27)))
            if day.date() > end:
                continue
            rows.append(dict(kind=kind, title=f"{kind}: {icp}", held_on=day.date(), icp_id=geo.icp_ids[icp],
                             attendance=int(rng.integers(8, 160)), survey_id=None, network_id=None))
    # Recruitment campaigns that drive network growth (about two a year per network).
    for name, nid in network_ids.items():
        for month in months[rng.random(len(months)) < 0.15]:
            if month.date() > end:
                continue
            rows.append(dict(kind="Campaign", title=f"Recruitment campaign: {name}", held_on=month.date(),
                             icp_id=None, attendance=None, survey_id=None, network_id=nid))
    # The Thanet Health Network grew by about 140 members in two months.
    rows.append(dict(kind="Campaign", title="Recruitment campaign: Thanet Health Network (survey promotion)",
                     held_on=dt.date(2016, 10, 17), icp_id=geo.icp_ids["East Kent"], attendance=None,
                     survey_id=None, network_id=network_ids["Thanet Health Network"]))
    frame = pd.DataFrame(rows).sort_values("held_on").reset_index(drop=True)
    frame["id"] = np.arange(1, len(frame) + 1)
    _insert(conn, m.Activity.__table__, frame)
    return frame


def _make_memberships(conn, rng, geo: _Geo, network_ids, activities: pd.DataFrame, total: int,
                      end: dt.date) -> int:
    months = _month_starts(HISTORY_START, end)
    n_months = len(months)
    all_rows = []
    for name, kind, icp, share, _target in NETWORKS:
        nid = network_ids[name]
        n = int(round(total * share))
        # Monthly joining intensity: steady growth, campaign spikes.
        base = np.linspace(0.6, 1.4, n_months)
        campaigns = activities[(activities["network_id"] == nid)]
        for held in campaigns["held_on"]:
            k = months.searchsorted(pd.Timestamp(held).to_period("M").to_timestamp())
            if k < n_months:
                base[k] += 2.5
                if k + 1 < n_months:
                    base[k + 1] += 1.2
        joiners = rng.multinomial(n, base / base.sum())
        if name == "Thanet Health Network":  # about 140 new members in two months (seeds)
            k = months.searchsorted(pd.Timestamp("2016-10-01"))
            extra = max(0, 140 - int(joiners[k] + joiners[k + 1]))
            joiners[k] += extra // 2
            joiners[k + 1] += extra - extra // 2
            n = int(joiners.sum())
        month_idx = np.repeat(np.arange(n_months), joiners)
        # A day within the month, and never after the end date.
        span = np.array([min(28, (end - mo.date()).days + 1) for mo in months])[month_idx]
        day = (rng.random(n) * span).astype(int)
        joined = (months[month_idx] + pd.to_timedelta(day, unit="D")).to_numpy()
        # Channels: social media and email skew younger.
        channel_i = rng.choice(len(m.CHANNELS_NETWORK), size=n, p=[0.18, 0.14, 0.2, 0.18, 0.18, 0.12])
        channels = np.array(m.CHANNELS_NETWORK)[channel_i]
        digital = np.isin(channels, ["Social media", "Email cascade"])
        area_w = geo.area_weights([icp] if icp else None)
        people = make_people(rng, geo, n, joined, area_w, young_lean=digital)
        # Leaving: about 1 in 70 a month; a membership ends only after it starts.
        months_stayed = rng.exponential(70, size=n)
        left = joined + (months_stayed * 30.44).astype("timedelta64[D]")
        left = np.where(left <= np.datetime64(end), left, np.datetime64("NaT"))
        people["network_id"] = nid
        people["member_ref"] = [f"N{nid}-{i:07d}" for i in range(n)]
        people["joined_on"] = pd.to_datetime(joined).date
        people["left_on"] = [None if pd.isna(x) else pd.Timestamp(x).date() for x in left]
        people["channel"] = channels
        all_rows.append(people)
    frame = pd.concat(all_rows, ignore_index=True)
    _insert(conn, m.NetworkMembership.__table__, frame)
    return len(frame)


def _questions_for(title: str) -> list[tuple[str, str, list[str]]]:
    return [
        ("How much do you agree: it is easy to get the care I need?", "likert", m.LIKERT_SCALE),
        ("How much do you agree: I was listened to?", "likert", m.LIKERT_SCALE),
        ("Which services have you used in the last year?", "multiple",
         ["GP practice", "Pharmacy", "NHS 111", "A&E", "Mental health service", "Hospital outpatients"]),
        ("How would you prefer to hear from us?", "single", ["Email", "Post", "Social media", "Local press", "Text message"]),
        (f"Is there anything else you want to tell us about: {title}?", "free_text", []),
    ]


def _make_surveys(conn, rng, geo: _Geo, total: int, end: dt.date) -> tuple[list[int], int]:
    survey_rows, area_rows, question_rows, response_frames, answer_frames = [], [], [], [], []
    flexible = sum(s[6] or 0 for s in SURVEYS)
    seeded_total = sum(v[0] for v in SEED_SURVEY_RESPONSES.values())
    qid = 0
    rid = 0
    total_written = 0
    for sid, (title, project, opens, closes, target, icps, share) in enumerate(SURVEYS, start=1):
        survey_rows.append(dict(id=sid, title=title, project=project, opens_on=opens, closes_on=closes,
                                target_responses=target, is_panel_survey=project == "Panel survey"))
        for icp in icps or []:
            area_rows.append(dict(survey_id=sid, icp_id=geo.icp_ids[icp]))
        questions = []
        for pos, (text, qtype, options) in enumerate(_questions_for(title), start=1):
            qid += 1
            question_rows.append(dict(id=qid, survey_id=sid, position=pos, text=text, qtype=qtype,
                                      options=json.dumps(options)))
            questions.append((qid, qtype, options))
        if title in SEED_SURVEY_RESPONSES:
            n, by_date, n_by = SEED_SURVEY_RESPONSES[title]
        else:
            n, by_date, n_by = int(round(max(total - seeded_total, 0) * (share or 0) / flexible)), None, None
        last = min(closes, end)
        if opens > end or n == 0:
            continue
        days = (last - opens).days + 1
        # Responses come in bursts after promotion, tailing off; exact counts by a date where the seeds say so.
        if by_date is not None:
            first = (by_date - opens).days + 1
            d1 = rng.integers(0, first, size=n_by)
            d2 = rng.integers(first, days, size=n - n_by) if days > first else rng.integers(0, first, size=n - n_by)
            day_off = np.concatenate([d1, d2])
        else:
            w = np.exp(-np.arange(days) / max(days / 2.5, 1)) + 0.3 * (np.arange(days) % 14 < 3)
            day_off = rng.choice(days, size=n, p=w / w.sum())
        seconds = rng.integers(8 * 3600, 22 * 3600, size=n)
        submitted = (pd.Timestamp(opens) + pd.to_timedelta(day_off, unit="D") + pd.to_timedelta(seconds, unit="s"))
        channel_i = rng.choice(4, size=n, p=[0.72, 0.12, 0.11, 0.05])
        online = channel_i == 0
        people = make_people(rng, geo, n, submitted.to_numpy(), geo.area_weights(icps), young_lean=online)
        people["survey_id"] = sid
        people["id"] = np.arange(rid + 1, rid + n + 1)
        rid += n
        people["external_id"] = [f"R{sid}-{i:06d}" for i in range(n)]
        people["submitted_at"] = submitted.to_pydatetime()
        people["channel"] = np.array(m.CHANNELS_SURVEY)[channel_i]
        response_frames.append(people)
        answer_frames.append(_make_answers(rng, people, questions))
        if sum(len(f) for f in response_frames) > 200_000:  # write as we go at large scales
            total_written += _flush(conn, survey_rows, area_rows, question_rows, response_frames, answer_frames)
    total_written += _flush(conn, survey_rows, area_rows, question_rows, response_frames, answer_frames)
    return list(range(1, len(SURVEYS) + 1)), total_written


def _flush(conn, survey_rows, area_rows, question_rows, response_frames, answer_frames) -> int:
    """Write the surveys (once) and the responses and answers made so far; returns responses written."""
    for table, rows in ((m.Survey, survey_rows), (m.SurveyArea, area_rows), (m.Question, question_rows)):
        if rows:
            conn.execute(insert(table.__table__), rows)
            rows.clear()
    n = 0
    for responses, answers in zip(response_frames, answer_frames):
        _insert(conn, m.SurveyResponse.__table__, responses)
        _insert(conn, m.Answer.__table__, answers)
        n += len(responses)
    response_frames.clear()
    answer_frames.clear()
    return n


def _make_answers(rng, people: pd.DataFrame, questions) -> pd.DataFrame:
    n = len(people)
    ids = people["id"].to_numpy()
    older = pd.to_numeric(people["birth_year"], errors="coerce").fillna(1970).to_numpy() < 1965
    frames = []
    for qid, qtype, options in questions:
        answered = rng.random(n) > 0.06
        if qtype == "likert":
            # Older respondents are a little more positive: reweighting can move the answer.
            p_young = np.array([0.16, 0.27, 0.2, 0.27, 0.1])
            p_old = np.array([0.08, 0.17, 0.2, 0.37, 0.18])
            choice = np.where(older, rng.choice(5, size=n, p=p_old), rng.choice(5, size=n, p=p_young))
            vals = np.array(options)[choice]
            frames.append(pd.DataFrame({"response_id": ids[answered], "question_id": qid, "value": vals[answered]}))
        elif qtype == "single":
            vals = np.array(options)[rng.choice(len(options), size=n, p=[0.4, 0.2, 0.15, 0.1, 0.15])]
            frames.append(pd.DataFrame({"response_id": ids[answered], "question_id": qid, "value": vals[answered]}))
        elif qtype == "multiple":
            probs = np.array([0.85, 0.6, 0.3, 0.2, 0.1, 0.35])
            picks = rng.random((n, len(options))) < probs
            r_idx, o_idx = np.nonzero(picks & answered[:, None])
            frames.append(pd.DataFrame({"response_id": ids[r_idx], "question_id": qid,
                                        "value": np.array(options)[o_idx]}))
        else:
            says = answered & (rng.random(n) < 0.45)
            themes = list(THEMES)
            t_i = rng.integers(0, len(themes), size=n)
            p_i = rng.integers(0, 3, size=n)
            vals = np.array([f"I want to say something about {THEMES[themes[t]][p]}." for t, p in zip(t_i, p_i)])
            frames.append(pd.DataFrame({"response_id": ids[says], "question_id": qid, "value": vals[says]}))
    return pd.concat(frames, ignore_index=True)


def _make_panel(conn, rng, geo: _Geo, size: int, end: dt.date) -> int:
    """Recruitment waves of a panel of about `size`, with three-year terms (some ending soon)."""
    waves = [(1, dt.date(2022, 4, 1)), (2, dt.date(2023, 4, 1)), (3, dt.date(2024, 4, 1)),
             (4, dt.date(2025, 4, 1)), (5, dt.date(2026, 4, 1))]
    per_wave = [int(size * f) for f in (0.34, 0.32, 0.36, 0.36, 0.40)]
    frames = []
    serial = 0
    for (wave, start), n in zip(waves, per_wave):
        if start > end:
            continue
        dates = np.full(n, np.datetime64(start))
        people = make_people(rng, geo, n, dates, geo.area_weights())
        people["wave"] = wave
        people["term_start"] = start
        term_years = rng.choice([2, 3], size=n, p=[0.35, 0.65])
        people["term_end"] = [dt.date(start.year + int(y), start.month, start.day) - dt.timedelta(days=1)
                              for y in term_years]
        people["member_ref"] = [f"P{serial + i + 1:07d}" for i in range(n)]
        serial += n
        frames.append(people)
    frame = pd.concat(frames, ignore_index=True)
    _insert(conn, m.PanelMember.__table__, frame)
    return len(frame)


def _make_actions(conn, rng, survey_ids: list[int], activities: pd.DataFrame, end: dt.date) -> None:
    rows = []
    surveys = dict(conn.execute(select(m.Survey.id, m.Survey.closes_on)).all())
    for sid in survey_ids:
        closes = surveys[sid]
        if closes > end:
            continue
        for theme in rng.choice(list(THEMES), size=3, replace=False):
            when = closes + dt.timedelta(days=int(rng.integers(20, 200)))
            status = "Done" if when < end - dt.timedelta(days=180) else str(rng.choice(["Planned", "In progress", "Done"]))
            said = THEMES[str(theme)][int(rng.integers(0, 3))]
            rows.append(dict(theme=str(theme), you_said=f"You told us about {said}.",
                             we_did=f"We reviewed {said} with the service and agreed changes.",
                             status=status, action_date=min(when, end), survey_id=sid, activity_id=None))
    conn.execute(insert(m.Action.__table__), rows)


def _make_panel_surveys(conn, rng, end: dt.date) -> None:
    """Invite the serving panel to each panel survey; older members, those in less deprived areas, White members
    and those without a disability reply more (as panels commonly find)."""
    surveys = conn.execute(select(m.Survey.id, m.Survey.opens_on, m.Survey.closes_on)
                           .where(m.Survey.is_panel_survey, m.Survey.opens_on <= end)).all()
    next_id = (conn.execute(select(func.max(m.SurveyResponse.id))).scalar() or 0) + 1
    questions = {}
    for qid, sid, qtype, options in conn.execute(select(m.Question.id, m.Question.survey_id, m.Question.qtype,
                                                        m.Question.options)).all():
        questions.setdefault(sid, []).append((qid, qtype, json.loads(options)))
    cols = [m.PanelMember.id, m.PanelMember.lsoa_code, m.PanelMember.birth_year, m.PanelMember.sex,
            m.PanelMember.ethnic_group, m.PanelMember.disability, m.Lsoa.imd_decile]
    for sid, opens, closes in surveys:
        members = pd.DataFrame(conn.execute(
            select(*cols).outerjoin(m.Lsoa, m.Lsoa.code == m.PanelMember.lsoa_code)
            .where(m.PanelMember.term_start <= opens, m.PanelMember.term_end >= opens)
            .order_by(m.PanelMember.id)).all(),
            columns=["panel_member_id", "lsoa_code", "birth_year", "sex", "ethnic_group", "disability", "decile"])
        if members.empty:
            continue
        age = opens.year - pd.to_numeric(members["birth_year"], errors="coerce").fillna(1975)
        p = (0.35 + 0.35 * np.clip((age - 16) / 60, 0, 1) - 0.15 * (members["decile"].fillna(5) <= 2)
             - 0.15 * members["ethnic_group"].isin(["Asian", "Black", "Mixed", "Other"])
             - 0.08 * (members["disability"] == "Disabled"))
        responded = rng.random(len(members)) < p.to_numpy()
        _insert(conn, m.PanelInvitation.__table__, [
            dict(survey_id=sid, panel_member_id=int(pid), invited_on=opens, responded=bool(r))
            for pid, r in zip(members["panel_member_id"], responded)])
        resp = members[responded].drop(columns=["panel_member_id", "decile"]).reset_index(drop=True)
        n = len(resp)
        if not n:
            continue
        days = (min(closes, end) - opens).days + 1
        submitted = (pd.Timestamp(opens) + pd.to_timedelta(rng.integers(0, days, size=n), unit="D")
                     + pd.to_timedelta(rng.integers(8 * 3600, 22 * 3600, size=n), unit="s"))
        resp["id"] = np.arange(next_id, next_id + n)
        next_id += n
        resp["survey_id"] = sid
        resp["external_id"] = [f"PS{sid}-{i:06d}" for i in range(n)]
        resp["submitted_at"] = submitted.to_pydatetime()
        resp["channel"] = "Online"
        _insert(conn, m.SurveyResponse.__table__, resp)
        _insert(conn, m.Answer.__table__, _make_answers(rng, resp, questions.get(sid, [])))


def _make_survey_promotions(conn, rng, geo: _Geo, end: dt.date) -> None:
    """Two or three promotional activities for each survey, inside its open period."""
    rows = []
    for sid, title, opens, closes in conn.execute(
            select(m.Survey.id, m.Survey.title, m.Survey.opens_on, m.Survey.closes_on)).all():
        last = min(closes, end)
        if opens > last:
            continue
        for _ in range(int(rng.integers(2, 4))):
            kind = str(rng.choice(["Roadshow", "Event", "Webinar", "Campaign"]))
            day = opens + dt.timedelta(days=int(rng.integers(0, (last - opens).days + 1)))
            icp = str(rng.choice(list(geo.icp_ids)))
            rows.append(dict(kind=kind, title=f"{kind} promoting: {title}", held_on=day, icp_id=geo.icp_ids[icp],
                             lsoa_code=None, attendance=int(rng.integers(10, 120)) if kind != "Campaign" else None,
                             survey_id=sid, network_id=None))
    next_id = (conn.execute(select(func.max(m.Activity.id))).scalar() or 0) + 1
    for i, row in enumerate(rows):
        row["id"] = next_id + i
    _insert(conn, m.Activity.__table__, rows)


def _ensure_settings_lists(conn) -> None:
    """The editable theme list and the SPC measures, where the store has none yet."""
    if conn.execute(select(func.count()).select_from(m.Theme)).scalar_one() == 0:
        conn.execute(insert(m.Theme.__table__), [dict(name=k, keywords=v) for k, v in THEME_KEYWORDS.items()])
    have = set(conn.execute(select(m.Measure.key)).scalars())
    rows = [dict(key=k, label=lab, improvement=imp, target=t) for k, lab, imp, t in MEASURES if k not in have]
    if rows:
        conn.execute(insert(m.Measure.__table__), rows)
