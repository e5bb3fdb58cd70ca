"""Importing the team's own files end to end, on SQLite and PostgreSQL: preview, write all or
nothing, nothing twice, personal data dropped, the log, and undo."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from data_access import models as m
from data_access.cli import main
from data_access.importing.pipeline import ImportError_, commit_import, import_log, preview_import, undo_import
from tests.factories import build_tiny_store

MEMBERS = (
    "Member ID,Network,Joined,Left,Area,Channel,Year of birth,Gender,Ethnicity,Disability,Email\n"
    "A001,Patient Network,03/01/2025,,A1,Event,1950,F,White British,No,a@b.com\n"
    "A002,Patient Network,2025-01-10,28/02/2025,Thanet,Social media,1990,Male,Black British,Yes,c@d.com\n"
    "A003,Carers Network,31/02/2025,,A2,Event,1970,F,White,No,e@f.com\n"
    "A004,Carers Network,05/03/2025,,Narnia,Event,1970,F,White,No,g@h.com\n"
    "A001,Patient Network,03/01/2025,,A1,Event,1950,F,White British,No,a@b.com\n"
    "A005,Carers Network,05/03/2025,,West Kent,GP practice,,Prefer not to say,,,i@j.com\n"
)


@pytest.fixture
def store(engine):
    build_tiny_store(engine)
    return engine


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def counts(engine):
    with engine.connect() as conn:
        return {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (m.NetworkMembership, m.Network, m.ImportLog, m.PanelMember, m.Activity, m.Action)}


def test_preview_says_what_would_happen_and_writes_nothing(store, tmp_path):
    before = counts(store)
    preview = preview_import(store, "memberships", write(tmp_path, "members.csv", MEMBERS))
    assert counts(store) == before
    assert len(preview.to_add) == 3 and preview.already_present == 0
    assert preview.dropped == {"Email": "e-mail addresses"}
    assert preview.new_networks == ["Carers Network"]
    assert [p.sentence("members.csv") for p in preview.rejected] == [
        "members.csv, row 4, column 'Joined': expected a real date, found '31/02/2025' (there is no such day).",
        "members.csv, row 5, column 'Area': expected an LSOA code, a Kent or Medway local authority, an ICP area "
        "or a former CCG name, found 'Narnia'.",
        "members.csv, row 6, column '(whole row)': expected each record once, but this repeats row 2.",
    ]
    assert "2 of the rows to add give a district or ICP area rather than a small area" in preview.summary()


def test_commit_writes_every_accepted_row_with_its_values(store, tmp_path):
    preview = preview_import(store, "memberships", write(tmp_path, "members.csv", MEMBERS))
    import_id = commit_import(store, preview, "tester")
    with store.connect() as conn:
        rows = {r.member_ref: r for r in conn.execute(select(m.NetworkMembership.__table__).where(
            m.NetworkMembership.import_id == import_id)).all()}
        carers = conn.execute(select(m.Network.id).where(m.Network.name == "Carers Network")).scalar_one()
        west = conn.execute(select(m.IcpArea.id).where(m.IcpArea.name == "West Kent")).scalar_one()
        log = import_log(conn).iloc[0]
    assert set(rows) == {"A001", "A002", "A005"}
    a1, a2, a5 = rows["A001"], rows["A002"], rows["A005"]
    assert (a1.joined_on, a1.lsoa_code, a1.birth_year, a1.sex, a1.ethnic_group) == (
        dt.date(2025, 1, 3), "A1", 1950, "Female", "White")
    assert (a2.left_on, a2.lsoa_code, a2.lad_code, a2.sex, a2.ethnic_group, a2.disability) == (
        dt.date(2025, 2, 28), None, "E07000114", "Male", "Black", "Disabled")
    assert (a5.network_id, a5.icp_id, a5.sex, a5.ethnic_group, a5.birth_year) == (
        carers, west, m.PREFER_NOT, m.NOT_KNOWN, None)
    assert (log["rows_added"], log["rows_rejected"], log["imported_by"], log["columns_dropped"]) == (
        3, 3, "tester", "Email")
    assert len(log["file_hash"]) == 64


def test_reimporting_adds_nothing_twice(store, tmp_path):
    path = write(tmp_path, "members.csv", MEMBERS)
    commit_import(store, preview_import(store, "memberships", path), "tester")
    before = counts(store)["networkmembership"]
    again = preview_import(store, "memberships", path)
    assert len(again.to_add) == 0 and again.already_present == 3
    later = MEMBERS + "A006,Patient Network,01/04/2025,,A2,Event,1980,F,White,No,x@y.com\n"
    overlap = preview_import(store, "memberships", write(tmp_path, "later.csv", later))
    assert len(overlap.to_add) == 1 and overlap.already_present == 3
    commit_import(store, overlap, "tester")
    assert counts(store)["networkmembership"] == before + 1


def test_undo_removes_exactly_what_one_import_added(store, tmp_path):
    before = counts(store)["networkmembership"]
    first = commit_import(store, preview_import(store, "memberships", write(tmp_path, "a.csv", MEMBERS)), "tester")
    assert counts(store)["networkmembership"] == before + 3
    assert undo_import(store, first, "reviewer").removed == 3
    assert counts(store)["networkmembership"] == before
    with store.connect() as conn:
        log = import_log(conn).iloc[0]
    assert log["undone_by"] == "reviewer" and log["undone_at"] is not None
    with pytest.raises(ImportError_, match=rf"^Import number {first} was already undone on "):
        undo_import(store, first, "reviewer")


def test_a_file_without_a_required_column_changes_nothing(store, tmp_path):
    before = counts(store)
    with pytest.raises(ImportError_) as err:
        preview_import(store, "memberships", write(tmp_path, "bad.csv", "Member ID,Joined\nA1,01/01/2025\n"))
    assert str(err.value) == ("bad.csv: expected a column for 'network', 'area' in a file of network memberships, "
                              "found the columns 'Member ID', 'Joined'.")
    assert counts(store) == before


def test_a_memberships_file_without_channels_is_written_as_not_recorded(store, tmp_path):
    """No Channel column at all, and an empty channel cell: both rows are written with 'Not recorded' (the store
    needs a channel; the preview used to accept the file and the write then failed with a database error)."""
    text = ("Member ID,Network,Joined,Area\n"
            "C001,Patient Network,03/01/2025,A1\n")
    commit_import(store, preview_import(store, "memberships", write(tmp_path, "no-channel.csv", text)), "tester")
    blank = ("Member ID,Network,Joined,Area,Channel\n"
             "C002,Patient Network,04/01/2025,A1,\n")
    commit_import(store, preview_import(store, "memberships", write(tmp_path, "blank-channel.csv", blank)), "tester")
    with store.connect() as conn:
        rows = conn.execute(select(m.NetworkMembership.member_ref, m.NetworkMembership.channel)
                            .where(m.NetworkMembership.member_ref.in_(["C001", "C002"]))
                            .order_by(m.NetworkMembership.member_ref)).all()
    assert [tuple(r) for r in rows] == [("C001", "Not recorded"), ("C002", "Not recorded")]


def test_windows_1252_panel_file(store, tmp_path):
    text = ("Panel ID,Wave,Term start,Term end,Area,Age,Sex,Ethnic group,Disability,Comments\n"
            "P9,6,01/05/2026,30/04/2029,A1,30,Female,Asian or Asian British,No,café – fine\n"
            "P10,6,01/05/2026,30/04/2025,A2,30,Female,White,No,\n")
    preview = preview_import(store, "panel", write(tmp_path, "panel.csv", text, "cp1252"))
    assert preview.encoding == "Windows-1252"
    assert [p.sentence("panel.csv") for p in preview.rejected] == [
        "panel.csv, row 3, column 'Term end': expected a term end on or after the term start (01/05/2026)."]
    commit_import(store, preview, "tester")
    with store.connect() as conn:
        p9 = conn.execute(select(m.PanelMember.__table__).where(m.PanelMember.member_ref == "P9")).one()
    assert (p9.birth_year, p9.ethnic_group, p9.wave) == (2026 - 30, "Asian", 6)


def test_activities_and_actions_link_to_surveys(store, tmp_path):
    acts = ("Type,Title,Date,Area,Attendance,Survey\n"
            "Roadshow,Margate roadshow,02/03/2025,Thanet,40,Tiny survey\n"
            "Event,=HYPERLINK(\"http://x\"),03/03/2025,,,\n"
            "Event,Unknown survey event,04/03/2025,,,No such survey\n")
    preview = preview_import(store, "activities", write(tmp_path, "acts.csv", acts))
    assert [p.sentence("acts.csv") for p in preview.rejected] == [
        "acts.csv, row 4, column 'survey': expected the title of a survey in the store."]
    commit_import(store, preview, "tester")
    with store.connect() as conn:
        titles = dict(conn.execute(select(m.Activity.title, m.Activity.survey_id)).all())
    assert titles["Margate roadshow"] == 1
    assert titles['=HYPERLINK("http://x")'] is None  # stored as plain text; CSV downloads make it inert
    actions = ("Theme,You said,We did,Status,Date,Survey\n"
               "Access,Phones are busy,Added a call-back service,completed,01/04/2025,Tiny survey\n"
               "Access,Phones are busy,Added a call-back service,maybe,01/04/2025,Tiny survey\n")
    preview = preview_import(store, "actions", write(tmp_path, "actions.csv", actions))
    assert [p.sentence("actions.csv") for p in preview.rejected] == [
        "actions.csv, row 3, column 'Status': expected Planned, In progress or Done, found 'maybe'."]
    assert preview.to_add.iloc[0]["status"] == "Done"


def test_command_line_refuses_rejected_rows_unless_told(store, tmp_path, monkeypatch, capsys):
    url = store.url.render_as_string(hide_password=False)
    if store.dialect.name == "postgresql":
        pytest.skip("the command line is exercised on SQLite; the pipeline itself on both engines")
    monkeypatch.setenv("DATABASE_URL", url)
    path = write(tmp_path, "members.csv", MEMBERS)
    before = counts(store)
    assert main(["import", "memberships", str(path)]) == 1
    assert "Nothing was imported: 3 rows were rejected" in capsys.readouterr().err
    assert counts(store) == before
    assert main(["import", "memberships", str(path), "--skip-rejected", "--user", "cli"]) == 0
    assert counts(store)["networkmembership"] == before["networkmembership"] + 3
    assert main(["imports"]) == 0
    assert "memberships from members.csv by cli: 3 added" in capsys.readouterr().out
    assert main(["undo", "1"]) == 0
    assert counts(store)["networkmembership"] == before["networkmembership"]


# --- Dates out of range ----------------------------------------------------------------------------------

FAR_DATES = (
    "Member ID,Network,Joined,Left,Area,Year of birth\n"
    "F1,Patient Network,01/01/2099,,A1,1950\n"
    "F2,Patient Network,01/01/0001,,A1,1950\n"
    "F3,Patient Network,01/06/2026,16/06/2026,A1,1950\n"
    "F4,Patient Network,01/06/2026,,A1,2027\n"
    "F5,Patient Network,15/06/2026,15/06/2026,A1,1900\n"
)


@pytest.fixture
def june_2026(monkeypatch):
    from data_access.importing import kinds
    monkeypatch.setattr(kinds, "today", lambda: dt.date(2026, 6, 15), raising=False)


def test_dates_far_in_the_future_or_past_are_rejected_with_row_and_column(store, tmp_path, june_2026):
    preview = preview_import(store, "memberships", write(tmp_path, "members.csv", FAR_DATES))
    assert [p.sentence("members.csv") for p in preview.rejected] == [
        "members.csv, row 2, column 'Joined': expected a date from 01/01/2000 to today (15/06/2026), found "
        "'01/01/2099'.",
        "members.csv, row 3, column 'Joined': expected a date from 01/01/2000 to today (15/06/2026), found "
        "'01/01/0001'.",
        "members.csv, row 4, column 'Left': expected a date from 01/01/2000 to today (15/06/2026), found "
        "'16/06/2026'.",
        "members.csv, row 5, column 'Year of birth': expected a whole number from 1900 to 2026, found '2027'.",
    ]
    assert list(preview.to_add["member_ref"]) == ["F5"]  # today, and a birth year of 1900, are fine


def test_survey_responses_panel_terms_activities_and_actions_have_their_own_allowance(store, tmp_path, june_2026):
    from data_access.importing.fields import FieldError
    from data_access.importing.kinds import KINDS
    column = {(k, c.field): c.parse for k, kind in KINDS.items() for c in kind.columns}
    assert column["responses", "submitted_at"]("15/06/2026 23:59") == dt.datetime(2026, 6, 15, 23, 59)
    with pytest.raises(FieldError, match=r"^expected a date from 01/01/2000 to today \(15/06/2026\), found "
                                         r"'2099-01-01 10:00'$"):
        column["responses", "submitted_at"]("2099-01-01 10:00")
    assert column["panel", "term_start"]("15/06/2027") == dt.date(2027, 6, 15)  # a term starting within a year
    assert column["panel", "term_end"]("15/06/2036") == dt.date(2036, 6, 15)  # a term ending within 10 years
    with pytest.raises(FieldError, match=r"^expected a date from 01/01/2000 to 15/06/2036 \(10 years from today\), "
                                         r"found '01/01/2099'$"):
        column["panel", "term_end"]("01/01/2099")
    for kind, field in (("activities", "held_on"), ("actions", "action_date")):  # planned: up to 2 years ahead
        assert column[kind, field]("15/06/2028") == dt.date(2028, 6, 15)
        with pytest.raises(FieldError, match=r"^expected a date from 01/01/2000 to 15/06/2028 \(2 years from today\), "
                                             r"found '16/06/2028'$"):
            column[kind, field]("16/06/2028")
        with pytest.raises(FieldError, match=r"found '31/12/1999'$"):
            column[kind, field]("31/12/1999")


def test_the_command_line_shows_the_date_sentence(store, tmp_path, monkeypatch, capsys, june_2026):
    if store.dialect.name == "postgresql":
        pytest.skip("the command line is exercised on SQLite; the pipeline itself on both engines")
    monkeypatch.setenv("DATABASE_URL", store.url.render_as_string(hide_password=False))
    before = counts(store)
    assert main(["import", "memberships", str(write(tmp_path, "members.csv", FAR_DATES))]) == 1
    out = capsys.readouterr()
    assert ("members.csv, row 2, column 'Joined': expected a date from 01/01/2000 to today (15/06/2026), found "
            "'01/01/2099'.") in out.out + out.err
    assert "Traceback" not in out.out + out.err
    assert counts(store) == before
