"""Importing the real reference data (IMD, census, lookups, boundaries) on SQLite and PostgreSQL.

The whole reference folder shipped in data/reference/ is imported once per database engine (module-scoped) and checked against
expectations computed independently with pandas from the same files. Error cases run against that loaded
store and check that it is left exactly as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text

from data_access import models as m
from data_access.areas import ICP_AREAS
from data_access.db import StoreError, init_db, make_engine
from tests.conftest import REFERENCE_DIR, reference_file
from data_access.reference_import import (
    DEMO_REMOVED,
    EDITION_2019,
    EDITION_2025,
    ImportReport,
    ReferenceImportError,
    _parse_sex,
    _read,
    import_reference,
    load_reference_folder,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reference"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES", "") not in ("", "0", "false")

IMD25 = "imd2025_lsoa21_kent_medway.csv"
IMD19 = "imd2019_lsoa11_kent_medway.csv"
LOOKUP21 = "lookup_lsoa21_icp_kent_medway.csv"
CENSUS = "census2021_lsoa21_age_ethnicity_disability_kent_medway.csv"
TS009_5YR = "census2021_ts009_sex_5yr_age_lad_kent_medway.csv"
TS009_1YR = "census2021_ts009_sex_single_year_age_lad_kent_medway.csv"

DOMAIN_LONG = {
    "imd": "Index of Multiple Deprivation (IMD)",
    "income": "Income",
    "employment": "Employment",
    "education_skills_training": "Education, Skills and Training",
    "health_deprivation_disability": "Health Deprivation and Disability",
    "crime": "Crime",
    "barriers_housing_services": "Barriers to Housing and Services",
    "living_environment": "Living Environment",
    "children_and_young_people": "Children and Young People Sub-domain",
    "adult_skills": "Adult Skills Sub-domain",
    "geographical_barriers": "Geographical Barriers Sub-domain",
    "wider_barriers": "Wider Barriers Sub-domain",
    "indoors": "Indoors Sub-domain",
    "outdoors": "Outdoors Sub-domain",
}
DECILE_COLUMNS = {
    "income_decile": "income_decile",
    "employment_decile": "employment_decile",
    "education_skills_training_decile": "education_decile",
    "health_deprivation_disability_decile": "health_decile",
    "crime_decile": "crime_decile",
    "barriers_housing_services_decile": "barriers_decile",
    "living_environment_decile": "living_environment_decile",
}


# --- Fixtures and helpers -----------------------------------------------------------------------------------


def _pg_reason() -> str | None:
    try:
        eng = make_engine(PG_ADMIN_URL)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"


@pytest.fixture(scope="module")
def ref() -> Path:
    if not REFERENCE_DIR.exists():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request, tmp_path_factory, ref):
    """A store with the whole shipped reference folder imported once: (engine, report)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}")
        init_db(eng)
        try:
            yield eng, import_reference(eng, ref)
        finally:
            eng.dispose()
        return
    reason = _pg_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (REQUIRE_POSTGRES is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_ADMIN_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        init_db(eng)
        yield eng, import_reference(eng, ref)
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def imd25(ref) -> pd.DataFrame:
    return pd.read_csv(ref / IMD25, dtype={"lsoa21_code": str})


def snapshot(engine, skip_settings: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table, in primary key order."""
    out = {}
    with engine.connect() as conn:
        for table in m.SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            if table.name == "setting":
                rows = [r for r in rows if r.key not in skip_settings]
            out[table.name] = [tuple(r) for r in rows]
    return out


def frame(engine, stmt) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(stmt)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def settings(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(m.Setting.key, m.Setting.value)).all())


def lsoa_frame(engine) -> pd.DataFrame:
    return frame(engine, select(m.Lsoa.__table__)).set_index("code").sort_index()


def icp_counts(engine) -> dict[str, int]:
    stmt = (select(m.IcpArea.name, func.count(m.Lsoa.code)).join(m.Lsoa, m.Lsoa.icp_id == m.IcpArea.id)
            .group_by(m.IcpArea.name))
    with engine.connect() as conn:
        return dict(conn.execute(stmt).all())


def expected_imd_rows(imd: pd.DataFrame) -> pd.DataFrame:
    """What the Lsoa table should hold for the IMD columns, from pandas on the IMD file."""
    out = pd.DataFrame({
        "name": imd["lsoa21_name"].values,
        "lad_code": imd["lad24_code"].values,
        "imd_score": imd["imd_score"].values,
        "imd_rank": imd["imd_rank"].values,
        "imd_decile": imd["imd_decile"].values,
        **{col: imd[src].values for src, col in DECILE_COLUMNS.items()},
    }, index=imd["lsoa21_code"].values)
    out["local_rank"] = out["imd_rank"].rank(method="first").astype(int)
    return out.sort_index()


IMD_COLUMNS = ["name", "lad_code", "imd_score", "imd_rank", "imd_decile", *DECILE_COLUMNS.values(), "local_rank"]


def assert_imd_matches(engine, imd: pd.DataFrame) -> None:
    got = lsoa_frame(engine)[IMD_COLUMNS]
    want = expected_imd_rows(imd)[IMD_COLUMNS]
    assert list(got.index) == list(want.index)
    for col in IMD_COLUMNS:
        if col == "imd_score":
            assert (got[col].astype(float) - want[col].astype(float)).abs().max() < 1e-9
        else:
            assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col


def long_headers(columns: list[str], lsoa_year: int = 2021, lad_year: int = 2024) -> dict[str, str]:
    """The official IoD File 7 header for each snake_case column of the shipped copy."""
    names = {}
    for col in columns:
        if col.startswith("lsoa") and col.endswith("_code"):
            names[col] = f"LSOA code ({lsoa_year})"
        elif col.startswith("lsoa") and col.endswith("_name"):
            names[col] = f"LSOA name ({lsoa_year})"
        elif col.startswith("lad") and col.endswith("_code"):
            names[col] = f"Local Authority District code ({lad_year})"
        elif col.startswith("lad") and col.endswith("_name"):
            names[col] = f"Local Authority District name ({lad_year})"
        elif col == "pop_total_mid2015":
            names[col] = "Total population: mid 2015 (excluding prisoners)"
        elif col.startswith("pop_") or col.startswith("pop"):
            names[col] = col.replace("_", " ").title()
        else:
            domain, measure = col.rsplit("_", 1)
            long = DOMAIN_LONG[domain]
            if measure == "score":
                names[col] = f"{long} Score" + (" (rate)" if domain in ("income", "employment") else "")
            elif measure == "rank":
                names[col] = f"{long} Rank (where 1 is most deprived)"
            else:
                names[col] = f"{long} Decile (where 1 is most deprived 10% of LSOAs)"
    return names


def rewrite_row(src: Path, dst: Path, row: int, column: str, value: str) -> None:
    """Copy a CSV changing one cell (row 1 = header)."""
    rows = list(csv.reader(src.read_text(encoding="utf-8").splitlines()))
    rows[row - 1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    dst.write_text(buf.getvalue(), encoding="utf-8")


# --- The whole folder -------------------------------------------------------------------------------------------


def test_folder_counts_and_icps_match_the_lookup(loaded, ref):
    engine, report = loaded
    lookup = pd.read_csv(ref / LOOKUP21)
    expected = lookup.groupby("icp")["lsoa21_code"].nunique().to_dict()
    assert expected == {"Dartford, Gravesham and Swanley": 163, "East Kent": 414, "Medway and Swale": 240,
                        "West Kent": 290}
    assert icp_counts(engine) == expected
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.Lsoa)).scalar_one() == 1107
        assert conn.execute(select(func.count()).select_from(m.LocalAuthority)).scalar_one() == 13
        assert conn.execute(select(func.count(func.distinct(m.Lsoa.lad_code)))).scalar_one() == 13
        assert sorted(conn.execute(select(m.IcpArea.name)).scalars()) == sorted(n for n, _ in ICP_AREAS)
    # Each LSOA has the lookup's ICP, not just the right totals.
    got = frame(engine, select(m.Lsoa.code, m.IcpArea.name).join(m.IcpArea, m.Lsoa.icp_id == m.IcpArea.id))
    assert dict(zip(got["code"], got["name"])) == dict(zip(lookup["lsoa21_code"], lookup["icp"]))
    assert settings(engine)["geography_edition"] == EDITION_2025
    assert settings(engine)["geography_synthetic"] == "0"
    assert report.edition == EDITION_2025


def test_folder_report_lists_imported_and_skipped_files(loaded):
    _, report = loaded
    imported = {f.name: f.rows for f in report.imported}
    assert imported[IMD25] == 1107
    assert imported[LOOKUP21] == 1107
    assert imported[CENSUS] == 1107
    assert imported["lsoa21_boundaries_bsc_kent_medway.geojson"] == 1107
    assert imported["icp_boundaries_derived_kent_medway.geojson"] == 4
    assert len([n for n in imported if "ts009" in n]) == 1
    skipped = {s.name: s.reason for s in report.skipped}
    assert skipped["SOURCES.md"].startswith("not recognised")
    summary = report.summary()
    assert summary.startswith("Imported 7 files (IoD2025 / LSOA 2021):")
    assert f"Skipped {len(skipped)} file" in summary
    assert "1,107 small areas in 13 local authorities and 4 ICP areas" in summary
    assert "Traceback" not in summary


def test_the_shipped_folder_holds_one_edition_and_a_sources_note():
    """data/reference/ is what the first start loads: the seven IoD2025 files and their sources, nothing skipped
    but the note; the earlier edition sits in its own folder."""
    shipped = Path(__file__).resolve().parent.parent / "data" / "reference"
    assert sorted(p.name for p in shipped.iterdir() if p.is_file()) == sorted([
        IMD25, LOOKUP21, CENSUS, TS009_5YR, "lsoa21_centroids_kent_medway.csv",
        "lsoa21_boundaries_bsc_kent_medway.geojson", "icp_boundaries_derived_kent_medway.geojson", "SOURCES.md"])
    assert sorted(p.name for p in (shipped / "iod2019").iterdir()) == [
        "imd2019_lsoa11_kent_medway.csv", "lookup_lsoa11_ccg19_icp_kent_medway.csv"]
    assert sum(p.stat().st_size for p in shipped.rglob("*") if p.is_file()) < 3_000_000
    sources = (shipped / "SOURCES.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in sources
    assert "Contains OS data © Crown copyright and database right" in sources


def test_folder_skips_the_other_edition_and_files_not_needed(sqlite_engine, ref, tmp_path):
    for name in (IMD25, LOOKUP21, IMD19, "imd2025_lad24_summary_kent_medway.csv",
                 "population_mid2020_lsoa11_5yr_age_kent_medway.csv"):
        (tmp_path / name).write_bytes(reference_file(name).read_bytes())
    report = import_reference(sqlite_engine, tmp_path)
    assert [f.name for f in report.imported] == [IMD25, LOOKUP21]
    skipped = {s.name: s.reason for s in report.skipped}
    assert skipped[IMD19] == "IoD2019 / LSOA 2011 edition; the IoD2025 / LSOA 2021 files were imported instead"
    assert "not needed" in skipped["imd2025_lad24_summary_kent_medway.csv"]
    assert "not needed" in skipped["population_mid2020_lsoa11_5yr_age_kent_medway.csv"]


def test_districts_and_core20_match_pandas(loaded, imd25):
    engine, _ = loaded
    expected = imd25.groupby("lad24_code").size().to_dict()
    got = frame(engine, select(m.Lsoa.lad_code, func.count()).group_by(m.Lsoa.lad_code))
    assert dict(zip(got.iloc[:, 0], got.iloc[:, 1])) == expected
    core20 = imd25[imd25["imd_decile"] <= 2].groupby("lad24_code").size()
    got = frame(engine, select(m.Lsoa.lad_code, func.count().label("n")).where(m.Lsoa.imd_decile <= 2)
                .group_by(m.Lsoa.lad_code)).set_index("lad_code")["n"]
    assert got.to_dict() == core20.to_dict()
    assert got.idxmax() == core20.idxmax()


def test_imd_columns_and_local_rank(loaded, imd25):
    engine, _ = loaded
    assert_imd_matches(engine, imd25)
    lsoas = lsoa_frame(engine)
    assert lsoas.loc[lsoas["local_rank"] == 1].index[0] == imd25.loc[imd25["imd_rank"].idxmin(), "lsoa21_code"]
    assert sorted(lsoas["local_rank"]) == list(range(1, 1108))


def test_population_matches_census(loaded, ref):
    engine, _ = loaded
    census = pd.read_csv(ref / CENSUS).set_index("lsoa21_code")
    lsoas = lsoa_frame(engine)
    assert int(lsoas["population"].sum()) == int(census["age_total"].sum())
    assert (lsoas["population"] == census["age_total"].reindex(lsoas.index)).all()
    counts = frame(engine, select(m.PopulationCount.__table__))
    pivot = counts.pivot_table(index="lsoa_code", columns=["dimension", "group_name"], values="count")
    assert (pivot[("age_band", "0-15")] == census["age_0_15"].reindex(pivot.index)).all()
    assert (pivot[("age_band", "65+")] == census["age_65_plus"].reindex(pivot.index)).all()
    assert (pivot[("ethnic_group", "Asian")] == census["ethnic_asian"].reindex(pivot.index)).all()
    assert (pivot[("disability", "Not disabled")] == census["not_disabled_equality_act"].reindex(pivot.index)).all()
    groups = counts.groupby("dimension")["group_name"].unique().map(sorted).to_dict()
    assert groups == {
        "age_band": sorted(["0-15", "16-24", "25-34", "35-49", "50-64", "65+"]),
        "disability": ["Disabled", "Not disabled"],
        "ethnic_group": sorted(["Asian", "Black", "Mixed", "White", "Other"]),
        "sex": ["Female", "Male"],
    }
    assert not counts.loc[counts["dimension"] != "sex", "estimated"].any()


def test_sex_is_apportioned_from_ts009(loaded, ref):
    engine, _ = loaded
    counts = frame(engine, select(m.PopulationCount.__table__).where(m.PopulationCount.dimension == "sex"))
    assert counts["estimated"].all()
    lsoas = lsoa_frame(engine)
    per_lsoa = counts.groupby("lsoa_code")["count"].sum()
    assert len(per_lsoa) == 1107
    assert (per_lsoa == lsoas["population"].reindex(per_lsoa.index)).all()
    ts009 = pd.read_csv(ref / TS009_5YR).groupby("lad_code")[["female", "male"]].sum()
    share = ts009["female"] / (ts009["female"] + ts009["male"])
    female = counts[counts["group_name"] == "Female"].set_index("lsoa_code")["count"]
    by_lad = pd.DataFrame({"female": female, "lad": lsoas["lad_code"].reindex(female.index),
                           "pop": lsoas["population"].reindex(female.index)}).groupby("lad").sum()
    assert len(by_lad) == 13
    for lad, row in by_lad.iterrows():
        assert abs(row["female"] - row["pop"] * share[lad]) <= 1, lad  # within rounding
    # Each small area is within one person of its exact share.
    exact = lsoas["population"].reindex(female.index) * share.reindex(lsoas["lad_code"].reindex(female.index)).values
    assert (female - exact).abs().max() < 1


def test_single_year_ts009_gives_the_same_lad_totals(ref):
    five = _parse_sex(_read(ref / TS009_5YR))["by_lad"]
    single = _parse_sex(_read(reference_file(TS009_1YR)))["by_lad"]
    assert five == single
    assert sum(f + mm for f, mm in five.values()) == 1_855_842


def test_boundaries_and_centroids(loaded, ref):
    engine, _ = loaded
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.LsoaBoundary)).scalar_one() == 1107
        assert conn.execute(select(func.count()).select_from(m.IcpBoundary)).scalar_one() == 4
        geometry = json.loads(conn.execute(select(m.LsoaBoundary.geometry).limit(1)).scalar_one())
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    lsoas = lsoa_frame(engine)
    assert lsoas["longitude"].notna().all() and lsoas["latitude"].notna().all()
    centroids = pd.read_csv(ref / "lsoa21_centroids_kent_medway.csv").set_index("lsoa21_code")
    assert (lsoas["longitude"] - centroids["longitude"].reindex(lsoas.index)).abs().max() < 1e-9
    assert lsoas["latitude"].between(50.8, 51.6).all() and lsoas["longitude"].between(0.0, 1.5).all()


def test_reimport_is_idempotent(loaded, ref):
    engine, first = loaded
    versions = ("data_version", "summaries_of")  # a new data version, and the summaries marked as of it
    before = snapshot(engine, skip_settings=versions)
    again = load_reference_folder(engine, ref)
    assert snapshot(engine, skip_settings=versions) == before
    assert [(f.name, f.rows) for f in again.imported] == [(f.name, f.rows) for f in first.imported]


# --- Errors: one sentence, store unchanged ------------------------------------------------------------------------


def _truncated(ref: Path, dst: Path) -> str:
    content = (ref / IMD25).read_text(encoding="utf-8").rstrip("\n")
    cut = content[:-150]
    dst.write_text(cut, encoding="utf-8")
    rows = list(csv.reader(cut.splitlines()))
    return (f"{dst.name}, row {len(rows)}, column '{rows[0][len(rows[-1])]}': expected {len(rows[0])} values in the "
            f"row, found {len(rows[-1])}; the file looks truncated.")


def _make_bad(case: str, ref: Path, tmp: Path) -> tuple[Path, str]:
    if case == "empty":
        path = tmp / "empty.csv"
        path.write_bytes(b"")
        return path, "empty.csv, row 1: expected a header row, found an empty file (0 bytes)."
    if case == "unrecognised":
        path = tmp / "odd.csv"
        path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
        return path, ("odd.csv, row 1: expected the columns of a reference file (deprivation, lookup, census, "
                      "centroids or boundaries, e.g. 'lsoa21_code', 'imd_rank', 'imd_decile'), found 'a', 'b', 'c'.")
    if case == "decile":
        path = tmp / "imd.csv"
        rewrite_row(ref / IMD25, path, 7, "imd_decile", "11")
        return path, "imd.csv, row 7, column 'imd_decile': expected a whole number from 1 to 10, found '11'."
    if case == "score":
        path = tmp / "imd_score.csv"
        rewrite_row(ref / IMD25, path, 12, "imd_score", "n/a")
        return path, "imd_score.csv, row 12, column 'imd_score': expected a number, found 'n/a'."
    if case == "domain_score":
        path = tmp / "imd_income.csv"
        rewrite_row(ref / IMD25, path, 40, "income_score", "12,5")
        return path, "imd_income.csv, row 40, column 'income_score': expected a number, found '12,5'."
    if case == "rank":
        path = tmp / "imd_rank.csv"
        rewrite_row(ref / IMD25, path, 3, "imd_rank", "first")
        return path, "imd_rank.csv, row 3, column 'imd_rank': expected a whole number of 1 or more, found 'first'."
    if case == "missing_code":
        path = tmp / "imd_code.csv"
        rewrite_row(ref / IMD25, path, 5, "lsoa21_code", "")
        return path, ("imd_code.csv, row 5, column 'lsoa21_code': expected an LSOA code like 'E01016016', "
                      "found an empty cell.")
    if case == "truncated":
        path = tmp / "imd_cut.csv"
        return path, _truncated(ref, path)
    if case == "encoding":
        path = tmp / "bad_bytes.csv"
        data = (ref / IMD25).read_bytes().split(b"\n")
        data[2] = data[2].replace(b"Medway", b"Med\x81way", 1)
        path.write_bytes(b"\n".join(data))
        return path, ("bad_bytes.csv, row 3, column 'lsoa21_name': expected text in UTF-8 or Windows-1252, found the "
                      "byte 0x81, which is not valid in either.")
    if case == "decile_in_folder":
        folder = tmp / "folder"
        folder.mkdir()
        rewrite_row(ref / IMD25, folder / "a.csv", 1108, "crime_decile", "0")
        (folder / "notes.txt").write_text("just some notes\n", encoding="utf-8")
        return folder, "a.csv, row 1108, column 'crime_decile': expected a whole number from 1 to 10, found '0'."
    if case == "iod2019_into_2025":
        return reference_file(IMD19), (f"{IMD19} uses IoD2019 / LSOA 2011 small areas but the store holds "
                                       f"IoD2025 / LSOA 2021; import files of the IoD2025 / LSOA 2021 edition instead.")
    if case == "lookup2011_into_2025":
        name = "lookup_lsoa11_ccg19_icp_kent_medway.csv"
        return reference_file(name), (f"{name} uses IoD2019 / LSOA 2011 small areas but the store holds IoD2025 / "
                                      f"LSOA 2021; import files of the IoD2025 / LSOA 2021 edition instead.")
    if case == "bad_icp":
        path = tmp / "lookup.csv"
        rewrite_row(ref / LOOKUP21, path, 9, "icp", "North Kent")
        return path, ("lookup.csv, row 9, column 'icp': expected one of the four ICP areas (Dartford, Gravesham and "
                      "Swanley, East Kent, Medway and Swale, West Kent), found 'North Kent'.")
    raise AssertionError(case)


ERROR_CASES = ["empty", "unrecognised", "decile", "score", "domain_score", "rank", "missing_code", "truncated",
               "encoding",
               "decile_in_folder", "iod2019_into_2025", "lookup2011_into_2025", "bad_icp"]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_name_file_row_column_and_leave_store_unchanged(loaded, ref, tmp_path, case):
    engine, _ = loaded
    path, message = _make_bad(case, ref, tmp_path)
    before = snapshot(engine)
    with pytest.raises(ReferenceImportError) as info:
        import_reference(engine, path)
    assert str(info.value) == message
    assert isinstance(info.value, StoreError)
    assert "\n" not in str(info.value)
    assert snapshot(engine) == before


@pytest.mark.parametrize("name, message", [
    ("point_boundary.geojson", "point_boundary.geojson, feature 1, property 'geometry': expected a Polygon or "
                               "MultiPolygon, found 'Point'."),
    ("wrong_columns.csv", "wrong_columns.csv, row 1: expected the columns of a reference file (deprivation, lookup, "
                          "census, centroids or boundaries, e.g. 'lsoa21_code', 'imd_rank', 'imd_decile'), found "
                          "'area', 'score', 'colour'."),
])
def test_hand_written_bad_fixtures(loaded, name, message):
    engine, _ = loaded
    before = snapshot(engine)
    with pytest.raises(ReferenceImportError) as info:
        import_reference(engine, FIXTURES / name)
    assert str(info.value) == message
    assert snapshot(engine) == before


def test_boundaries_alone_give_centroids_where_missing(engine, ref):
    import_reference(engine, ref / IMD25)
    assert lsoa_frame(engine)["longitude"].isna().all()
    report = import_reference(engine, ref / "lsoa21_boundaries_bsc_kent_medway.geojson")
    assert [(f.rows, f.kind) for f in report.imported] == [(1107, "small area boundaries (LSOA 2021)")]
    lsoas = lsoa_frame(engine)
    centroids = pd.read_csv(ref / "lsoa21_centroids_kent_medway.csv").set_index("lsoa21_code")
    diff = (lsoas["longitude"] - centroids["longitude"].reindex(lsoas.index)).abs()
    assert diff.median() < 1e-4 and diff.max() < 0.05
    with engine.connect() as conn:
        text_ = conn.execute(select(m.LsoaBoundary.geometry)
                             .where(m.LsoaBoundary.lsoa_code == "E01016016")).scalar_one()
    coords = json.loads(text_)["coordinates"][0][0]
    assert all(round(v, 5) == v for point in coords for v in point)


def test_error_on_empty_store_leaves_it_empty(engine, ref, tmp_path):
    path, message = _make_bad("truncated", ref, tmp_path)
    before = snapshot(engine)
    with pytest.raises(ReferenceImportError, match="looks truncated"):
        import_reference(engine, path)
    assert snapshot(engine) == before


def test_failure_late_in_the_transaction_rolls_everything_back(engine, ref, tmp_path, monkeypatch):
    """An error after some rows were written (here: a forced one) leaves the store as before."""
    from data_access import reference_import as ri

    import_reference(engine, ref / IMD25)
    before = snapshot(engine)

    def boom(*args, **kwargs):
        raise ReferenceImportError("forced failure after writing.")

    monkeypatch.setattr(ri, "_totals", boom)
    folder = tmp_path / "f"
    folder.mkdir()
    for name in (LOOKUP21, CENSUS, TS009_5YR):
        (folder / name).write_bytes((reference_file(name)).read_bytes())
    with pytest.raises(ReferenceImportError, match="forced failure"):
        import_reference(engine, folder)
    assert snapshot(engine) == before


# --- Official headers, Excel and other encodings -----------------------------------------------------------------


def _official_2025(imd: pd.DataFrame, ref: Path) -> pd.DataFrame:
    """The shipped IoD2025 copy in File 7's own headers, with a population column, IDACI columns and three
    rows from outside Kent and Medway, as in the national file."""
    out = imd.copy()
    census = pd.read_csv(ref / CENSUS).set_index("lsoa21_code")
    out["pop"] = census["age_total"].reindex(out["lsoa21_code"]).values
    out = out.rename(columns=long_headers(list(imd.columns)))
    out = out.rename(columns={"pop": "Total population: mid 2022 (excluding prisoners)"})
    # Supplementary indices that must not be mistaken for the income domain.
    out["Income Deprivation Affecting Children Index (IDACI) Score (rate)"] = 0.5
    out["Income Deprivation Affecting Children Index (IDACI) Decile (where 1 is most deprived 10% of LSOAs)"] = 10
    others = out.head(3).copy()
    others["LSOA code (2021)"] = ["E01004766", "E01004767", "E01004768"]
    others["LSOA name (2021)"] = ["Bolton 001A", "Bolton 001B", "Bolton 001C"]
    others["Local Authority District code (2024)"] = "E08000001"
    others["Local Authority District name (2024)"] = "Bolton"
    return pd.concat([others, out], ignore_index=True)


RENAMED = "Medway 015A \u2013 Chatham"  # an en dash: byte 0x96 in Windows-1252, not valid UTF-8


@pytest.fixture(scope="module")
def official_files(ref, imd25, tmp_path_factory) -> dict[str, Path]:
    """The IoD2025 copy in File 7's own headers, written once as UTF-8, UTF-8 with BOM, Windows-1252 and XLSX."""
    folder = tmp_path_factory.mktemp("official")
    data = _official_2025(imd25, ref)
    files = {}
    for variant, encoding in [("csv_utf8", "utf-8"), ("csv_utf8_bom", "utf-8-sig"), ("csv_cp1252", "cp1252")]:
        out = data.copy()
        if variant == "csv_cp1252":
            out.loc[out["LSOA code (2021)"] == "E01016016", "LSOA name (2021)"] = RENAMED
        files[variant] = folder / f"File_7_{variant}.csv"
        out.to_csv(files[variant], index=False, encoding=encoding)
    files["xlsx"] = folder / "File_7.xlsx"
    with pd.ExcelWriter(files["xlsx"], engine="openpyxl") as writer:
        pd.DataFrame({"Notes": ["English Indices of Deprivation 2025"]}).to_excel(writer, sheet_name="Notes",
                                                                                 index=False)
        data.to_excel(writer, sheet_name="IoD2025", index=False)
    return files


@pytest.mark.parametrize("variant", ["csv_utf8", "csv_utf8_bom", "csv_cp1252", "xlsx"])
def test_official_long_headers_import_identically(engine, ref, imd25, official_files, variant):
    path = official_files[variant]
    renamed_name = RENAMED if variant == "csv_cp1252" else None
    if variant == "csv_cp1252":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    if variant == "csv_utf8_bom":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_reference(engine, path)
    assert [f.rows for f in report.imported] == [1107]
    assert any("1,107 small areas" in n and "1,110 rows" in n for n in report.notices)
    expected = imd25.copy()
    if renamed_name:
        expected.loc[expected["lsoa21_code"] == "E01016016", "lsoa21_name"] = renamed_name
    assert_imd_matches(engine, expected)
    lsoas = lsoa_frame(engine)
    census = pd.read_csv(ref / CENSUS).set_index("lsoa21_code")
    assert (lsoas["population"] == census["age_total"].reindex(lsoas.index)).all()
    assert settings(engine)["geography_edition"] == EDITION_2025
    # No lookup loaded: the local authority default, reported for the split authorities.
    dartford_gravesham = int(imd25["lad24_code"].isin(["E07000107", "E07000109"]).sum())
    assert icp_counts(engine)["Dartford, Gravesham and Swanley"] == dartford_gravesham
    assert any("Sevenoaks and Swale" in n for n in report.notices)
    # A lookup loaded afterwards puts the split areas right.
    import_reference(engine, ref / LOOKUP21)
    assert icp_counts(engine)["Dartford, Gravesham and Swanley"] == 163


def test_iod2019_official_headers_and_population(engine, ref, tmp_path):
    imd19 = pd.read_csv(reference_file(IMD19))
    data = imd19.rename(columns=long_headers(list(imd19.columns), lsoa_year=2011, lad_year=2019))
    assert "LSOA code (2011)" in data.columns and "Local Authority District code (2019)" in data.columns
    path = tmp_path / "File_2_IoD2019.csv"
    data.to_csv(path, index=False, encoding="utf-8-sig")
    report = import_reference(engine, path)
    assert report.edition == EDITION_2019
    assert settings(engine)["geography_edition"] == EDITION_2019
    lsoas = lsoa_frame(engine)
    assert len(lsoas) == 1065
    assert lsoas["imd_score"].isna().all()
    assert int(lsoas["population"].sum()) == int(imd19["pop_total_mid2015"].sum()) == 1_795_251
    assert (lsoas["imd_decile"] == imd19.set_index("lsoa11_code")["imd_decile"].reindex(lsoas.index)).all()
    # The 2011 lookup then gives the CCG-based ICPs: Sevenoaks 31 DGS, Swale 19 East Kent.
    import_reference(engine, reference_file("lookup_lsoa11_ccg19_icp_kent_medway.csv"))
    lookup = pd.read_csv(reference_file("lookup_lsoa11_ccg19_icp_kent_medway.csv"))
    assert icp_counts(engine) == lookup.groupby("icp").size().to_dict()
    # A 2021 file is now refused.
    with pytest.raises(ReferenceImportError, match="the store holds IoD2019 / LSOA 2011"):
        import_reference(engine, ref / CENSUS)


# --- Demo data, engagement rows and the command line ---------------------------------------------------------------


def _add_network_member(conn, lsoa_code: str) -> None:
    import datetime as dt

    network_id = conn.execute(insert(m.Network.__table__).values(name=f"Net {lsoa_code}", kind="Patient network")
                              .returning(m.Network.id)).scalar_one()
    conn.execute(insert(m.NetworkMembership.__table__).values(
        network_id=network_id, member_ref=f"M-{lsoa_code}", joined_on=dt.date(2024, 1, 1), lsoa_code=lsoa_code,
        channel="Event", sex="Not known", ethnic_group="Not known", disability="Not known"))


def test_synthetic_demo_geography_is_replaced(engine, ref):
    with engine.begin() as conn:
        conn.execute(insert(m.IcpArea.__table__), [dict(id=i + 1, name=n, short_name=s)
                                                   for i, (n, s) in enumerate(ICP_AREAS)])
        conn.execute(insert(m.LocalAuthority.__table__), [dict(code="E07000105", name="Ashford")])
        conn.execute(insert(m.Lsoa.__table__), [dict(code="E01900001", name="Ashford 001A (synthetic)",
                                                     lad_code="E07000105", icp_id=2, imd_rank=5, imd_decile=1,
                                                     population=1500)])
        conn.execute(insert(m.PopulationCount.__table__), [dict(lsoa_code="E01900001", dimension="sex",
                                                                group_name="Female", count=700, estimated=False)])
        _add_network_member(conn, "E01900001")
        conn.execute(insert(m.Setting.__table__), [dict(key="geography_synthetic", value="1"),
                                                   dict(key="geography_edition", value="Synthetic demo geography")])
    # A file that needs the small areas cannot go onto the synthetic geography by itself.
    with pytest.raises(ReferenceImportError, match="synthetic demo geography"):
        import_reference(engine, ref / CENSUS)
    # An IoD2019 file is accepted (no real edition is loaded): demo data and synthetic areas go.
    report = import_reference(engine, reference_file(IMD19))
    assert any(DEMO_REMOVED in n for n in report.notices)
    assert DEMO_REMOVED in report.summary()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(m.Network)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(m.PopulationCount)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(m.Lsoa)).scalar_one() == 1065
        assert conn.execute(select(func.count()).where(m.Lsoa.code == "E01900001")).scalar_one() == 0
    assert settings(engine)["geography_synthetic"] == "0"
    assert settings(engine)["geography_edition"] == EDITION_2019


def test_engagement_rows_outside_the_new_geography_are_reported(engine, ref):
    import_reference(engine, ref / IMD25)
    with engine.begin() as conn:
        conn.execute(insert(m.Lsoa.__table__), [dict(code="E01999999", name="Old area", lad_code="E07000105",
                                                     icp_id=2, imd_rank=10, imd_decile=1, population=0)])
        _add_network_member(conn, "E01999999")
        _add_network_member(conn, "E01016016")
    report = import_reference(engine, ref / IMD25)
    notices = " ".join(report.notices)
    assert ("1 engagement record (network memberships 1) refers to small areas that are not in the newly loaded "
            "geography; it was kept, not dropped.") in notices
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one() == 2


def test_file_needing_small_areas_on_an_empty_store(engine, ref):
    with pytest.raises(ReferenceImportError) as info:
        import_reference(engine, ref / CENSUS)
    assert str(info.value) == (f"{CENSUS} needs the small areas to be loaded first; import a deprivation file "
                               f"(IoD2025 or IoD2019 by LSOA) before it or with it.")


def test_not_needed_file_on_its_own_is_reported_not_imported(engine, ref):
    report = import_reference(engine, reference_file("imd2025_lad24_summary_kent_medway.csv"))
    assert isinstance(report, ImportReport)
    assert report.imported == []
    assert "not needed" in report.skipped[0].reason
    assert "Imported no files." in report.summary()


def test_folder_with_nothing_to_import(engine, tmp_path):
    (tmp_path / "readme.txt").write_text("hello\n", encoding="utf-8")
    with pytest.raises(ReferenceImportError, match="No reference file to import"):
        import_reference(engine, tmp_path)


def test_cli_error_is_one_line(tmp_path, monkeypatch, capsys):
    from data_access.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n", encoding="utf-8")
    assert main(["import-reference", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: bad.csv, row 1: expected the columns of a reference file")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_cli_imports_a_file(tmp_path, monkeypatch, capsys, ref):
    from data_access.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["import-reference", str(ref / IMD25)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Imported 1 file (IoD2025 / LSOA 2021):")
    assert "Sevenoaks and Swale" in out


# --- IoD2019 File 1 and File 6, and messages that fit the edition --------------------------------------------------

FILE6_HEADERS = {  # the official headers of IoD2019 File 6, "Population Denominators"
    "lsoa11_code": "LSOA code (2011)",
    "lsoa11_name": "LSOA name (2011)",
    "lad19_code": "Local Authority District code (2019)",
    "lad19_name": "Local Authority District name (2019)",
    "pop_total_mid2015": "Total population: mid 2015 (excluding prisoners)",
    "pop_children_0_15_mid2015": "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "pop_16_59_mid2015": "Population aged 16-59: mid 2015 (excluding prisoners)",
    "pop_60_plus_mid2015": "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "pop_working_age_18_59_64": "Working age population 18-59/64: for use with Employment Deprivation Domain "
                                "(excluding prisoners)",
}


def iod2019_file1_and_file6(folder: Path) -> tuple[Path, Path]:
    """IoD2019 File 1 (IMD rank and decile only) and File 6 (population denominators) in their official headers,
    made from the shipped IoD2019 copy."""
    imd19 = pd.read_csv(reference_file(IMD19))
    file1 = imd19[["lsoa11_code", "lsoa11_name", "lad19_code", "lad19_name", "imd_rank", "imd_decile"]]
    file1 = file1.rename(columns=long_headers(list(file1.columns), lsoa_year=2011, lad_year=2019))
    file6 = imd19[list(FILE6_HEADERS)].rename(columns=FILE6_HEADERS)
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "File_1_IoD2019_Index_of_Multiple_Deprivation.csv", folder / "File_6_IoD2019_Population.csv"
    file1.to_csv(paths[0], index=False)
    file6.to_csv(paths[1], index=False)
    return paths


def test_iod2019_file6_gives_file1_its_population(sqlite_engine, tmp_path):
    file1, file6 = iod2019_file1_and_file6(tmp_path / "files")
    report = import_reference(sqlite_engine, file1)
    assert int(lsoa_frame(sqlite_engine)["population"].sum()) == 0
    # File 1 has no domains at all, so nothing is said about missing domain deciles.
    assert not any("Decile" in n or "_decile" in n for n in report.notices)
    report = import_reference(sqlite_engine, file6)
    assert [(f.name, f.kind, f.rows) for f in report.imported] == [
        (file6.name, "deprivation population denominators (IoD File 6) (LSOA 2011)", 1065)]
    lsoas = lsoa_frame(sqlite_engine)
    # The IoD2019 mid-2015 denominators for Kent and Medway total 1,795,251 (data/reference/SOURCES.md).
    assert int(lsoas["population"].sum()) == 1_795_251
    assert lsoas.loc["E01016016", "population"] == 1681  # the first row of the shipped copy


def test_iod2019_file1_and_file6_in_one_folder(engine, tmp_path):
    iod2019_file1_and_file6(tmp_path / "files")
    report = import_reference(engine, tmp_path / "files")
    assert [f.kind for f in report.imported] == ["deprivation by small area (IoD2019 / LSOA 2011)",
                                                 "deprivation population denominators (IoD File 6) (LSOA 2011)"]
    assert report.totals["population"] == 1_795_251
    assert settings(engine)["geography_edition"] == EDITION_2019


def test_file6_on_an_empty_store_needs_the_small_areas(sqlite_engine, tmp_path):
    _, file6 = iod2019_file1_and_file6(tmp_path)
    with pytest.raises(ReferenceImportError) as info:
        import_reference(sqlite_engine, file6)
    assert str(info.value).startswith(f"{file6.name} needs the small areas to be loaded first")


def test_iod2025_file1_has_no_domain_notice_but_a_file_missing_one_domain_names_it(sqlite_engine, ref, tmp_path):
    imd25 = pd.read_csv(ref / IMD25)
    file1 = imd25[["lsoa21_code", "lsoa21_name", "lad24_code", "lad24_name", "imd_score", "imd_rank", "imd_decile"]]
    file1.rename(columns=long_headers(list(file1.columns))).to_csv(tmp_path / "File_1.csv", index=False)
    report = import_reference(sqlite_engine, tmp_path / "File_1.csv")
    assert not any("decile" in n.lower() for n in report.notices), report.notices
    imd25.drop(columns=["crime_decile"]).to_csv(tmp_path / "no_crime.csv", index=False)
    report = import_reference(sqlite_engine, tmp_path / "no_crime.csv")
    assert "no_crime.csv has no 'Crime Decile' column; that decile is left empty." in report.notices


def test_population_advice_fits_the_iod2019_edition(sqlite_engine, tmp_path):
    file1, _ = iod2019_file1_and_file6(tmp_path / "files")
    folder = tmp_path / "folder"
    folder.mkdir()
    for path in (file1, reference_file(TS009_5YR), reference_file(CENSUS)):
        (folder / path.name).write_bytes(path.read_bytes())
    report = import_reference(sqlite_engine, folder)
    skipped = {s.name: s.reason for s in report.skipped}
    assert "IoD2019 / LSOA 2011" in skipped[CENSUS]  # the 2021 census file is not used with IoD2019 ...
    advice = next(n for n in report.notices if "had no population loaded" in n)
    assert "Census 2021 population" not in advice  # ... so it is not what the advice asks for
    assert advice.endswith("import the IoD2019 population denominators (File 6, 'Total population: mid 2015') as "
                           "well, then this file again.")


def test_mid_year_estimates_are_skipped_with_a_true_reason(sqlite_engine):
    name = "population_mid2020_lsoa11_5yr_age_kent_medway.csv"
    report = import_reference(sqlite_engine, reference_file(name))
    reason = report.skipped[0].reason
    assert "Census 2021 population is used" not in reason
    assert reason.startswith("mid-year population estimates, not needed")
    assert "IoD2019 population denominators, File 6, on 2011 small areas" in reason
