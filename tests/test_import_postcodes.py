"""A postcode lookup loaded by the team lets a file's full postcodes find their small area; the postcodes are
then dropped and never stored (SQLite and PostgreSQL)."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from data_access import models as m
from data_access.cli import main
from data_access.importing.pipeline import ImportError_, commit_import, preview_import
from data_access.importing.postcodes import PostcodeLookupError, load_postcode_lookup, normalise_postcode
from tests.factories import build_tiny_store

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
LOOKUP = FIXTURES / "postcodes_nspl_sample.csv"
MEMBERS = FIXTURES / "memberships_with_postcodes.csv"


@pytest.fixture
def store(engine):
    build_tiny_store(engine)
    return engine


def lookup(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(m.PostcodeArea.postcode, m.PostcodeArea.lsoa_code)).all())


def test_loading_keeps_the_postcodes_of_the_loaded_small_areas(store):
    report = load_postcode_lookup(store, LOOKUP)
    # 5 rows; SW1A 1AA is in a small area that is not loaded. The 2021 column matches the tiny store's areas.
    assert lookup(store) == {"CT91AA": "A1", "CT91AB": "A1", "CT12ZZ": "A2", "ME144TB": "B1"}
    assert (report.rows_read, report.postcodes, report.lsoa_column) == (5, 4, "lsoa21")
    assert report.sentence().startswith("Loaded 4 postcodes in the loaded small areas from postcodes_nspl_sample.csv")
    load_postcode_lookup(store, LOOKUP)  # loading again replaces, not doubles
    assert len(lookup(store)) == 4


def test_a_lookup_without_the_columns_is_refused_with_one_sentence(store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,ward\nCT9 1AA,X\n")
    with pytest.raises(PostcodeLookupError) as err:
        load_postcode_lookup(store, bad)
    assert str(err.value) == ("bad.csv: expected a postcode column (pcds, pcd or postcode) and a small-area column "
                              "(lsoa21cd, lsoa21, lsoa11cd or lsoa11), found 'postcode', 'ward'.")
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("pcds,lsoa21cd\nSW1A 1AA,E01004736\n")
    with pytest.raises(PostcodeLookupError, match=r"^elsewhere.csv: none of its 1 postcodes is in a small area"):
        load_postcode_lookup(store, elsewhere)
    assert lookup(store) == {}


def test_postcodes_find_the_area_and_are_not_stored(store):
    load_postcode_lookup(store, LOOKUP)
    preview = preview_import(store, "memberships", MEMBERS)
    assert preview.postcode_column == "Postcode"
    assert "used to find each row's small area through the postcode lookup, then dropped" in preview.summary()
    assert [p.sentence("m.csv") for p in preview.rejected] == [
        "m.csv, row 4, column 'Postcode': expected a postcode found in the loaded postcode lookup (the postcode is "
        "not shown here, and it is not stored).",
        "m.csv, row 5, column 'Postcode': expected a postcode (or an area column), found an empty cell.",
    ]
    assert "ZZ9" not in preview.summary()
    import_id = commit_import(store, preview, "tester")
    with store.connect() as conn:
        rows = conn.execute(select(m.NetworkMembership.__table__).where(m.NetworkMembership.import_id == import_id)).all()
        log = conn.execute(select(m.ImportLog.columns_dropped).where(m.ImportLog.id == import_id)).scalar_one()
    assert {r.member_ref: r.lsoa_code for r in rows} == {"P001": "A1", "P002": "B1", "P005": "A2"}
    assert log == "Postcode"
    for r in rows:  # no value of any stored column is a postcode
        assert not any(isinstance(v, str) and normalise_postcode(v) in {"CT91AA", "ME144TB", "CT12ZZ"} for v in r)


def test_postcodes_without_a_lookup_say_what_to_do(store):
    before = lookup(store)
    with pytest.raises(ImportError_) as err:
        preview_import(store, "memberships", MEMBERS)
    assert str(err.value).startswith("memberships_with_postcodes.csv: the file gives postcodes but no area column, "
                                     "and no postcode lookup is loaded; load one first")
    assert lookup(store) == before


def test_command_line_loads_a_lookup(store, monkeypatch, capsys):
    if store.dialect.name == "postgresql":
        pytest.skip("the command line is exercised on SQLite; the loader itself on both engines")
    monkeypatch.setenv("DATABASE_URL", store.url.render_as_string(hide_password=False))
    assert main(["import-postcodes", str(LOOKUP)]) == 0
    assert "Loaded 4 postcodes" in capsys.readouterr().out
    assert main(["import-postcodes", str(FIXTURES / "nothing-here.csv")]) == 1
    assert capsys.readouterr().err.strip() == "Error: nothing-here.csv does not exist."
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.PostcodeArea)).scalar_one() == 4
