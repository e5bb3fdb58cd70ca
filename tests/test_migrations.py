"""Schema changes upgrade an existing store in place, keeping its data (SQLite and PostgreSQL)."""

import datetime as dt

from alembic import command
from sqlalchemy import insert, inspect, select, text

from data_access import models as m, summaries
from data_access.db import make_engine
from data_access.migrate import alembic_config, upgrade


def test_upgrade_from_earlier_schemas_keeps_data(engine):
    command.downgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO network (id, name, kind) VALUES (1, 'Patient Network', 'County network')"))
        conn.execute(text("INSERT INTO networkmembership (network_id, member_ref, joined_on, channel, sex, "
                          "ethnic_group, disability) VALUES (1, 'm1', '2025-01-02', 'Event', 'Female', 'White', "
                          "'Not disabled')"))
    upgrade(engine, "0002")
    with engine.begin() as conn:  # rows pointing at tables that the next migration alters
        conn.execute(text("INSERT INTO survey (id, title, project, opens_on, closes_on, is_panel_survey) "
                          "VALUES (1, 'S', '', '2025-01-01', '2025-02-01', true)"))
        conn.execute(text("INSERT INTO panelmember (id, member_ref, wave, term_start, term_end, sex, ethnic_group, "
                          "disability) VALUES (1, 'p1', 1, '2025-01-01', '2027-01-01', 'Female', 'White', 'Disabled')"))
        conn.execute(text("INSERT INTO panelinvitation (survey_id, panel_member_id, invited_on, responded) "
                          "VALUES (1, 1, '2025-01-02', true)"))
    upgrade(engine, "0005")
    with engine.begin() as conn:  # a response in a store with a data version, before the summaries (0006) exist
        conn.execute(text("INSERT INTO surveyresponse (survey_id, external_id, submitted_at, channel, sex, "
                          "ethnic_group, disability) VALUES (1, 'r1', '2025-01-05 10:00:00', 'Paper', 'Male', "
                          "'White', 'Disabled')"))
        conn.execute(text("INSERT INTO setting (key, value) VALUES ('data_version', 'before-0006')"))
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(select(m.NetworkMembership.member_ref, m.NetworkMembership.import_id)).one()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        day = conn.execute(select(m.SummaryResponseDay.survey_id, m.SummaryResponseDay.day,
                                  m.SummaryResponseDay.channel, m.SummaryResponseDay.n)).one()
        assert summaries.current(conn)  # the migration wrote the summaries of the records already there
    assert tuple(row) == ("m1", None)
    assert version == "0007_more_summaries"
    assert tuple(day) == (1, dt.date(2025, 1, 5), "Paper", 1)
    assert {"importlog", "theme", "measure", "panelinvitation", "columnmapping"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(select(m.PanelInvitation.responded)).scalar_one() is True


def test_every_migration_downgrades_and_upgrades_again(engine):
    command.downgrade(alembic_config(engine), "0001")
    assert "importlog" not in inspect(engine).get_table_names()
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(m.ImportLog.__table__), [dict(kind="memberships", file_name="a.csv", file_hash="x" * 64,
                                                          imported_at=dt.datetime(2026, 1, 1), imported_by="test",
                                                          columns_dropped="")])
    assert "import_id" in [c["name"] for c in inspect(engine).get_columns("surveyresponse")]
