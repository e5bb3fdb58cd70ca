"""An overlapping later export that changes a record already stored (a member has left, an action is done)
updates it, counted as updated; undo puts the values back exactly, unless a later import changed them again
(SQLite and PostgreSQL)."""

import datetime as dt

import pytest
from sqlalchemy import select

from data_access import models as m
from data_access.importing.pipeline import commit_import, import_log, preview_import, undo_import
from tests.factories import build_tiny_store

HEAD = "Member ID,Network,Joined,Left,Area,Channel\n"
FIRST = HEAD + ("U1,Patient Network,03/01/2025,,A1,Event\n"
                "U2,Patient Network,04/01/2025,28/02/2025,A2,Event\n"
                "U3,Patient Network,05/01/2025,,B1,Event\n")
# Later export: U1 has left; U2's leaving date is blank (an empty cell never clears a stored value); U3 same.
SECOND = HEAD + ("U1,Patient Network,03/01/2025,30/06/2025,A1,Event\n"
                 "U2,Patient Network,04/01/2025,,A2,Event\n"
                 "U3,Patient Network,05/01/2025,,B1,Event\n"
                 "U4,Patient Network,06/01/2025,,B2,Event\n")
THIRD = HEAD + "U1,Patient Network,03/01/2025,31/07/2025,A1,Event\n"


@pytest.fixture
def store(engine):
    build_tiny_store(engine)
    return engine


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def left_on(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(m.NetworkMembership.member_ref, m.NetworkMembership.left_on)
                                 .where(m.NetworkMembership.member_ref.like("U%"))).all())


def test_a_later_export_updates_a_leaving_date_and_undo_restores_it(store, tmp_path):
    commit_import(store, preview_import(store, "memberships", write(tmp_path, "a.csv", FIRST)), "tester")
    preview = preview_import(store, "memberships", write(tmp_path, "b.csv", SECOND))
    assert (len(preview.to_add), preview.updated, preview.already_present) == (1, 1, 2)
    assert "Row 2: left_on changes from (blank) to 30/06/2025." in preview.summary()
    assert "1 to update, 2 already in the store unchanged" in preview.summary()
    second = commit_import(store, preview, "tester")
    assert left_on(store) == {"U1": dt.date(2025, 6, 30), "U2": dt.date(2025, 2, 28), "U3": None, "U4": None}
    with store.connect() as conn:
        log = import_log(conn).set_index("id").loc[second]
    assert (log["rows_added"], log["rows_updated"], log["rows_skipped"]) == (1, 1, 2)
    again = preview_import(store, "memberships", write(tmp_path, "b.csv", SECOND))
    assert (len(again.to_add), again.updated, again.already_present) == (0, 0, 4)
    result = undo_import(store, second, "reviewer")
    assert (result.removed, result.restored, result.kept) == (1, 1, 0)
    assert left_on(store) == {"U1": None, "U2": dt.date(2025, 2, 28), "U3": None}


def test_undo_leaves_a_value_a_later_import_changed_again(store, tmp_path):
    commit_import(store, preview_import(store, "memberships", write(tmp_path, "a.csv", FIRST)), "tester")
    second = commit_import(store, preview_import(store, "memberships", write(tmp_path, "b.csv", SECOND)), "t")
    third = commit_import(store, preview_import(store, "memberships", write(tmp_path, "c.csv", THIRD)), "t")
    result = undo_import(store, second, "reviewer")
    assert (result.restored, result.kept) == (0, 1)
    assert "1 changed values left as they are because a later import changed them again" in result.sentence()
    assert left_on(store)["U1"] == dt.date(2025, 7, 31)
    result = undo_import(store, third, "reviewer")
    assert result.restored == 1
    assert left_on(store)["U1"] == dt.date(2025, 6, 30)  # the value before the third import


def test_an_action_status_change_is_an_update(store, tmp_path):
    head = "Theme,You said,We did,Status,Date\n"
    first = head + "Access,Phones are busy,We will look at call-backs,Planned,01/04/2025\n"
    later = head + "Access,Phones are busy,Added a call-back service,Done,01/04/2025\n"
    one = commit_import(store, preview_import(store, "actions", write(tmp_path, "a.csv", first)), "tester")
    preview = preview_import(store, "actions", write(tmp_path, "b.csv", later))
    assert (len(preview.to_add), preview.updated, preview.already_present) == (0, 1, 0)
    assert sorted(preview.to_update["field"]) == ["status", "we_did"]
    two = commit_import(store, preview, "tester")
    with store.connect() as conn:
        row = conn.execute(select(m.Action.status, m.Action.we_did, m.Action.import_id)).one()
    assert tuple(row) == ("Done", "Added a call-back service", one)  # still the record the first import added
    assert undo_import(store, two, "reviewer").restored == 2
    with store.connect() as conn:
        row = conn.execute(select(m.Action.status, m.Action.we_did)).one()
    assert tuple(row) == ("Planned", "We will look at call-backs")
