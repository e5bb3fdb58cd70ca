"""The Data page in Streamlit's AppTest: a viewer (read-only, or not signed in) opening it by its address sees
"No access" and nothing that writes; an editor (local password or single sign-on) previews a file, imports it,
sees it in the log and undoes it, with the store checked at every step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data_access import models as m
from data_access.access import HASH_ENV, SIGN_INS, hash_password
from data_access.db import init_db, make_engine
from tests.factories import build_tiny_store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/data.py"
PASSWORD = "a long editor passphrase"
MEMBERS = (
    "Member ID,Network,Joined,Left,Area,Channel,Email\n"
    "D001,Patient Network,03/01/2025,,A1,Event,a@b.com\n"
    "D002,Carers Network,10/01/2025,,Thanet,Event,c@d.com\n"
    "D003,Patient Network,31/02/2025,,A2,Event,e@f.com\n"
).encode()


@pytest.fixture(scope="module")
def password_hash():
    return hash_password(PASSWORD)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A tiny store (SQLite); DATABASE_URL points at it, and no editor setting is inherited."""
    url = f"sqlite:///{tmp_path / 'data_page.db'}"
    engine = make_engine(url)
    init_db(engine)
    build_tiny_store(engine)
    monkeypatch.setenv("DATABASE_URL", url)
    for name in (HASH_ENV, "ENGAGEMENT_EDITORS"):
        monkeypatch.delenv(name, raising=False)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def no_earlier_failures():
    """Wrong passwords are counted for the whole process: each test starts with none."""
    SIGN_INS.reset()
    yield
    SIGN_INS.reset()


def members(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one()


def open_page(secrets: dict | None = None, user: dict | None = None) -> AppTest:
    """The Data page opened by its address (the first run of the session is on it)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    if user is not None:
        at.user = user
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def no_write_path(at: AppTest) -> bool:
    """Nothing on the page can import, undo or load."""
    keys = {w.key for w in [*at.button, *at.checkbox, *at.selectbox, *at.text_area] if w.key}
    return not at.get("file_uploader") and not keys & {"data_commit", "data_undo", "data_reference_load",
                                                        "data_postcodes_load", "data_kind"}


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="auth_name_page").input("Sam Editor")
    at.text_input(key="auth_password_page").input(password)
    next(b for b in at.main.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_read_only_dashboard_deep_link_says_no_access_and_how_to_configure(store):
    before = members(store)
    at = open_page()
    assert [t.value for t in at.title] == ["Data"]
    assert "No access" in errors(at)
    assert "Editing is switched off" in " ".join(i.value for i in at.info)
    assert no_write_path(at)
    assert members(store) == before


def test_a_wrong_password_gives_no_access(store, password_hash, monkeypatch):
    monkeypatch.setenv(HASH_ENV, password_hash)
    at = open_page()
    assert "No access" in errors(at) and no_write_path(at)
    sign_in(at, "not the password")
    assert "That password is not right." in errors(at)
    assert no_write_path(at)
    assert "auth_password_page" not in at.session_state  # the typed password is not kept


def test_wrong_passwords_are_counted_across_new_sessions(store, password_hash, monkeypatch):
    monkeypatch.setenv(HASH_ENV, password_hash)
    for session in range(1, 8):  # a new browser session each time: its own session state
        at = sign_in(open_page(), "not the password")
        expected = "That password is not right." if session <= 5 else "Too many wrong passwords; try again in"
        assert expected in errors(at), (session, errors(at))
    at = sign_in(open_page(), PASSWORD)  # the right password waits too, until the lock ends
    assert "Too many wrong passwords" in errors(at) and no_write_path(at)


def test_a_stored_plain_password_is_refused(store, monkeypatch):
    monkeypatch.setenv(HASH_ENV, "hunter2hunter2")
    at = open_page()
    assert no_write_path(at)
    assert "is not a hash made by `engagement hash-password`" in " ".join(i.value for i in at.info)


def test_editor_previews_imports_and_undoes(store, password_hash, monkeypatch):
    monkeypatch.setenv(HASH_ENV, password_hash)
    before = members(store)
    at = sign_in(open_page(), PASSWORD)
    assert not at.error
    assert "Signed in as an editor: Sam Editor" in " ".join(c.value for c in at.caption)
    at.selectbox(key="data_kind").select("memberships")
    at.file_uploader[0].upload("members.csv", MEMBERS, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {x.label: x.value for x in at.metric}
    assert (metrics["To add"], metrics["To update"], metrics["Already in the store"], metrics["Rejected"]) == (
        "2", "0", "0", "1")
    assert "Column 'Email' looks like it holds e-mail addresses" in " ".join(w.value for w in at.warning)
    rejected = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert rejected.to_dict("records") == [
        {"row": 4, "column": "Joined", "reason": "expected a real date, found '31/02/2025' (there is no such day)"}]
    commit = at.button(key="data_commit")
    assert commit.disabled  # rejected rows: nothing until the editor says to leave them out
    at.checkbox(key="data_skip").check().run()
    assert members(store) == before  # still only a preview
    at.button(key="data_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Imported as number 1: 2 added, 0 updated." in " ".join(s.value for s in at.success)
    assert members(store) == before + 2
    log = next(d.value for d in at.dataframe if "SHA-256" in d.value.columns)
    row = log.iloc[0]
    assert (row["number"], row["file"], row["by"], row["added"], row["rejected"], row["undone"]) == (
        1, "members.csv", "Sam Editor (local sign-in)", 2, 1, "")
    assert at.button(key="data_undo").disabled
    at.checkbox(key="data_undo_sure").check().run()
    at.button(key="data_undo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert ("Import number 1 undone: 2 records removed; networks it created removed: Carers Network."
            in " ".join(s.value for s in at.success))
    assert members(store) == before
    with store.connect() as conn:
        assert conn.execute(select(m.Network.id).where(m.Network.name == "Carers Network")).first() is None


def test_the_page_shows_date_and_encoding_sentences(store, password_hash, monkeypatch):
    from data_access.importing import kinds
    monkeypatch.setattr(kinds, "today", lambda: __import__("datetime").date(2026, 6, 15), raising=False)
    monkeypatch.setenv(HASH_ENV, password_hash)
    at = sign_in(open_page(), PASSWORD)
    at.selectbox(key="data_kind").select("memberships")
    far = b"Member ID,Network,Joined,Area\nF1,Patient Network,01/01/2099,A1\nF2,Patient Network,01/06/2026,A1\n"
    at.file_uploader[0].upload("far.csv", far, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    rejected = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert rejected.to_dict("records") == [{"row": 2, "column": "Joined", "reason": (
        "expected a date from 01/01/2000 to today (15/06/2026), found '01/01/2099'")}]
    mixed = "Member ID,Network,Joined,Area\nF1,Café,01/06/2026,A1\n".encode() + "F2,Café,01/06/2026,A1\n".encode("cp1252")
    at.file_uploader[0].upload("mixed.csv", mixed, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "mixed.csv, row 3, column 'Network': expected text in UTF-8 throughout, found the byte 0xE9" in errors(at)


def test_editor_imports_a_survey_export_with_a_mapping(store, password_hash, monkeypatch):
    monkeypatch.setenv(HASH_ENV, password_hash)
    at = sign_in(open_page(), PASSWORD)
    at.selectbox(key="data_kind").select("responses").run()
    at.text_input(key="data_new_survey").input("Winter survey")
    at.text_area(key="data_mapping").input("Where=area")
    export = ("Response ID,Completed,Where,Name,How was it?\n"
              "w1,05/01/2026 10:00,A1,Ann,Good\nw2,06/01/2026 11:00,B2,Bob,Good\nw3,06/01/2026 12:00,A2,Cy,Poor\n")
    at.file_uploader[0].upload("winter.csv", export.encode(), "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    mapping = next(d.value for d in at.dataframe if "imported as" in d.value.columns).set_index("column")
    assert mapping.loc["Where", "imported as"] == "area" and mapping.loc["Where", "how"] == "chosen"
    assert mapping.loc["Name", "imported as"] == "dropped: holds names"
    at.button(key="data_commit").click().run()
    assert "Imported as number 1: 3 added" in " ".join(s.value for s in at.success)
    with store.connect() as conn:
        n = conn.execute(select(func.count()).select_from(m.SurveyResponse).join(m.Survey)
                         .where(m.Survey.title == "Winter survey")).scalar_one()
    assert n == 3


def test_single_sign_on_viewer_and_editor(store):
    secrets = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                        "client_id": "id", "client_secret": "secret",
                        "server_metadata_url": "https://login.example/.well-known/openid-configuration"},
               "editors": ["Editor@NHS.net"]}
    at = open_page(secrets, user={"is_logged_in": True, "email": "viewer@nhs.net"})
    assert "No access" in errors(at) and no_write_path(at)
    assert "not on the list of editors" in " ".join(x.value for x in at.markdown)
    at = open_page(secrets, user={"is_logged_in": True, "email": "editor@nhs.net"})
    assert not at.error
    assert at.selectbox(key="data_kind").value == "memberships"
    assert "Signed in as an editor: editor@nhs.net." in " ".join(c.value for c in at.caption)


def test_editor_signs_in_from_the_sidebar_then_opens_the_page_from_the_menu(store, password_hash, monkeypatch):
    monkeypatch.setenv(HASH_ENV, password_hash)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert "auth_password_sidebar" in [t.key for t in at.sidebar.text_input]
    at.text_input(key="auth_password_sidebar").input(PASSWORD)
    next(b for b in at.sidebar.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Signed in as an editor: editor (local sign-in)" in " ".join(c.value for c in at.sidebar.caption)
    at.button(key="auth_sign_out").click()
    at.run()
    assert "auth_password_sidebar" in [t.key for t in at.sidebar.text_input]  # signed out
    at.text_input(key="auth_password_sidebar").input(PASSWORD)
    next(b for b in at.sidebar.button if b.label == "Sign in").click()
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.error and at.selectbox(key="data_kind").value == "memberships"


def test_other_pages_still_open_for_viewers(store):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    assert "Read-only: editing is not configured" in " ".join(c.value for c in at.sidebar.caption)
