"""A tiny hand-made store with answers that can be worked out by hand.

Geography: two ICP areas in use, four small areas (LSOAs):
  A1 East Kent,  decile 1 (Core20), population 1,000
  A2 East Kent,  decile 6,          population 2,000
  B1 West Kent,  decile 2 (Core20), population 1,500
  B2 West Kent,  decile 9,          population 1,500
Residents by age band (16+) per area, and by sex, are given in POPULATION.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import insert

from data_access import models as m
from data_access.areas import ICP_AREAS
from data_access.db import reset_id_sequences
from data_access.settings import set_setting

D = dt.date

LSOAS = [
    # code, lad, icp index (into ICP_AREAS), decile, population
    ("A1", "E07000114", 1, 1, 1000),
    ("A2", "E07000106", 1, 6, 2000),
    ("B1", "E07000110", 3, 2, 1500),
    ("B2", "E07000116", 3, 9, 1500),
]
# Residents aged 16+ by band; and by sex (all ages).
POPULATION = {
    "A1": {"age_band": {"0-15": 200, "16-24": 200, "25-34": 200, "35-49": 150, "50-64": 150, "65+": 100},
           "sex": {"Female": 500, "Male": 500}},
    "A2": {"age_band": {"0-15": 400, "16-24": 200, "25-34": 300, "35-49": 400, "50-64": 400, "65+": 300},
           "sex": {"Female": 1000, "Male": 1000}},
    "B1": {"age_band": {"0-15": 300, "16-24": 300, "25-34": 200, "35-49": 300, "50-64": 200, "65+": 200},
           "sex": {"Female": 800, "Male": 700}},
    "B2": {"age_band": {"0-15": 300, "16-24": 100, "25-34": 200, "35-49": 300, "50-64": 300, "65+": 300},
           "sex": {"Female": 750, "Male": 750}},
}


def square(x: float, y: float) -> str:
    """A small square outline as GeoJSON text."""
    ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def build_tiny_store(engine) -> None:
    """Fill an empty store with the tiny geography and engagement records described below."""
    with engine.begin() as conn:
        conn.execute(insert(m.IcpArea.__table__),
                     [dict(id=i + 1, name=n, short_name=s) for i, (n, s) in enumerate(ICP_AREAS)])
        conn.execute(insert(m.LocalAuthority.__table__), [
            dict(code="E07000114", name="Thanet"), dict(code="E07000106", name="Canterbury"),
            dict(code="E07000110", name="Maidstone"), dict(code="E07000116", name="Tunbridge Wells")])
        conn.execute(insert(m.Lsoa.__table__), [
            dict(code=c, name=f"Area {c}", lad_code=lad, icp_id=icp + 1, imd_decile=dec, imd_rank=dec * 3000,
                 population=pop, longitude=1.0 + k * 0.02, latitude=51.0, local_rank=k + 1)
            for k, (c, lad, icp, dec, pop) in enumerate(LSOAS)])
        conn.execute(insert(m.LsoaBoundary.__table__), [
            dict(lsoa_code=c, geometry=square(1.0 + k * 0.02, 51.0)) for k, (c, *_rest) in enumerate(LSOAS)])
        rows = []
        for code, dims in POPULATION.items():
            for dim, groups in dims.items():
                for g, n in groups.items():
                    rows.append(dict(lsoa_code=code, dimension=dim, group_name=g, count=n, estimated=False))
        conn.execute(insert(m.PopulationCount.__table__), rows)
        set_setting(conn, "geography_synthetic", "0")
        set_setting(conn, "geography_edition", "Tiny test geography")

        # Network 1 (county): memberships with known join/leave dates.
        conn.execute(insert(m.Network.__table__), [
            dict(id=1, name="Patient Network", kind="County network", icp_id=None, target_members=100),
            dict(id=2, name="Thanet Health Network", kind="Local health network", icp_id=2, target_members=None)])
        members = [
            # ref, network, joined, left, lsoa, birth_year, sex
            ("m1", 1, D(2024, 12, 20), None, "A1", 1950, "Female"),          # before the period
            ("m2", 1, D(2024, 12, 5), D(2025, 2, 10), "B2", 1980, "Male"),    # before, leaves in Feb
            ("m3", 1, D(2025, 1, 3), None, "A2", 2000, "Female"),             # joins Jan
            ("m4", 1, D(2025, 1, 15), D(2025, 3, 1), "B1", 1990, "Female"),   # joins Jan, leaves Mar
            ("m5", 1, D(2025, 3, 31), None, "B2", 1960, "Male"),              # joins Mar
            ("m6", 2, D(2025, 2, 2), None, "A1", 1945, "Female"),             # other network, Feb
            ("m7", 2, D(2025, 2, 20), None, None, 1970, m.PREFER_NOT),         # no area known
        ]
        conn.execute(insert(m.NetworkMembership.__table__), [
            dict(member_ref=r, network_id=n, joined_on=j, left_on=lft, lsoa_code=a, channel="Event",
                 birth_year=b, sex=s, ethnic_group="White", disability="Not disabled")
            for r, n, j, lft, a, b, s in members])

        # One survey, 1-10 March 2025, target 10, East Kent only.
        conn.execute(insert(m.Survey.__table__), [
            dict(id=1, title="Tiny survey", project="Test", opens_on=D(2025, 3, 1), closes_on=D(2025, 3, 10),
                 target_responses=10, is_panel_survey=False),
            dict(id=2, title="Future survey", project="Test", opens_on=D(2025, 6, 1), closes_on=D(2025, 6, 30),
                 target_responses=None, is_panel_survey=False)])
        conn.execute(insert(m.SurveyArea.__table__), [dict(survey_id=1, icp_id=2)])
        responses = [
            # id, submitted, channel, lsoa, birth_year
            (1, dt.datetime(2025, 3, 1, 9), "Online", "A1", 2001),
            (2, dt.datetime(2025, 3, 1, 18), "Online", "A2", 1990),
            (3, dt.datetime(2025, 3, 2, 10), "Paper", "A2", 1950),
            (4, dt.datetime(2025, 3, 4, 12), "Online", "A2", 1955),
            (5, dt.datetime(2025, 3, 4, 23, 30), "Event", "B1", 1985),
            (6, dt.datetime(2025, 3, 5, 8), "Online", "A2", None),
        ]
        conn.execute(insert(m.SurveyResponse.__table__), [
            dict(id=i, survey_id=1, external_id=f"r{i}", submitted_at=t, channel=c, lsoa_code=a, birth_year=b,
                 sex="Female", ethnic_group="White", disability="Not disabled")
            for i, t, c, a, b in responses])

        # Panel: three serving on 31 March 2025, one whose term has ended.
        panel = [
            ("p1", 1, D(2024, 4, 1), D(2027, 3, 31), "A1", 1999),
            ("p2", 1, D(2024, 4, 1), D(2027, 3, 31), "A2", 1950),
            ("p3", 1, D(2024, 4, 1), D(2025, 3, 31), "B1", 1970),
            ("p4", 1, D(2024, 4, 1), D(2025, 3, 30), "B2", 1960),
        ]
        conn.execute(insert(m.PanelMember.__table__), [
            dict(member_ref=r, wave=w, term_start=s, term_end=e, lsoa_code=a, birth_year=b, sex="Female",
                 ethnic_group="White", disability="Not disabled") for r, w, s, e, a, b in panel])
        reset_id_sequences(conn)
