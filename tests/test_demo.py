"""The demo generator: deterministic, believable, and carrying the biases real engagement has."""

import datetime as dt
import hashlib

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from data_access import models as m
from data_access.db import init_db, make_engine
from data_access.demo import seed_demo
from data_access.filters import Filters
from data_access.geography import geography_status
from data_access.profiles import representation_for

TABLES = ["lsoa", "populationcount", "network", "networkmembership", "survey", "question", "surveyresponse",
          "answer", "panelmember", "activity", "action"]


def fingerprint(engine) -> dict[str, str]:
    """A hash of every row of every table (ordered by key), to compare two stores."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            frame = pd.read_sql(text(f"SELECT * FROM {table} ORDER BY 1"), conn)
            out[table] = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes()).hexdigest()
    return out


def make(tmp_path, name: str, seed: int):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    init_db(engine)
    seed_demo(engine, seed=seed)
    return engine


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make(tmp_path_factory.mktemp("demo"), "a.db", 11)


def test_same_seed_same_database(demo, tmp_path):
    again = make(tmp_path, "b.db", 11)
    assert fingerprint(again) == fingerprint(demo)


def test_different_seed_different_database(demo, tmp_path):
    other = make(tmp_path, "c.db", 12)
    assert fingerprint(other)["networkmembership"] != fingerprint(demo)["networkmembership"]


def test_synthetic_geography_is_flagged(demo):
    with demo.connect() as conn:
        status = geography_status(conn)
        n_la = conn.execute(select(func.count()).select_from(m.LocalAuthority)).scalar_one()
        n_icp = conn.execute(select(func.count()).select_from(m.IcpArea)).scalar_one()
    assert status["synthetic"] and status["lsoas"] > 1000
    assert (n_la, n_icp) == (13, 4)


def test_reseeding_replaces_rather_than_adds(demo):
    with demo.connect() as conn:
        before = conn.execute(select(func.count()).select_from(m.SurveyResponse)).scalar_one()
    seed_demo(demo, seed=11)
    with demo.connect() as conn:
        after = conn.execute(select(func.count()).select_from(m.SurveyResponse)).scalar_one()
    assert after == before


YEAR = Filters(None, dt.date(2025, 11, 16), dt.date(2026, 11, 15))


@pytest.mark.parametrize("source", ["members", "respondents", "panel"])
def test_older_people_over_and_young_people_under_represented(demo, source):
    with demo.connect() as conn:
        rep = representation_for(conn, source, "age_band", YEAR).set_index("group")
    assert rep.loc["65+", "ratio"] > 1.0
    assert rep.loc["16-24", "ratio"] < 0.75


@pytest.mark.parametrize("source", ["members", "respondents", "panel"])
def test_women_over_represented_and_core20_under_represented(demo, source):
    with demo.connect() as conn:
        sex = representation_for(conn, source, "sex", YEAR).set_index("group")
        imd = representation_for(conn, source, "imd_quintile", YEAR).set_index("group")
        eth = representation_for(conn, source, "ethnic_group", YEAR).set_index("group")
    assert sex.loc["Female", "ratio"] > 1.05 > 0.95 > sex.loc["Male", "ratio"]
    assert imd.loc["1 (most deprived)", "ratio"] < 0.8 < 1.0 < imd.loc["5 (least deprived)", "ratio"]
    assert eth.loc["Black", "ratio"] < 0.8


def test_young_men_are_the_least_heard(demo):
    with demo.connect() as conn:
        rows = conn.execute(select(m.SurveyResponse.sex, func.count()).where(
            m.SurveyResponse.birth_year >= 2000).group_by(m.SurveyResponse.sex)).all()
    counts = dict(rows)
    assert counts["Male"] < 0.6 * counts["Female"]


def test_online_responses_skew_younger_than_paper(demo):
    with demo.connect() as conn:
        rows = conn.execute(select(m.SurveyResponse.channel, func.avg(m.SurveyResponse.birth_year))
                            .group_by(m.SurveyResponse.channel)).all()
    mean_birth = dict(rows)
    assert mean_birth["Online"] > mean_birth["Paper"] + 3


def test_seed_surveys_have_their_real_response_counts(demo):
    with demo.connect() as conn:
        def count(title, before=None):
            stmt = (select(func.count()).select_from(m.SurveyResponse).join(m.Survey)
                    .where(m.Survey.title == title))
            if before:
                stmt = stmt.where(m.SurveyResponse.submitted_at < before)
            return conn.execute(stmt).scalar_one()
        assert count("Kent and Medway STP survey", dt.datetime(2016, 12, 1)) > 1676
        assert count("Same Day Service survey", dt.datetime(2016, 11, 23)) == 136
        assert count("Integrated care system and single CCG survey") == 234


def test_panel_is_about_two_thousand_with_terms_ending(demo):
    end = dt.date(2026, 11, 15)
    with demo.connect() as conn:
        serving = conn.execute(select(func.count()).select_from(m.PanelMember).where(
            m.PanelMember.term_start <= end, m.PanelMember.term_end >= end)).scalar_one()
        ending = conn.execute(select(func.count()).select_from(m.PanelMember).where(
            m.PanelMember.term_end > end, m.PanelMember.term_end <= end + dt.timedelta(days=365))).scalar_one()
    assert 1800 <= serving <= 2200
    assert ending > 100


def test_thanet_network_grew_by_about_140_in_two_months(demo):
    with demo.connect() as conn:
        joined = conn.execute(select(func.count()).select_from(m.NetworkMembership).join(m.Network).where(
            m.Network.name == "Thanet Health Network",
            m.NetworkMembership.joined_on >= dt.date(2016, 10, 1),
            m.NetworkMembership.joined_on < dt.date(2016, 12, 1))).scalar_one()
    assert 110 <= joined <= 190


def test_no_personal_identifiers_are_stored(demo):
    with demo.connect() as conn:
        refs = pd.read_sql(text("SELECT member_ref FROM networkmembership LIMIT 50"), conn)["member_ref"]
    assert refs.str.fullmatch(r"N\d-\d{7}").all()


def test_seeding_works_on_both_engines_and_leaves_ids_free(engine):
    """On PostgreSQL explicit ids must not leave the id sequences behind (a later insert would clash)."""
    seed_demo(engine, seed=2)
    with engine.begin() as conn:
        conn.execute(m.Activity.__table__.insert(), [dict(kind="Event", title="Added later",
                                                          held_on=dt.date(2026, 11, 1))])
        invited = conn.execute(select(func.count()).select_from(m.PanelInvitation)).scalar_one()
        replied = conn.execute(select(func.count()).select_from(m.PanelInvitation).where(
            m.PanelInvitation.responded)).scalar_one()
        themes = conn.execute(select(func.count()).select_from(m.Theme)).scalar_one()
    assert invited > 1000 and 0.3 < replied / invited < 0.8
    assert themes == 6


def test_demo_measures_set_no_target_for_net_change(demo):
    """A target of 0 for the net change would read 'met and missed at random' under every growing network's chart;
    the demo leaves targets to the team's own Measure table."""
    from data_access.networks import measure_settings

    with demo.connect() as conn:
        assert measure_settings(conn, "network_net_change")["target"] is None
        assert measure_settings(conn, "network_joiners")["target"] is None
