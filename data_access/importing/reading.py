"""Reading the files people actually have: CSV in UTF-8, UTF-8 with BOM or Windows-1252
(what Excel on an NHS laptop writes), and XLSX; every cell as trimmed text.

Every problem is one sentence naming the file (and where it can, the row and column).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 500_000


class ImportFileError(ValueError):
    """A file that cannot be imported, explained in one sentence."""


@dataclass
class Table:
    """A file read as text: the header names as written, and the rows (file row numbers kept)."""

    name: str
    columns: list[str]
    rows: pd.DataFrame  # all str, '' for empty; index = the row number in the file (header = 1)
    encoding: str


def limits() -> tuple[int, int]:
    """(maximum file size in bytes, maximum data rows), from IMPORT_MAX_MB and IMPORT_MAX_ROWS."""
    try:
        max_bytes = int(float(os.environ.get("IMPORT_MAX_MB", DEFAULT_MAX_BYTES / 1024 / 1024)) * 1024 * 1024)
    except ValueError:
        max_bytes = DEFAULT_MAX_BYTES
    try:
        max_rows = int(os.environ.get("IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))
    except ValueError:
        max_rows = DEFAULT_MAX_ROWS
    return max_bytes, max_rows


def read_table(path: Path | str, data: bytes | None = None, name: str | None = None) -> Table:
    """Read a CSV or XLSX file (from disk, or bytes already uploaded) into a Table of trimmed text."""
    path = Path(path)
    name = name or path.name
    max_bytes, max_rows = limits()
    if data is None:
        if not path.exists():
            raise ImportFileError(f"{name} does not exist.")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImportFileError(f"{name} is {size / 1024 / 1024:.1f} MB, over the limit of "
                                  f"{max_bytes / 1024 / 1024:.0f} MB; split it into smaller files.")
        data = path.read_bytes()
    elif len(data) > max_bytes:
        raise ImportFileError(f"{name} is {len(data) / 1024 / 1024:.1f} MB, over the limit of "
                              f"{max_bytes / 1024 / 1024:.0f} MB; split it into smaller files.")
    if not data.strip():
        raise ImportFileError(f"{name} is empty.")
    if data[:4] == b"PK\x03\x04":
        columns, rows, encoding = _read_xlsx(data, name)
    else:
        columns, rows, encoding = _read_csv(data, name)
    if len(rows) > max_rows:
        raise ImportFileError(f"{name} has {len(rows):,} rows, over the limit of {max_rows:,}; "
                              "split it into smaller files.")
    frame = pd.DataFrame(rows, columns=columns, dtype=str)
    frame.index = range(2, len(rows) + 2)
    return Table(name=name, columns=columns, rows=frame, encoding=encoding)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name} is not a text file in UTF-8 or Windows-1252 (byte {exc.start + 1} "
                              "cannot be read); save it from Excel as 'CSV UTF-8'.") from None


def _clean_header(columns: list[str], name: str) -> list[str]:
    cleaned = [" ".join(str(c).split()) for c in columns]
    if not any(cleaned):
        raise ImportFileError(f"{name}, row 1: expected a header row with column names, found an empty row.")
    seen = set()
    for i, col in enumerate(cleaned, start=1):
        if not col:
            raise ImportFileError(f"{name}, row 1, column {i}: expected a column name, found an empty cell.")
        if col.lower() in seen:
            raise ImportFileError(f"{name}, row 1: the column {col!r} appears twice; give each column one name.")
        seen.add(col.lower())
    return cleaned


def _read_csv(data: bytes, name: str) -> tuple[list[str], list[list[str]], str]:
    text, encoding = _decode(data, name)
    if "\x00" in text:
        raise ImportFileError(f"{name} is not a CSV or XLSX file (it holds binary data).")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        all_rows = [row for row in reader]
    except csv.Error as exc:
        raise ImportFileError(f"{name}, row {reader.line_num}: the file is not valid CSV ({exc}).") from None
    while all_rows and not any(c.strip() for c in all_rows[-1]):
        all_rows.pop()
    if not all_rows:
        raise ImportFileError(f"{name} is empty.")
    columns = _clean_header(all_rows[0], name)
    rows = []
    for number, row in enumerate(all_rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(columns):
            last = number == len(all_rows)
            raise ImportFileError(
                f"{name}, row {number}: expected {len(columns)} values (one per column), found {len(row)}"
                + ("; the file looks truncated." if last and len(row) < len(columns) else "."))
        rows.append([" ".join(c.split()) for c in row])
    return columns, rows, encoding


def _read_xlsx(data: bytes, name: str) -> tuple[list[str], list[list[str]], str]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except Exception:  # noqa: BLE001 - any failure means the workbook cannot be read
        raise ImportFileError(f"{name} is not a readable Excel workbook (.xlsx).") from None
    sheet = book.worksheets[0]
    if sheet.merged_cells.ranges and any(r.min_row == 1 for r in sheet.merged_cells.ranges):
        raise ImportFileError(f"{name}, row 1: the header row has merged cells; unmerge them so that each column "
                              "has its own name in row 1.")
    values = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    while values and not any(values[-1]):
        values.pop()
    if not values:
        raise ImportFileError(f"{name} is empty.")
    width = max(i + 1 for i, v in enumerate(values[0]) if v) if any(values[0]) else 0
    columns = _clean_header(values[0][:width], name)
    rows = [row[:width] + [""] * (width - len(row)) for row in values[1:] if any(row)]
    return columns, rows, "XLSX"


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d") if not getattr(value, "hour", 0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())
