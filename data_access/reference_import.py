"""Load real reference data (deprivation, census population, lookups, boundaries) into the store.

`import_reference(engine, path)` takes one file or a folder of files. Each file is recognised by its
columns, not its name: the snake_case copies in the shared reference folder and the official releases'
own long headers (e.g. "LSOA code (2021)", "Income Decile (where 1 is most deprived 10% of LSOAs)") are
both understood. CSV may be UTF-8 (with or without BOM), UTF-16 with BOM or Windows-1252; Excel
workbooks (.xlsx) and GeoJSON feature collections are read too.

Every file is read and every row checked before anything is written, and all writes of one call happen in
one transaction: on any problem a `ReferenceImportError` is raised with one sentence naming the file, the
row (1 = the header row), the column and what was expected, and the store is left exactly as it was.

Kinds of file, in the order they are applied:

1. deprivation by LSOA (IoD2025 on 2021 LSOAs, or IoD2019 on 2011 LSOAs): creates or updates the small areas;
   the deprivation population denominators (IoD File 6) give their population where the ranks file has none;
2. LSOA to ICP lookup: the ICP area of each small area;
3. Census 2021 population by age, ethnic group and disability per LSOA;
4. Census 2021 TS009 sex by age per local authority: sex per LSOA, apportioned (estimated);
5. LSOA centroids, LSOA boundaries and ICP boundaries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from data_access import models as m
from data_access import summaries
from data_access.areas import ICP_AREAS, LOCAL_AUTHORITIES, SPLIT_AUTHORITIES
from data_access.db import StoreError, after_load, is_initialised
from data_access.importing.reading import (ImportFileError, check_sheet, detect_encoding, limits, max_columns,
                                          open_workbook, sheet_rows, text_stream, utf16_codec)

__all__ = [
    "ReferenceImportError",
    "ImportedFile",
    "SkippedFile",
    "ImportReport",
    "import_reference",
    "load_reference_folder",
    "EDITION_2025",
    "EDITION_2019",
]

EDITION_2025 = "IoD2025 / LSOA 2021"
EDITION_2019 = "IoD2019 / LSOA 2011"
_EDITION_BY_YEAR = {2021: EDITION_2025, 2011: EDITION_2019}
_YEAR_BY_EDITION = {v: k for k, v in _EDITION_BY_YEAR.items()}

DEMO_REMOVED = "demo data removed; run `engagement seed-demo` to regenerate it on the real areas"

# The highest LSOA 2011 code in England: a higher E01 code can only be a 2021 LSOA.
_LAST_LSOA11_ENGLAND = "E01033768"

_CODE_RE = re.compile(r"^[A-Z]\d{8}$")

# Engagement tables in an order that respects their foreign keys (children first).
_ENGAGEMENT_TABLES = m.ENGAGEMENT_TABLES
_GEOGRAPHY_TABLES = [m.LsoaBoundary, m.IcpBoundary, m.PopulationCount, m.Lsoa]
# Engagement tables that point at a small area.
_LSOA_REFERENCING = [
    (m.NetworkMembership, "network memberships"),
    (m.SurveyResponse, "survey responses"),
    (m.PanelMember, "panel members"),
    (m.Activity, "activities"),
]

# Deprivation domains: canonical prefix -> aliases (normalised: lower case, words separated by one space).
_DOMAINS: dict[str, list[str]] = {
    "imd": ["imd", "index of multiple deprivation", "index of multiple deprivation imd"],
    "income": ["income"],
    "employment": ["employment"],
    "education_skills_training": ["education skills training", "education skills and training"],
    "health_deprivation_disability": ["health deprivation disability", "health deprivation and disability"],
    "crime": ["crime"],
    "barriers_housing_services": ["barriers housing services", "barriers to housing and services"],
    "living_environment": ["living environment"],
    "children_and_young_people": ["children and young people", "children and young people sub domain"],
    "adult_skills": ["adult skills", "adult skills sub domain"],
    "geographical_barriers": ["geographical barriers", "geographical barriers sub domain"],
    "wider_barriers": ["wider barriers", "wider barriers sub domain"],
    "indoors": ["indoors", "indoors sub domain"],
    "outdoors": ["outdoors", "outdoors sub domain"],
}
_DOMAIN_BY_ALIAS = {alias: key for key, aliases in _DOMAINS.items() for alias in aliases}

# The official names of the seven domain deciles, for messages.
_DOMAIN_DECILE_NAMES = {
    "income_decile": "Income Decile",
    "employment_decile": "Employment Decile",
    "education_skills_training_decile": "Education, Skills and Training Decile",
    "health_deprivation_disability_decile": "Health Deprivation and Disability Decile",
    "crime_decile": "Crime Decile",
    "barriers_housing_services_decile": "Barriers to Housing and Services Decile",
    "living_environment_decile": "Living Environment Decile",
}
# The seven domains (not the IMD itself, nor the subdomains).
_SEVEN_DOMAINS = [k.removesuffix("_decile") for k in _DOMAIN_DECILE_NAMES]

# IMD file columns -> Lsoa columns for the seven domain deciles.
_DOMAIN_DECILES = {
    "income_decile": "income_decile",
    "employment_decile": "employment_decile",
    "education_skills_training_decile": "education_decile",
    "health_deprivation_disability_decile": "health_decile",
    "crime_decile": "crime_decile",
    "barriers_housing_services_decile": "barriers_decile",
    "living_environment_decile": "living_environment_decile",
}

# Census 2021 LSOA file: canonical column -> (dimension, group).
_AGE_COLUMNS = {
    "age_0_15": "0-15", "age_16_24": "16-24", "age_25_34": "25-34", "age_35_49": "35-49",
    "age_50_64": "50-64", "age_65_plus": "65+",
}
_ETHNIC_COLUMNS = {
    "ethnic_asian": "Asian", "ethnic_black": "Black", "ethnic_mixed": "Mixed", "ethnic_white": "White",
    "ethnic_other": "Other",
}
_DISABILITY_COLUMNS = {"disabled_equality_act": "Disabled", "not_disabled_equality_act": "Not disabled"}
_SIMPLE_ALIASES = {
    "disabled": "disabled_equality_act",
    "not_disabled": "not_disabled_equality_act",
    "age_65_and_over": "age_65_plus",
    "age_65": "age_65_plus",
    "long": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "lat": "latitude",
    "icp_name": "icp",
    "observation": "usual_residents",
    "count": "usual_residents",
}

_KIND_LABELS = {
    "imd": "deprivation by small area",
    "imd_population": "deprivation population denominators (IoD File 6)",
    "icp_lookup": "small area to ICP lookup",
    "census_lsoa": "Census 2021 population by age, ethnic group and disability",
    "sex_5yr": "Census 2021 TS009 sex by 5-year age band (local authority)",
    "sex_single": "Census 2021 TS009 sex by single year of age (local authority)",
    "centroids": "small area centroids",
    "lsoa_boundaries": "small area boundaries",
    "icp_boundaries": "ICP area boundaries",
}
# The order files are applied in.
_KIND_ORDER = ["imd", "imd_population", "icp_lookup", "census_lsoa", "sex_5yr", "sex_single", "centroids", "lsoa_boundaries",
               "icp_boundaries"]
# Kinds tied to one LSOA edition.
_EDITIONED = {"imd", "imd_population", "icp_lookup", "census_lsoa", "centroids", "lsoa_boundaries"}
# Kinds that need the small areas to be in the store (or loaded in the same call).
_NEEDS_LSOAS = {"imd_population", "icp_lookup", "census_lsoa", "sex_5yr", "sex_single", "centroids", "lsoa_boundaries"}


class ReferenceImportError(StoreError):
    """A reference file that cannot be imported, stated in one sentence."""


# --- The report ---------------------------------------------------------------------------------------


@dataclass
class ImportedFile:
    """A file that was imported: its name, what kind of file it is, and the rows used."""

    name: str
    kind: str
    rows: int


@dataclass
class SkippedFile:
    """A file that was not imported, and why."""

    name: str
    reason: str


@dataclass
class ImportReport:
    """What one call of `import_reference` did."""

    imported: list[ImportedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    edition: str | None = None
    totals: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """Plain English lines: files imported, files skipped, notices, and what the store now holds."""
        lines: list[str] = []
        if self.imported:
            where = f" ({self.edition})" if self.edition else ""
            lines.append(f"Imported {_plural(len(self.imported), 'file')}{where}:")
            for f in self.imported:
                lines.append(f"  - {f.name}: {f.kind}, {f.rows:,} rows")
        else:
            lines.append("Imported no files.")
        if self.skipped:
            lines.append(f"Skipped {_plural(len(self.skipped), 'file')}:")
            for s in self.skipped:
                lines.append(f"  - {s.name}: {s.reason}")
        if self.notices:
            lines.append("Notices:")
            for n in self.notices:
                lines.append(f"  - {n}")
        t = self.totals
        if t:
            lines.append(
                f"The store now holds {t.get('lsoas', 0):,} small areas in {t.get('local_authorities', 0)} local "
                f"authorities and {t.get('icp_areas', 0)} ICP areas, {t.get('population', 0):,} residents, "
                f"{t.get('lsoa_boundaries', 0):,} small area boundaries and {t.get('icp_boundaries', 0)} ICP "
                f"area boundaries."
            )
        return "\n".join(lines)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# --- Reading files --------------------------------------------------------------------------------------


class _Unrecognised(ReferenceImportError):
    """A file that is not a recognised reference file (skipped inside a folder, an error on its own)."""


@dataclass
class _Source:
    """One file, read: a table (headers and rows) or GeoJSON features, with its recognised columns."""

    path: Path
    fmt: str  # "csv", "xlsx" or "geojson"
    headers: list[str] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (file row number, values)
    features: list[dict] = field(default_factory=list)
    cols: dict[str, int] = field(default_factory=dict)  # canonical name -> column index (tables)
    props: dict[str, str] = field(default_factory=dict)  # canonical name -> property name (GeoJSON)
    lsoa_year: int | None = None
    kind: str | None = None
    not_needed: str | None = None  # why a recognised file is not needed
    edition: str | None = None

    @property
    def name(self) -> str:
        return self.path.name

    def header(self, key: str) -> str:
        """The file's own name for a canonical column."""
        if self.fmt == "geojson":
            return self.props.get(key, key)
        return self.headers[self.cols[key]] if key in self.cols else key


def _found(value: Any) -> str:
    """A value as quoted in a message: short, on one line."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    if not text:
        return "an empty cell"
    if len(text) > 40:
        text = text[:37] + "..."
    return "'" + text.replace("'", "\u2019") + "'"


def _read(path: Path) -> _Source:
    """Read a file (CSV, Excel workbook or GeoJSON, told apart by content) and recognise its kind."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Unrecognised(f"{path.name}, row 1: expected a readable file, found {exc.strerror or exc}.")
    if not data:
        raise _Unrecognised(f"{path.name}, row 1: expected a header row, found an empty file (0 bytes).")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Unrecognised(
            f"{path.name}, row 1: expected a CSV, XLSX or GeoJSON file, found an old Excel (.xls) workbook; "
            f"save it as .xlsx or CSV first."
        )
    if b"\x00" in data[:4096] and utf16_codec(data) is None:
        raise _Unrecognised(f"{path.name}, row 1: expected a CSV, XLSX or GeoJSON file, found binary data.")
    try:  # read as the team's own files are (UTF-8, UTF-16, Windows-1252; never mixed)
        codec, _ = detect_encoding(data, path.name)
    except ImportFileError as exc:
        raise _Unrecognised(str(exc)) from None
    if text_stream(data, codec).read(4096).lstrip()[:1] in ("{", "["):
        return _read_geojson(path, data.decode(codec).lstrip("\ufeff"))
    return _read_csv(path, data, codec)


def _read_csv(path: Path, data: bytes, codec: str) -> _Source:
    """Rows are counted against IMPORT_MAX_ROWS before any is kept, and the text is decoded as it is read."""
    first = text_stream(data, codec).readline()
    delimiter = ","
    if "," not in first:
        if "\t" in first:
            delimiter = "\t"
        elif ";" in first:
            delimiter = ";"
    max_rows = limits()[1]
    reader = csv.reader(text_stream(data, codec), delimiter=delimiter)
    src = _Source(path, "csv")
    try:
        counted = 0
        for record in reader:
            counted += any(v.strip() for v in record)
            if counted > max_rows + 1:
                raise _Unrecognised(f"{path.name} has more than {max_rows:,} rows, over the limit of {max_rows:,}; "
                                    "split it into smaller files.")
        reader = csv.reader(text_stream(data, codec), delimiter=delimiter)
        for record in reader:
            if not src.headers:
                if not any(v.strip() for v in record):
                    continue
                src.headers = [h.strip() for h in record]
                continue
            if not any(v.strip() for v in record):
                continue
            src.rows.append((reader.line_num, record))
    except csv.Error as exc:
        raise _Unrecognised(f"{path.name}, row {reader.line_num}: expected CSV text, found a CSV error ({exc}).")
    if not src.headers:
        raise _Unrecognised(f"{path.name}, row 1: expected a header row, found only blank lines.")
    _recognise_table(src)
    return src


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(path: Path, data: bytes) -> _Source:
    """Every sheet is checked for size (rows, columns, text) before it is loaded, then read row by row."""
    from openpyxl import load_workbook

    try:
        archive, parts = open_workbook(data, path.name)
        for part in parts:
            check_sheet(archive, part, path.name, limits()[1], max_columns())
    except ImportFileError as exc:
        raise _Unrecognised(str(exc)) from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _Unrecognised(
            f"{path.name}, row 1: expected a readable Excel workbook, found a damaged or truncated file "
            f"({exc.__class__.__name__})."
        )
    first_error: _Unrecognised | None = None
    try:
        for sheet in book.worksheets:
            src = _Source(path, "xlsx")
            try:
                for number, values in sheet_rows(sheet, path.name, max_columns()):
                    cells = [_cell_text(v) for v in values]
                    if not src.headers:
                        if any(cells):
                            while cells and not cells[-1]:
                                cells.pop()
                            src.headers = cells
                        continue
                    if any(cells):
                        width = len(src.headers)
                        if len(cells) > width and not any(cells[width:]):
                            cells = cells[:width]
                        elif len(cells) < width:  # a workbook leaves trailing empty cells out
                            cells = cells + [""] * (width - len(cells))
                        src.rows.append((number, cells))
            except ImportFileError as exc:
                raise _Unrecognised(str(exc)) from None
            if not src.headers:
                continue
            try:
                _recognise_table(src)
                return src
            except _Unrecognised as exc:
                first_error = first_error or exc
    finally:
        book.close()
    if first_error:
        raise first_error
    raise _Unrecognised(f"{path.name}, row 1: expected a header row, found an empty workbook.")


def _read_geojson(path: Path, text: str) -> _Source:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unrecognised(f"{path.name}, row {exc.lineno}: expected valid GeoJSON, found a JSON error ({exc.msg}).")
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
        doc.get("features"), list
    ):
        raise _Unrecognised(f"{path.name}, row 1: expected a GeoJSON FeatureCollection, found other JSON.")
    src = _Source(path, "geojson", features=doc["features"])
    names: list[str] = []
    for feature in src.features[:50]:
        for key in (feature.get("properties") or {}) if isinstance(feature, dict) else {}:
            if key not in names:
                names.append(key)
    src.headers = names
    for name in names:
        key, year = _canonical(name)
        if key not in src.props:
            src.props[key] = name
            if key in ("lsoa_code", "lsoa_name") and year:
                src.lsoa_year = src.lsoa_year or year
    keys = set(src.props)
    if "lsoa_code" in keys:
        src.kind = "lsoa_boundaries"
    elif "icp" in keys and "lad_code" not in keys:
        src.kind = "icp_boundaries"
    elif "lad_code" in keys:
        src.not_needed = "local authority boundaries, not needed (the map uses small area and ICP boundaries)"
    elif any(k.startswith("icb") for k in keys):
        src.not_needed = "integrated care board boundary, not needed (the map uses small area and ICP boundaries)"
    else:
        raise _Unrecognised(
            f"{path.name}, row 1: expected GeoJSON features with an LSOA code or 'icp' property, found "
            f"properties {_list(names) or 'none'}."
        )
    if src.kind == "lsoa_boundaries":
        _set_edition(src, [str((f.get("properties") or {}).get(src.props["lsoa_code"], "")) for f in src.features])
    return src


# --- Recognising columns ------------------------------------------------------------------------------------


def _normalise(header: str) -> str:
    text = header.strip().lstrip("\ufeff").lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _year(text: str | None) -> int | None:
    if not text:
        return None
    value = int(text)
    return value + 2000 if value < 100 else value


_LSOA_RE = re.compile(r"lsoa ?(\d{2}|\d{4})? ?(code|cd|name|nm)(?: (\d{2}|\d{4}))?")
_LAD_RE = re.compile(
    r"(?:local authority district|lad|ltla|lower tier local authority) ?(\d{2}|\d{4})? ?(code|cd|name|nm)"
    r"(?: (\d{2}|\d{4}))?"
)
_MEASURE_RE = re.compile(r"(.+) (score|rank|decile)")
_POP_RE = re.compile(r"(?:total population|pop total|population total)(?: .*)?")


def _canonical(header: str) -> tuple[str, int | None]:
    """A column's canonical snake_case name and, for LSOA and LAD columns, the geography year."""
    s = _normalise(header)
    match = _LSOA_RE.fullmatch(s)
    if match:
        what = "code" if match.group(2) in ("code", "cd") else "name"
        return f"lsoa_{what}", _year(match.group(1) or match.group(3))
    match = _LAD_RE.fullmatch(s)
    if match:
        what = "code" if match.group(2) in ("code", "cd") else "name"
        return f"lad_{what}", _year(match.group(1) or match.group(3))
    if _POP_RE.fullmatch(s):
        return "pop_total", None
    measure_text = re.sub(r" where 1 is (?:the )?most deprived.*$", "", s)
    measure_text = re.sub(r" rate$", "", measure_text)
    match = _MEASURE_RE.fullmatch(measure_text)
    if match and match.group(1) in _DOMAIN_BY_ALIAS:
        return f"{_DOMAIN_BY_ALIAS[match.group(1)]}_{match.group(2)}", None
    snake = s.replace(" ", "_")
    return _SIMPLE_ALIASES.get(snake, snake), None


def _list(names: Iterable[str], limit: int = 6) -> str:
    names = [n for n in names if n]
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _recognise_table(src: _Source) -> None:
    for index, header in enumerate(src.headers):
        key, year = _canonical(header)
        if key not in src.cols:
            src.cols[key] = index
            if key in ("lsoa_code", "lsoa_name") and year:
                src.lsoa_year = src.lsoa_year or year
    keys = set(src.cols)
    has = keys.issuperset
    if has({"lsoa_code", "lad_code", "imd_rank", "imd_decile"}):
        src.kind = "imd"
    elif has({"lsoa_code", "pop_total"}) and not any(k.endswith(("_score", "_rank", "_decile")) for k in keys):
        src.kind = "imd_population"  # IoD File 6: the population denominators, without ranks
    elif "lsoa_code" in keys and has(_AGE_COLUMNS):
        src.kind = "census_lsoa"
    elif has({"lsoa_code", "longitude", "latitude"}):
        src.kind = "centroids"
    elif "lsoa_code" in keys and any(k.startswith("population_mid") for k in keys):
        src.not_needed = ("mid-year population estimates, not needed (small area populations come from Census 2021 "
                          "on 2021 small areas, or from the IoD2019 population denominators, File 6, on 2011 small "
                          "areas)")
    elif has({"lsoa_code", "icp"}):
        src.kind = "icp_lookup"
    elif has({"lad_code", "age_band", "female", "male"}):
        src.kind = "sex_5yr"
    elif has({"lad_code", "sex", "age", "usual_residents"}):
        src.kind = "sex_single"
    elif any(k.endswith(("_average_rank", "_average_score")) for k in keys):
        src.not_needed = "deprivation summary by area, not needed (the dashboard summarises the small areas itself)"
    elif "lad_code" in keys and "icp" in keys:
        src.not_needed = "local authority to ICP lookup, not needed (ICP areas come from the small area lookup)"
    elif "age_total" in keys or "ts009_total" in keys:
        src.not_needed = "census summary by local authority or ICP area, not needed (totals come from the small areas)"
    else:
        raise _Unrecognised(
            f"{src.name}, row 1: expected the columns of a reference file (deprivation, lookup, census, centroids "
            f"or boundaries, e.g. 'lsoa21_code', 'imd_rank', 'imd_decile'), found {_list(src.headers) or 'none'}."
        )
    if src.kind in _EDITIONED:
        index = src.cols["lsoa_code"]
        _set_edition(src, [values[index] if index < len(values) else "" for _, values in src.rows])


def _set_edition(src: _Source, codes: list[str]) -> None:
    """The LSOA edition from the header (e.g. 'lsoa21_code', 'LSOA code (2011)') or, failing that, the codes."""
    year = src.lsoa_year
    if year not in _EDITION_BY_YEAR:
        year = None
        if any(c.strip().startswith("E01") and c.strip() > _LAST_LSOA11_ENGLAND for c in codes):
            year = 2021  # a code that did not exist in 2011
        elif src.kind == "imd" and codes:
            year = 2011  # every Kent and Medway IoD2025 file has some of the new 2021 codes
    src.edition = _EDITION_BY_YEAR.get(year) if year else None


# --- Checking values ------------------------------------------------------------------------------------


class _Checker:
    """Reads and checks the cells of one file, raising one-sentence errors naming the row and column."""

    def __init__(self, src: _Source):
        self.src = src
        self.width = len(src.headers)

    def fail(self, row: int, key: str, expected: str, value: Any) -> None:
        raise ReferenceImportError(
            f"{self.src.name}, row {row}, column '{self.src.header(key)}': expected {expected}, "
            f"found {_found(value)}."
        )

    def rows(self) -> Iterable[tuple[int, list[str]]]:
        if not self.src.rows:
            raise ReferenceImportError(f"{self.src.name}, row 2: expected data rows after the header, found none.")
        for number, values in self.src.rows:
            if len(values) != self.width:
                if len(values) < self.width:
                    missing = self.src.headers[len(values)]
                    raise ReferenceImportError(
                        f"{self.src.name}, row {number}, column '{missing}': expected {self.width} values in the "
                        f"row, found {len(values)}; the file looks truncated."
                    )
                raise ReferenceImportError(
                    f"{self.src.name}, row {number}, column '{self.src.headers[-1]}': expected {self.width} values "
                    f"in the row, found {len(values)}."
                )
            yield number, values

    def text(self, row: int, values: list[str], key: str) -> str:
        return values[self.src.cols[key]].strip()

    def code(self, row: int, values: list[str], key: str, what: str, example: str) -> str:
        value = self.text(row, values, key)
        if not _CODE_RE.match(value):
            self.fail(row, key, f"{what} like '{example}'", value)
        return value

    def name(self, row: int, values: list[str], key: str, fallback: str) -> str:
        if key not in self.src.cols:
            return fallback
        value = self.text(row, values, key)
        if not value:
            self.fail(row, key, "a name", value)
        if len(value) > 80:
            self.fail(row, key, "a name of at most 80 characters", value)
        return value

    def number(self, row: int, values: list[str], key: str) -> float:
        raw = self.text(row, values, key)
        try:
            value = float(raw.replace(",", "")) if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d*)?", raw) else float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            self.fail(row, key, "a number", raw)
        return value

    def whole(self, row: int, values: list[str], key: str, low: int, high: int | None, expected: str) -> int:
        raw = self.text(row, values, key)
        cleaned = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", raw) else raw
        try:
            number = float(cleaned)
            ok = math.isfinite(number) and number == int(number)
        except ValueError:
            ok = False
        if not ok or number < low or (high is not None and number > high):
            self.fail(row, key, expected, raw)
        return int(number)

    def rank(self, row: int, values: list[str], key: str) -> int:
        return self.whole(row, values, key, 1, None, "a whole number of 1 or more")

    def decile(self, row: int, values: list[str], key: str) -> int:
        return self.whole(row, values, key, 1, 10, "a whole number from 1 to 10")

    def count(self, row: int, values: list[str], key: str) -> int:
        return self.whole(row, values, key, 0, None, "a whole number of 0 or more")


_ICP_BY_NAME = {}
for _name, _short in ICP_AREAS:
    _ICP_BY_NAME[_normalise(_name)] = _name
    _ICP_BY_NAME[_normalise(_short)] = _name
_ICP_EXPECTED = "one of the four ICP areas (" + ", ".join(n for n, _ in ICP_AREAS) + ")"


def _icp_name(value: Any) -> str | None:
    return _ICP_BY_NAME.get(_normalise(str(value or "")))


def _check_unique(chk: _Checker, seen: dict[str, int], code: str, row: int, key: str) -> None:
    if code in seen:
        chk.fail(row, key, f"each LSOA once (it is also on row {seen[code]})", code)
    seen[code] = row


# --- Parsing each kind ------------------------------------------------------------------------------------


def _parse_imd(src: _Source) -> dict:
    chk = _Checker(src)
    measures = [k for k in src.cols if re.fullmatch(r"[a-z_]+_(score|rank|decile)", k)
                and k.rsplit("_", 1)[0] in _DOMAINS]
    has_pop = "pop_total" in src.cols
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for number, values in chk.rows():
        code = chk.code(number, values, "lsoa_code", "an LSOA code", "E01016016")
        _check_unique(chk, seen, code, number, "lsoa_code")
        lad = chk.code(number, values, "lad_code", "a local authority district code", "E07000105")
        name = chk.name(number, values, "lsoa_name", code)
        checked: dict[str, Any] = {}
        for key in measures:
            if key.endswith("_score"):
                checked[key] = chk.number(number, values, key)
            elif key.endswith("_rank"):
                checked[key] = chk.rank(number, values, key)
            else:
                checked[key] = chk.decile(number, values, key)
        population = chk.count(number, values, "pop_total") if has_pop else None
        if lad not in LOCAL_AUTHORITIES:
            continue
        row = dict(
            code=code, name=name, lad_code=lad, imd_score=checked.get("imd_score"),
            imd_rank=checked["imd_rank"], imd_decile=checked["imd_decile"],
        )
        for file_key, column in _DOMAIN_DECILES.items():
            row[column] = checked.get(file_key)
        if has_pop:
            row["population"] = population
        rows.append(row)
    if not rows:
        raise ReferenceImportError(
            f"{src.name}, row 2, column '{src.header('lad_code')}': expected rows for the 13 Kent and Medway "
            f"local authorities, found none."
        )
    # A file with the domains (File 2, File 7) should have every domain decile; File 1 (the IMD only) has none.
    has_domains = any(k.rsplit("_", 1)[0] in _SEVEN_DOMAINS for k in measures)
    missing = [_DOMAIN_DECILE_NAMES[k] for k in _DOMAIN_DECILES if k not in src.cols] if has_domains else []
    return dict(rows=rows, has_pop=has_pop, missing_domains=missing, file_rows=len(src.rows))


def _parse_imd_population(src: _Source) -> dict:
    chk = _Checker(src)
    populations: dict[str, int] = {}
    seen: dict[str, int] = {}
    for number, values in chk.rows():
        code = chk.code(number, values, "lsoa_code", "an LSOA code", "E01016016")
        _check_unique(chk, seen, code, number, "lsoa_code")
        populations[code] = chk.count(number, values, "pop_total")
    return dict(populations=populations)


def _parse_icp_lookup(src: _Source) -> dict:
    chk = _Checker(src)
    icps: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, values in chk.rows():
        code = chk.code(number, values, "lsoa_code", "an LSOA code", "E01016016")
        _check_unique(chk, seen, code, number, "lsoa_code")
        icp = _icp_name(chk.text(number, values, "icp"))
        if not icp:
            chk.fail(number, "icp", _ICP_EXPECTED, chk.text(number, values, "icp"))
        icps[code] = icp
    return dict(icps=icps)


def _parse_census(src: _Source) -> dict:
    chk = _Checker(src)
    groups: list[tuple[str, str, str]] = [(k, "age_band", g) for k, g in _AGE_COLUMNS.items()]
    if set(_ETHNIC_COLUMNS) <= set(src.cols):
        groups += [(k, "ethnic_group", g) for k, g in _ETHNIC_COLUMNS.items()]
    if set(_DISABILITY_COLUMNS) <= set(src.cols):
        groups += [(k, "disability", g) for k, g in _DISABILITY_COLUMNS.items()]
    totals = [k for k in ("age_total", "ethnic_total", "disability_total") if k in src.cols]
    areas: dict[str, dict] = {}
    seen: dict[str, int] = {}
    for number, values in chk.rows():
        code = chk.code(number, values, "lsoa_code", "an LSOA code", "E01016016")
        _check_unique(chk, seen, code, number, "lsoa_code")
        counts = {(dim, group): chk.count(number, values, key) for key, dim, group in groups}
        checked_totals = {k: chk.count(number, values, k) for k in totals}
        population = checked_totals.get("age_total")
        if population is None:
            population = sum(c for (dim, _), c in counts.items() if dim == "age_band")
        areas[code] = dict(population=population, counts=counts)
    dims = sorted({dim for _, dim, _ in groups})
    return dict(areas=areas, dimensions=dims)


def _parse_sex(src: _Source) -> dict:
    chk = _Checker(src)
    by_lad: dict[str, list[int]] = {}
    for number, values in chk.rows():
        lad = chk.code(number, values, "lad_code", "a local authority district code", "E07000105")
        if src.kind == "sex_5yr":
            female = chk.count(number, values, "female")
            male = chk.count(number, values, "male")
        else:
            sex = chk.text(number, values, "sex").lower()
            if sex not in ("female", "male", "f", "m", "females", "males"):
                chk.fail(number, "sex", "'female' or 'male'", sex)
            n = chk.count(number, values, "usual_residents")
            female, male = (n, 0) if sex.startswith("f") else (0, n)
        if lad in LOCAL_AUTHORITIES:
            pair = by_lad.setdefault(lad, [0, 0])
            pair[0] += female
            pair[1] += male
    if not by_lad:
        raise ReferenceImportError(
            f"{src.name}, row 2, column '{src.header('lad_code')}': expected rows for the 13 Kent and Medway "
            f"local authorities, found none."
        )
    return dict(by_lad={k: tuple(v) for k, v in by_lad.items()})


def _parse_centroids(src: _Source) -> dict:
    chk = _Checker(src)
    points: dict[str, tuple[float, float]] = {}
    seen: dict[str, int] = {}
    for number, values in chk.rows():
        code = chk.code(number, values, "lsoa_code", "an LSOA code", "E01016016")
        _check_unique(chk, seen, code, number, "lsoa_code")
        lon = chk.number(number, values, "longitude")
        lat = chk.number(number, values, "latitude")
        if not -180 <= lon <= 180:
            chk.fail(number, "longitude", "a longitude from -180 to 180", values[src.cols["longitude"]])
        if not -90 <= lat <= 90:
            chk.fail(number, "latitude", "a latitude from -90 to 90", values[src.cols["latitude"]])
        points[code] = (round(lon, 6), round(lat, 6))
    return dict(points=points)


def _round_coords(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return [round(float(v), 5) for v in value]
        return [_round_coords(v) for v in value]
    raise ValueError("coordinates must be nested lists of numbers")


def _rings(geometry: dict) -> list[list[list[list[float]]]]:
    """The polygons of a Polygon or MultiPolygon, each a list of rings."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return geometry["coordinates"]


def _centroid(geometry: dict) -> tuple[float, float]:
    """The area-weighted centroid of a (multi)polygon; the vertex mean if it has no area."""
    total = cx = cy = 0.0
    xs: list[float] = []
    ys: list[float] = []
    for polygon in _rings(geometry):
        for index, ring in enumerate(polygon):
            a = sx = sy = 0.0
            for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
                cross = x0 * y1 - x1 * y0
                a += cross
                sx += (x0 + x1) * cross
                sy += (y0 + y1) * cross
                xs.append(x0)
                ys.append(y0)
            if a == 0:
                continue
            sign = 1.0 if index == 0 else -1.0  # outer ring adds, holes take away
            area = abs(a) / 2 * sign
            total += area
            cx += sx / (3 * a) * area
            cy += sy / (3 * a) * area
    if total > 0:
        return round(cx / total, 5), round(cy / total, 5)
    return round(sum(xs) / len(xs), 5), round(sum(ys) / len(ys), 5)


def _check_geometry(src: _Source, number: int, feature: Any) -> dict:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        found = geometry.get("type") if isinstance(geometry, dict) else geometry
        raise ReferenceImportError(
            f"{src.name}, feature {number}, property 'geometry': expected a Polygon or MultiPolygon, "
            f"found {_found(found)}."
        )
    try:
        coords = _round_coords(geometry.get("coordinates"))
        depth = 3 if geometry["type"] == "Polygon" else 4
        probe = coords
        for _ in range(depth - 1):
            probe = probe[0]
        if len(probe) != 2:
            raise ValueError("position")
        clean = {"type": geometry["type"], "coordinates": coords}
        _centroid(clean)
    except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError):
        raise ReferenceImportError(
            f"{src.name}, feature {number}, property 'geometry': expected polygon coordinates as "
            f"[longitude, latitude] pairs, found something else."
        ) from None
    return clean


def _feature_prop(src: _Source, feature: Any, key: str) -> Any:
    props = feature.get("properties") if isinstance(feature, dict) else None
    return (props or {}).get(src.props[key])


def _parse_lsoa_boundaries(src: _Source) -> dict:
    shapes: dict[str, tuple[str, float, float]] = {}
    seen: dict[str, int] = {}
    if not src.features:
        raise ReferenceImportError(f"{src.name}, feature 1: expected GeoJSON features, found none.")
    for number, feature in enumerate(src.features, start=1):
        code = str(_feature_prop(src, feature, "lsoa_code") or "").strip()
        if not _CODE_RE.match(code):
            raise ReferenceImportError(
                f"{src.name}, feature {number}, property '{src.props['lsoa_code']}': expected an LSOA code like "
                f"'E01016016', found {_found(code)}."
            )
        if code in seen:
            raise ReferenceImportError(
                f"{src.name}, feature {number}, property '{src.props['lsoa_code']}': expected each LSOA once "
                f"(it is also feature {seen[code]}), found {_found(code)}."
            )
        seen[code] = number
        geometry = _check_geometry(src, number, feature)
        lon, lat = _centroid(geometry)
        shapes[code] = (json.dumps(geometry, separators=(",", ":")), lon, lat)
    return dict(shapes=shapes)


def _parse_icp_boundaries(src: _Source) -> dict:
    shapes: dict[str, str] = {}
    if not src.features:
        raise ReferenceImportError(f"{src.name}, feature 1: expected GeoJSON features, found none.")
    for number, feature in enumerate(src.features, start=1):
        raw = _feature_prop(src, feature, "icp")
        icp = _icp_name(raw)
        if not icp:
            raise ReferenceImportError(
                f"{src.name}, feature {number}, property '{src.props['icp']}': expected {_ICP_EXPECTED}, "
                f"found {_found(raw)}."
            )
        geometry = _check_geometry(src, number, feature)
        shapes[icp] = json.dumps(geometry, separators=(",", ":"))
    return dict(shapes=shapes)


_PARSERS = {
    "imd": _parse_imd,
    "imd_population": _parse_imd_population,
    "icp_lookup": _parse_icp_lookup,
    "census_lsoa": _parse_census,
    "sex_5yr": _parse_sex,
    "sex_single": _parse_sex,
    "centroids": _parse_centroids,
    "lsoa_boundaries": _parse_lsoa_boundaries,
    "icp_boundaries": _parse_icp_boundaries,
}


# --- Choosing the files ---------------------------------------------------------------------------------


def _store_state(conn: Connection) -> dict:
    settings = dict(conn.execute(select(m.Setting.key, m.Setting.value)).all())
    lsoas = conn.execute(select(func.count()).select_from(m.Lsoa)).scalar_one()
    return dict(
        synthetic=settings.get("geography_synthetic") == "1",
        edition=settings.get("geography_edition") if settings.get("geography_edition") in _YEAR_BY_EDITION else None,
        icp_assignment=settings.get("icp_assignment", ""),
        lsoas=int(lsoas),
    )


def _select(sources: list[_Source], skipped: list[SkippedFile], state: dict, folder: bool) -> list[_Source]:
    """The files to import: one edition of the geography, at most one file of each kind."""
    chosen = [s for s in sources if s.kind]
    if folder:
        editions = {s.edition for s in chosen if s.kind in _EDITIONED and s.edition}
        if len(editions) > 1:
            store_edition = None if state["synthetic"] else state["edition"]
            imd_editions = {s.edition for s in chosen if s.kind == "imd" and s.edition}
            if store_edition in editions:
                keep = store_edition
            elif imd_editions:
                keep = max(imd_editions, key=lambda e: _YEAR_BY_EDITION[e])
            else:
                keep = max(editions, key=lambda e: _YEAR_BY_EDITION[e])
            for s in chosen:
                if s.kind in _EDITIONED and s.edition and s.edition != keep:
                    skipped.append(SkippedFile(s.name, f"{s.edition} edition; the {keep} files were imported instead"))
            chosen = [s for s in chosen if not (s.kind in _EDITIONED and s.edition and s.edition != keep)]
        by_kind: dict[str, _Source] = {}
        for s in chosen:
            group = "sex" if s.kind in ("sex_5yr", "sex_single") else s.kind
            if group in by_kind:
                skipped.append(SkippedFile(
                    s.name, f"another {_KIND_LABELS[s.kind]} file; {by_kind[group].name} was used instead"))
            else:
                by_kind[group] = s
        chosen = list(by_kind.values())
    chosen.sort(key=lambda s: _KIND_ORDER.index(s.kind))
    return chosen


def _check_editions(chosen: list[_Source], state: dict) -> str | None:
    """The edition this call loads (or None), refusing files that do not fit the store or each other."""
    editions = [(s, s.edition) for s in chosen if s.kind in _EDITIONED and s.edition]
    call_edition = None
    for s, edition in editions:
        if call_edition is None:
            call_edition, first = edition, s
        elif edition != call_edition:
            raise ReferenceImportError(
                f"{s.name} uses {edition} small areas but {first.name} uses {call_edition}; import files of one "
                f"edition at a time."
            )
    has_imd = any(s.kind == "imd" for s in chosen)
    if state["synthetic"] and state["lsoas"]:
        if not has_imd:
            needing = next((s for s in chosen if s.kind in _NEEDS_LSOAS), None)
            if needing:
                raise ReferenceImportError(
                    f"{needing.name} cannot be added to the synthetic demo geography; import a deprivation file "
                    f"(IoD2025 or IoD2019 by LSOA) first or with it to load the real small areas."
                )
        return call_edition
    if state["edition"] and call_edition and call_edition != state["edition"]:
        s = next(s for s, e in editions if e == call_edition)
        raise ReferenceImportError(
            f"{s.name} uses {call_edition} small areas but the store holds {state['edition']}; import files of the "
            f"{state['edition']} edition instead."
        )
    if not has_imd and not state["lsoas"]:
        needing = next((s for s in chosen if s.kind in _NEEDS_LSOAS), None)
        if needing:
            raise ReferenceImportError(
                f"{needing.name} needs the small areas to be loaded first; import a deprivation file (IoD2025 or "
                f"IoD2019 by LSOA) before it or with it."
            )
    return call_edition


# --- Writing ------------------------------------------------------------------------------------------


def _chunks(rows: list[dict], size: int = 2000) -> Iterable[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _dialect_insert(conn: Connection, table):
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise ReferenceImportError(f"The {name} database is not supported; use SQLite or PostgreSQL.")
    return dialect_insert(table)


def _upsert(conn: Connection, table, rows: list[dict], keys: list[str], update_cols: list[str]) -> None:
    """Insert rows in bulk; where a row with the same keys exists, update the columns given.

    Rows already stored with the same values are left alone, so a re-import writes (almost) nothing.
    """
    if not rows:
        return
    stored = {tuple(r[:len(keys)]): tuple(r[len(keys):])
              for r in conn.execute(select(*[table.c[c] for c in keys + update_cols])).all()}
    rows = [r for r in rows
            if stored.get(tuple(r[k] for k in keys), None) != tuple(r[c] for c in update_cols)]
    if not rows:
        return
    stmt = _dialect_insert(conn, table)
    if update_cols:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update_cols})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    for chunk in _chunks(rows):
        conn.execute(stmt, chunk)  # executemany


def _update_lsoas(conn: Connection, rows: list[dict], cols: list[str], keep_existing: bool = False) -> None:
    """Update columns of small areas in bulk (executemany); rows hold 'code' and the columns."""
    if not rows:
        return
    table = m.Lsoa.__table__
    values = {}
    for c in cols:
        param = bindparam(f"v_{c}", type_=table.c[c].type)
        values[c] = func.coalesce(table.c[c], param) if keep_existing else param
    stmt = update(table).where(table.c.code == bindparam("k_code")).values(values)
    params = [{"k_code": r["code"], **{f"v_{c}": r[c] for c in cols}} for r in rows]
    for chunk in _chunks(params):
        conn.execute(stmt, chunk)


def _ensure_areas(conn: Connection) -> dict[str, int]:
    """Create the 4 ICP areas and 13 local authorities where missing; the ICP ids by name."""
    icp_table = m.IcpArea.__table__
    existing = dict(conn.execute(select(icp_table.c.name, icp_table.c.id)).all())
    used = set(existing.values())
    rows = []
    for index, (name, short) in enumerate(ICP_AREAS, start=1):
        if name not in existing:
            new_id = index if index not in used else max(used | {len(ICP_AREAS)}) + 1
            used.add(new_id)
            rows.append(dict(id=new_id, name=name, short_name=short))
    if rows:
        conn.execute(insert(icp_table), rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('icparea', 'id'), (SELECT MAX(id) FROM icparea))")
    la_table = m.LocalAuthority.__table__
    existing_la = set(conn.execute(select(la_table.c.code)).scalars())
    la_rows = [dict(code=c, name=n) for c, (n, _) in LOCAL_AUTHORITIES.items() if c not in existing_la]
    if la_rows:
        conn.execute(insert(la_table), la_rows)
    return dict(conn.execute(select(icp_table.c.name, icp_table.c.id)).all())


def _set_settings(conn: Connection, values: dict[str, str]) -> None:
    _upsert(conn, m.Setting.__table__, [dict(key=k, value=v) for k, v in values.items()], ["key"], ["value"])


def _count_where_in(conn: Connection, table, codes: list[str]) -> int:
    total = 0
    for start in range(0, len(codes), 500):
        part = codes[start:start + 500]
        total += conn.execute(
            select(func.count()).select_from(table).where(table.lsoa_code.in_(part))).scalar_one()
    return int(total)


def _remove_synthetic(conn: Connection) -> tuple[int, int]:
    """Delete all engagement rows and the synthetic geography; the numbers of each removed."""
    engagement = 0
    for model in _ENGAGEMENT_TABLES:
        engagement += conn.execute(delete(model.__table__)).rowcount or 0
    lsoas = conn.execute(select(func.count()).select_from(m.Lsoa)).scalar_one()
    for model in _GEOGRAPHY_TABLES:
        conn.execute(delete(model.__table__))
    return engagement, int(lsoas)


def _apportion(populations: list[tuple[str, int]], share: float) -> dict[str, int]:
    """Female residents per LSOA: population x share, rounded so the total is the rounded total."""
    exact = [(code, pop * share) for code, pop in populations]
    floors = {code: int(math.floor(x)) for code, x in exact}
    target = int(round(sum(x for _, x in exact)))
    remaining = target - sum(floors.values())
    by_remainder = sorted(exact, key=lambda item: (-(item[1] - math.floor(item[1])), item[0]))
    for code, _ in by_remainder[:max(remaining, 0)]:
        floors[code] += 1
    return floors


def _write(conn: Connection, plan: list[tuple[_Source, dict]], state: dict, report: ImportReport,
           edition: str | None) -> None:
    parsed = {src.kind: data for src, data in plan}
    names = {src.kind: src.name for src, _ in plan}
    lsoa_table = m.Lsoa.__table__
    settings: dict[str, str] = {}

    if "imd" in parsed and state["synthetic"] and state["lsoas"]:
        engagement, lsoas = _remove_synthetic(conn)
        report.notices.append(
            f"The store held the synthetic demo geography ({_plural(lsoas, 'small area')}) and "
            f"{_plural(engagement, 'engagement record')}: {DEMO_REMOVED}."
        )
        settings["demo_data"] = "0"
        state = dict(state, lsoas=0, synthetic=False, icp_assignment="")

    icp_ids = _ensure_areas(conn)
    default_icp = {code: icp_ids[icp] for code, (_, icp) in LOCAL_AUTHORITIES.items()}
    existing_codes = set(conn.execute(select(lsoa_table.c.code)).scalars())
    lookup = parsed.get("icp_lookup", {}).get("icps")

    # 1. Deprivation: the small areas themselves.
    if "imd" in parsed:
        data = parsed["imd"]
        rows = []
        for row in data["rows"]:
            row = dict(row)
            row.setdefault("population", 0)
            row["icp_id"] = default_icp[row["lad_code"]]
            rows.append(row)
        update_cols = ["name", "lad_code", "imd_score", "imd_rank", "imd_decile", *_DOMAIN_DECILES.values()]
        if data["has_pop"]:
            update_cols.append("population")
        _upsert(conn, lsoa_table, rows, ["code"], update_cols)
        loaded = {r["code"] for r in rows}
        new_codes = loaded - existing_codes
        existing_codes |= loaded
        settings.update(geography_edition=edition or EDITION_2025, geography_synthetic="0")
        if data["missing_domains"]:
            one = len(data["missing_domains"]) == 1
            report.notices.append(
                f"{names['imd']} has no {_list(data['missing_domains'], limit=7)} column{'' if one else 's'}; "
                f"{'that decile is' if one else 'those deciles are'} left empty."
            )
        if data["file_rows"] > len(rows):
            report.notices.append(
                f"{names['imd']}: kept the {len(rows):,} small areas of the 13 Kent and Medway local authorities "
                f"out of {data['file_rows']:,} rows."
            )
        if not lookup:
            if state["icp_assignment"] == "lookup" and not new_codes:
                pass
            else:
                split = [r for r in rows if r["lad_code"] in SPLIT_AUTHORITIES and r["code"] in new_codes]
                settings["icp_assignment"] = "local authority default"
                if split:
                    report.notices.append(
                        f"No small area to ICP lookup was loaded, so each small area takes its local authority's "
                        f"main ICP area; the {len(split)} small areas of Sevenoaks and Swale, which are split "
                        f"between two ICP areas, used that default (import the LSOA to ICP lookup to fix this)."
                    )
        # Local rank: rank of the national IMD rank among the Kent and Medway small areas.
        ranks = conn.execute(select(lsoa_table.c.code, lsoa_table.c.imd_rank, lsoa_table.c.local_rank)).all()
        ordered = sorted(ranks, key=lambda r: (r.imd_rank, r.code))
        changes = [dict(code=r.code, local_rank=i) for i, r in enumerate(ordered, start=1) if r.local_rank != i]
        _update_lsoas(conn, changes, ["local_rank"])
        # Engagement records that point at small areas not in the new geography.
        stale = sorted(existing_codes - loaded)
        if stale:
            counts = [(label, _count_where_in(conn, model, stale)) for model, label in _LSOA_REFERENCING]
            total = sum(n for _, n in counts)
            report.notices.append(
                f"{_plural(len(stale), 'small area')} already in the store {'is' if len(stale) == 1 else 'are'} not "
                f"in {names['imd']}; {'it was' if len(stale) == 1 else 'they were'} kept."
            )
            if total:
                detail = ", ".join(f"{label} {n:,}" for label, n in counts if n)
                report.notices.append(
                    f"{_plural(total, 'engagement record')} ({detail}) {'refers' if total == 1 else 'refer'} to "
                    f"small areas that are not in the newly loaded geography; "
                    f"{'it was' if total == 1 else 'they were'} kept, not dropped."
                )

    def not_loaded_notice(kind: str, codes: Iterable[str]) -> None:
        missing = [c for c in codes if c not in existing_codes]
        if missing:
            report.notices.append(
                f"{names[kind]}: {_plural(len(missing), 'row')} for small areas that are not loaded "
                f"(e.g. {missing[0]}) {'was' if len(missing) == 1 else 'were'} skipped."
            )

    # 1b. The population denominators (IoD File 6), for a ranks file without population (File 1 or File 2).
    if "imd_population" in parsed:
        populations = parsed["imd_population"]["populations"]
        not_loaded_notice("imd_population", populations)
        current = dict(conn.execute(select(lsoa_table.c.code, lsoa_table.c.population)).all())
        changes = [dict(code=c, population=n) for c, n in populations.items() if c in current and current[c] != n]
        _update_lsoas(conn, changes, ["population"])
        without = [c for c in current if c not in populations]
        if without:
            report.notices.append(
                f"{names['imd_population']} has no population for {_plural(len(without), 'loaded small area')} "
                f"(e.g. {without[0]})."
            )

    # 2. The ICP area of each small area.
    if lookup:
        not_loaded_notice("icp_lookup", lookup)
        current = dict(conn.execute(select(lsoa_table.c.code, lsoa_table.c.icp_id)).all())
        changes = [dict(code=c, icp_id=icp_ids[icp]) for c, icp in lookup.items()
                   if c in current and current[c] != icp_ids[icp]]
        _update_lsoas(conn, changes, ["icp_id"])
        unassigned = [c for c in current if c not in lookup]
        if unassigned:
            report.notices.append(
                f"{names['icp_lookup']} has no ICP area for {_plural(len(unassigned), 'loaded small area')} "
                f"(e.g. {unassigned[0]}); they keep their local authority's main ICP area."
            )
        settings["icp_assignment"] = "lookup"

    pop_table = m.PopulationCount.__table__
    # 3. Census population by age, ethnic group and disability.
    if "census_lsoa" in parsed:
        areas = parsed["census_lsoa"]["areas"]
        not_loaded_notice("census_lsoa", areas)
        usable = {c: a for c, a in areas.items() if c in existing_codes}
        current = dict(conn.execute(select(lsoa_table.c.code, lsoa_table.c.population)).all())
        changes = [dict(code=c, population=a["population"]) for c, a in usable.items()
                   if current.get(c) != a["population"]]
        _update_lsoas(conn, changes, ["population"])
        counts = [dict(lsoa_code=c, dimension=dim, group_name=group, count=n, estimated=False)
                  for c, a in usable.items() for (dim, group), n in a["counts"].items()]
        _upsert(conn, pop_table, counts, ["lsoa_code", "dimension", "group_name"], ["count", "estimated"])
        without = len(existing_codes) - len(usable)
        if without:
            report.notices.append(
                f"{names['census_lsoa']} has no census counts for {_plural(without, 'loaded small area')}."
            )

    # 4. Sex, apportioned from the local authority shares.
    sex_kind = "sex_5yr" if "sex_5yr" in parsed else "sex_single" if "sex_single" in parsed else None
    if sex_kind:
        by_lad = parsed[sex_kind]["by_lad"]
        people = conn.execute(select(lsoa_table.c.code, lsoa_table.c.lad_code, lsoa_table.c.population)).all()
        rows = []
        lads_missing = set()
        for lad in sorted({p.lad_code for p in people}):
            if lad not in by_lad or sum(by_lad[lad]) == 0:
                lads_missing.add(lad)
                continue
            female, male = by_lad[lad]
            in_lad = [(p.code, int(p.population)) for p in people if p.lad_code == lad]
            females = _apportion(in_lad, female / (female + male))
            for code, pop in in_lad:
                rows.append(dict(lsoa_code=code, dimension="sex", group_name="Female", count=females[code],
                                 estimated=True))
                rows.append(dict(lsoa_code=code, dimension="sex", group_name="Male", count=pop - females[code],
                                 estimated=True))
        _upsert(conn, pop_table, rows, ["lsoa_code", "dimension", "group_name"], ["count", "estimated"])
        report.notices.append(
            "Sex is not published for small areas, so each small area's residents were split by its local "
            "authority's female and male shares in Census 2021 TS009 (marked as estimated)."
        )
        if lads_missing:
            report.notices.append(
                f"{names[sex_kind]} has no figures for {_list(sorted(lads_missing))}; their small areas have no sex "
                f"counts."
            )
        if any(p.population == 0 for p in people):
            zero = sum(1 for p in people if p.population == 0)
            report.notices.append(
                f"{_plural(zero, 'small area')} had no population loaded, so {'its' if zero == 1 else 'their'} sex "
                f"counts are 0; {_population_advice(edition or state['edition'])}"
            )

    # 5. Centroids and boundaries.
    if "centroids" in parsed:
        points = parsed["centroids"]["points"]
        not_loaded_notice("centroids", points)
        rows = [dict(code=c, longitude=p[0], latitude=p[1]) for c, p in points.items() if c in existing_codes]
        _update_lsoas(conn, rows, ["longitude", "latitude"])
    if "lsoa_boundaries" in parsed:
        shapes = parsed["lsoa_boundaries"]["shapes"]
        not_loaded_notice("lsoa_boundaries", shapes)
        usable = {c: s for c, s in shapes.items() if c in existing_codes}
        _upsert(conn, m.LsoaBoundary.__table__, [dict(lsoa_code=c, geometry=s[0]) for c, s in usable.items()],
                ["lsoa_code"], ["geometry"])
        rows = [dict(code=c, longitude=s[1], latitude=s[2]) for c, s in usable.items()]
        if "centroids" not in parsed:
            _update_lsoas(conn, rows, ["longitude", "latitude"], keep_existing=True)
    if "icp_boundaries" in parsed:
        shapes = parsed["icp_boundaries"]["shapes"]
        _upsert(conn, m.IcpBoundary.__table__, [dict(icp_id=icp_ids[n], geometry=g) for n, g in shapes.items()],
                ["icp_id"], ["geometry"])
        missing = [n for n, _ in ICP_AREAS if n not in shapes]
        if missing:
            report.notices.append(f"{names['icp_boundaries']} has no outline for {_list(missing)}.")

    settings["data_version"] = f"reference-{dt.datetime.now():%Y%m%d%H%M%S%f}"
    _set_settings(conn, settings)
    summaries.refresh(conn)  # the summaries hold the small areas' deciles, ICP areas and districts

    for src, data in plan:
        report.imported.append(ImportedFile(src.name, _kind_label(src), _rows_used(src, data)))
    report.edition = edition or (state["edition"] if not state["synthetic"] else None)
    report.totals = _totals(conn)


def _population_advice(edition: str | None) -> str:
    """Which file gives the small areas their population, for the edition in use."""
    if edition == EDITION_2019:
        return ("import the IoD2019 population denominators (File 6, 'Total population: mid 2015') as well, "
                "then this file again.")
    return "import the Census 2021 population by small area as well, then this file again."


def _kind_label(src: _Source) -> str:
    label = _KIND_LABELS[src.kind]
    if src.kind == "imd" and src.edition:
        return f"{label} ({src.edition})"
    if src.kind in _EDITIONED and src.edition:
        return f"{label} (LSOA {_YEAR_BY_EDITION[src.edition]})"
    return label


def _rows_used(src: _Source, data: dict) -> int:
    if src.kind == "imd":
        return len(data["rows"])
    if src.fmt == "geojson":
        return len(src.features)
    return len(src.rows)


def _totals(conn: Connection) -> dict[str, int]:
    def count(model) -> int:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())

    lsoa = m.Lsoa.__table__
    return dict(
        lsoas=count(m.Lsoa),
        local_authorities=int(conn.execute(select(func.count(func.distinct(lsoa.c.lad_code)))).scalar_one()),
        icp_areas=count(m.IcpArea),
        population=int(conn.execute(select(func.coalesce(func.sum(lsoa.c.population), 0))).scalar_one()),
        population_counts=count(m.PopulationCount),
        lsoa_boundaries=count(m.LsoaBoundary),
        icp_boundaries=count(m.IcpBoundary),
    )


# --- The public functions -----------------------------------------------------------------------------------


def import_reference(engine: Engine, path: Path | str) -> ImportReport:
    """Import one reference file, or every recognised file in a folder, in one transaction.

    Raises ReferenceImportError (one sentence: file, row, column, what was expected) and leaves the store
    unchanged on any problem.
    """
    path = Path(path)
    if not path.exists():
        raise ReferenceImportError(f"{path} does not exist; give a reference file or a folder of them.")
    if not is_initialised(engine):
        raise ReferenceImportError("The store has no tables yet; run `engagement init-db` first.")
    report = ImportReport()
    folder = path.is_dir()
    sources: list[_Source] = []
    if folder:
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        for file in files:
            try:
                src = _read(file)
            except _Unrecognised as exc:
                report.skipped.append(SkippedFile(file.name, f"not recognised: {_reason(exc)}"))
                continue
            if src.not_needed:
                report.skipped.append(SkippedFile(file.name, src.not_needed))
                continue
            sources.append(src)
    else:
        src = _read(path)
        if src.not_needed:
            report.skipped.append(SkippedFile(src.name, src.not_needed))
        else:
            sources.append(src)

    with engine.connect() as conn:
        state = _store_state(conn)
    chosen = _select(sources, report.skipped, state, folder)
    if not chosen:
        if folder:
            raise ReferenceImportError(
                f"No reference file to import in {path.name}: none of its {len(report.skipped)} files holds data "
                f"the dashboard needs."
            )
        return report  # a recognised reference file that is not needed: reported as skipped

    report.skipped.sort(key=lambda s: s.name)
    # Check every row of every file before writing anything.
    plan = [(src, _PARSERS[src.kind](src)) for src in chosen]

    with engine.begin() as conn:
        state = _store_state(conn)
        edition = _check_editions(chosen, state)
        if edition is None and any(s.kind == "imd" for s in chosen):
            edition = state["edition"] or EDITION_2025
        _write(conn, plan, state, report, edition)
    after_load(engine)
    return report


def load_reference_folder(engine: Engine, folder: Path | str) -> ImportReport:
    """Import every recognised reference file in a folder (see `import_reference`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReferenceImportError(f"{folder} is not a folder; give the folder of reference files.")
    return import_reference(engine, folder)


def _reason(exc: Exception) -> str:
    text = str(exc)
    _, _, rest = text.partition(": ")
    return (rest or text).rstrip(".")
