"""Reading the files people actually have: CSV in UTF-8, UTF-8 with BOM or Windows-1252
(what Excel on an NHS laptop writes), and XLSX; every cell as trimmed text.

Every problem is one sentence naming the file (and where it can, the row and column).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

import pandas as pd

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 500_000
DEFAULT_MAX_COLUMNS = 1_000
EXCEL_CELL_CHARACTERS = 32_767  # the most text Excel itself lets a cell hold


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


def max_columns() -> int:
    """The most columns a file may have, from IMPORT_MAX_COLUMNS (default 1,000)."""
    try:
        return max(1, int(os.environ.get("IMPORT_MAX_COLUMNS", DEFAULT_MAX_COLUMNS)))
    except ValueError:
        return DEFAULT_MAX_COLUMNS


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
    if not data or data.isspace():  # (data.strip() would copy the whole file)
        raise ImportFileError(f"{name} is empty.")
    if data[:4] == b"PK\x03\x04":
        columns, rows, encoding = _read_xlsx(data, name, max_rows)
    else:
        columns, rows, encoding = _read_csv(data, name, max_rows)
    frame = pd.DataFrame(rows, columns=columns, dtype=str)
    frame.index = range(2, len(rows) + 2)
    return Table(name=name, columns=columns, rows=frame, encoding=encoding)


def utf16_codec(data: bytes) -> str | None:
    """'utf-16' when the file starts with a UTF-16 byte order mark, 'utf-16-le' or 'utf-16-be' when it has
    none but its first 4 KB are unmistakably UTF-16 (every other byte zero), else None."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4 or len(sample) % 2:
        return None
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16-be"
    return None


_UTF8_MULTIBYTE = re.compile(  # a well-formed UTF-8 sequence of two to four bytes
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}")
_CHUNK = 1 << 20


def detect_encoding(data: bytes, name: str) -> tuple[str, str]:
    """(Python codec, label) of a text file: UTF-8 (with or without BOM), UTF-16 (with a BOM, or unmistakably
    without) or Windows-1252, checked through the whole file without decoding it all at once. A file that is
    UTF-8 in places and another encoding elsewhere (the same word would be read two ways) is refused, naming
    the first row and column that is not UTF-8."""
    utf16 = utf16_codec(data)
    if utf16:
        bad = _first_bad(data, utf16)
        if bad is not None:
            row, column = _where(data, utf16)
            raise ImportFileError(f"{name}, row {row}{column}: expected text in UTF-16 (as the file's start says), "
                                  "found bytes that are not; save it again as 'CSV UTF-8'.")
        return utf16, "UTF-16" if utf16 == "utf-16" else "UTF-16 (without a byte order mark)"
    bom = data.startswith(codecs.BOM_UTF8)
    codec = "utf-8-sig" if bom else "utf-8"
    bad = _first_bad(data, codec)
    if bad is None:
        return codec, "UTF-8 with BOM" if bom else "UTF-8"
    if bom or _UTF8_MULTIBYTE.search(data):  # UTF-8 elsewhere in the file
        row, column = _where(data, codec)
        raise ImportFileError(
            f"{name}, row {row}{column}: expected text in UTF-8 throughout, found the byte 0x{data[bad]:02X}, "
            "which is not UTF-8 although the rest of the file is (two encodings mixed, so the same word could be "
            "read two ways); save it again as 'CSV UTF-8'.")
    bad = _first_bad(data, "cp1252")
    if bad is not None:
        row, column = _where(data, "cp1252")
        raise ImportFileError(f"{name}, row {row}{column}: expected text in UTF-8 or Windows-1252, found the byte "
                              f"0x{data[bad]:02X}, which is not valid in either.")
    return "cp1252", "Windows-1252"


def _first_bad(data: bytes, codec: str) -> int | None:
    """The offset of the first byte that is not valid in the codec, or None; a megabyte at a time."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    for start in range(0, len(data), _CHUNK):
        pending = len(decoder.getstate()[0])
        try:
            decoder.decode(view[start:start + _CHUNK], final=start + _CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            return max(0, start - pending + exc.start)
    return None


def text_stream(data: bytes, codec: str, errors: str = "strict") -> io.TextIOWrapper:
    """The file as text, decoded a little at a time (neither the bytes nor a whole-text copy are made)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=codec, errors=errors, newline="")


def _where(data: bytes, codec: str) -> tuple[int, str]:
    """The row (1 = the header) and ", column 'NAME'" of the first byte that cannot be decoded."""
    bad = re.compile("[\udc80-\udcff]")  # bytes that cannot be decoded become U+DC80..U+DCFF
    header: list[str] = []
    first = text_stream(data, codec, "surrogateescape").readline()
    reader = csv.reader(text_stream(data, codec, "surrogateescape"), delimiter=_delimiter(first))
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            header = header or record
            for index, cell in enumerate(record):
                if bad.search(cell):
                    name = bad.sub("?", header[index]).lstrip("\ufeff").strip() if index < len(header) else ""
                    return number, f", column '{name}'" if name else ""
    except (csv.Error, UnicodeDecodeError):
        pass
    return max(number, 1), ""


def _delimiter(first_line: str) -> str:
    return "," if "," in first_line else "\t" if "\t" in first_line else ";" if ";" in first_line else ","


def _encoding(data: bytes, name: str) -> tuple[str, str]:
    if utf16_codec(data) is None and b"\x00" in data:
        raise ImportFileError(f"{name} is not a CSV or XLSX file (it holds binary data).")
    return detect_encoding(data, name)


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


def _read_csv(data: bytes, name: str, max_rows: int) -> tuple[list[str], list[list[str]], str]:
    codec, encoding = _encoding(data, name)
    try:
        dialect = csv.Sniffer().sniff(text_stream(data, codec).read(4096).lstrip("\ufeff"), delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text_stream(data, codec), dialect)
    try:
        counted = last = 0  # rows are counted before any is kept, so a file over the limit costs no memory
        for number, row in enumerate(reader, start=1):
            if any(c.strip() for c in row):
                counted, last = counted + 1, number
                if counted > max_rows + 1:
                    raise ImportFileError(f"{name} has more than {max_rows:,} rows, over the limit of "
                                          f"{max_rows:,}; split it into smaller files.")
        if not counted:
            raise ImportFileError(f"{name} is empty.")
        reader = csv.reader(text_stream(data, codec), dialect)
        columns: list[str] = []
        rows = []
        for number, row in enumerate(reader, start=1):
            if number == 1:
                columns = _clean_header([c.lstrip("\ufeff") for c in row] if row else row, name)
                continue
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(columns):
                raise ImportFileError(
                    f"{name}, row {number}: expected {len(columns)} values (one per column), found {len(row)}"
                    + ("; the file looks truncated." if number == last and len(row) < len(columns) else "."))
            rows.append([" ".join(c.split()) for c in row])
    except csv.Error as exc:
        raise ImportFileError(f"{name}, row {reader.line_num}: the file is not valid CSV ({exc}).") from None
    return columns, rows, encoding


def _read_xlsx(data: bytes, name: str, max_rows: int) -> tuple[list[str], list[list[str]], str]:
    from openpyxl import load_workbook

    archive, parts = open_workbook(data, name)
    if not parts:
        raise ImportFileError(f"{name} is empty.")
    if check_sheet(archive, parts[0], name, max_rows, max_columns()):
        raise ImportFileError(f"{name}, row 1: the header row has merged cells; unmerge them so that each column "
                              "has its own name in row 1.")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception:  # noqa: BLE001 - any failure means the workbook cannot be read
        raise ImportFileError(f"{name} is not a readable Excel workbook (.xlsx).") from None
    header: list[str] = []
    columns: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for number, values in sheet_rows(sheet, name, max_columns()):
            cells = [_cell_text(v) for v in values]
            if number == 1:
                header = cells
                continue
            if not any(cells):
                continue
            if columns is None:
                columns = _xlsx_header(header, name)
            if len(rows) == max_rows:
                raise ImportFileError(f"{name} has more than {max_rows:,} rows, over the limit of {max_rows:,}; "
                                      "split it into smaller files.")
            width = len(columns)
            rows.append(cells[:width] + [""] * (width - len(cells)))
    finally:
        book.close()
    if columns is None:
        if not any(header):
            raise ImportFileError(f"{name} is empty.")
        columns = _xlsx_header(header, name)
    return columns, rows, "XLSX"


def _xlsx_header(cells: list[str], name: str) -> list[str]:
    width = max((i + 1 for i, v in enumerate(cells) if v), default=0)
    return _clean_header(cells[:width], name)


# --- Workbooks, read without trusting them ---------------------------------------------------------------
# An .xlsx file is a zip of XML; a tiny file can declare a sheet of 16,384 columns by 1,048,576 rows, or
# unpack to gigabytes. So the first sheet is scanned as a stream of bytes (rows, columns, merged cells)
# before openpyxl loads anything, and openpyxl then reads it row by row in read-only mode, never padding
# a row beyond its own last cell.

_SMALL_PART = 5 * 1024 * 1024  # workbook.xml and its relationships are a few KB
_ROW_REF = re.compile(rb'\br="(\d+)"')
_RANGE_REF = re.compile(rb'\bref="[A-Z]{1,3}(\d+)')


def open_workbook(data: bytes, name: str) -> tuple[zipfile.ZipFile, list[str]]:
    """The workbook's zip and the paths of its worksheets, in order (nothing large is unpacked)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        top = _small_xml(archive, "_rels/.rels")
        book_part = next(r.get("Target", "") for r in top if r.get("Type", "").endswith("/officeDocument"))
        book_part = _part_path("", book_part)
        folder = posixpath.dirname(book_part)
        rels = _small_xml(archive, posixpath.join(folder, "_rels", posixpath.basename(book_part) + ".rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels if r.get("Type", "").endswith("/worksheet")}
        sheets = [next((v for k, v in el.attrib.items() if k.endswith("}id")), None)  # r:id, in any namespace
                  for el in _small_xml(archive, book_part).iter() if el.tag.endswith("}sheet")]
        parts = [_part_path(folder, targets[rid]) for rid in sheets if rid in targets]
        for part in parts:
            archive.getinfo(part)
    except (zipfile.BadZipFile, KeyError, StopIteration, ElementTree.ParseError, OSError, ValueError):
        raise ImportFileError(f"{name} is not a readable Excel workbook (.xlsx).") from None
    max_bytes = limits()[0]
    for info in archive.infolist():
        if info.filename.lower().endswith("sharedstrings.xml") and info.file_size > max_bytes:
            raise ImportFileError(f"{name} holds {info.file_size / 1024 / 1024:,.0f} MB of text once unpacked, over "
                                  f"the limit of {max_bytes / 1024 / 1024:,.0f} MB; split it into smaller files.")
    return archive, parts


def _small_xml(archive: zipfile.ZipFile, part: str) -> ElementTree.Element:
    if archive.getinfo(part).file_size > _SMALL_PART:
        raise ValueError(part)
    return ElementTree.fromstring(archive.read(part))


def _part_path(folder: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))


def check_sheet(archive: zipfile.ZipFile, part: str, name: str, max_rows: int, max_cols: int) -> bool:
    """Refuse a sheet with more rows holding values than max_rows (+ a header), a value beyond max_cols
    or a cell longer than Excel allows, by scanning its XML as bytes; True if row 1 has merged cells."""
    from openpyxl.utils import column_index_from_string, get_column_letter

    letters = len(get_column_letter(min(max_cols + 1, 16_384)))  # a shorter column reference is within the limit
    tags = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:(row)\b([^<>]*)|(v|is)>|(mergeCell)\b([^<>]*)|c\b[^<>]*\br=\"([A-Z]{"
                      + str(letters).encode() + rb",3})\d+\"[^<>]*?(/?)>)")
    rows = row_number = text_run = 0
    row_has_value = merged_header = False
    carry = b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(1 << 20)
            buffer = carry + chunk
            end = buffer.rfind(b"<") if chunk else len(buffer)
            if end <= 0 and chunk:  # text with no tag in it: a very long cell, or not XML at all
                text_run += len(chunk)
                if text_run > 4 * EXCEL_CELL_CHARACTERS:
                    raise ImportFileError(f"{name}, row {max(row_number, 1):,}: a cell holds more than "
                                          f"{EXCEL_CELL_CHARACTERS:,} characters, more than Excel allows.")
                carry = buffer
                continue
            text_run = 0
            for row, row_attributes, value, merge, merge_attributes, far, empty in tags.findall(buffer, 0, end):
                if row:
                    ref = _ROW_REF.search(row_attributes)
                    row_number = int(ref.group(1)) if ref else row_number + 1
                    row_has_value = False
                elif value and not row_has_value:  # the first value (<v> or <is>) in this row
                    row_has_value = True
                    rows += 1
                    if rows > max_rows + 1:
                        raise ImportFileError(f"{name} has more than {max_rows:,} rows, over the limit of "
                                              f"{max_rows:,}; split it into smaller files.")
                elif merge:
                    ref = _RANGE_REF.search(merge_attributes)
                    merged_header = merged_header or (ref is not None and ref.group(1) == b"1")
                elif far and not empty and column_index_from_string(far.decode()) > max_cols:
                    _too_wide(name, row_number, column_index_from_string(far.decode()), max_cols)
            carry = buffer[end:]
            if not chunk:
                return merged_header


def _too_wide(name: str, row: int, column: int, max_cols: int) -> None:
    from openpyxl.utils import get_column_letter

    raise ImportFileError(f"{name}, row {row:,}, column {get_column_letter(column)}: expected at most "
                          f"{max_cols:,} columns, found a value in column {column:,}; remove what is out there "
                          "or split the file.")


def sheet_rows(sheet: Any, name: str, max_cols: int) -> Iterator[tuple[int, tuple]]:
    """(row number, values) of an openpyxl read-only sheet, each row only as wide as its own cells."""
    sheet.reset_dimensions()  # the declared size may be anything; never pad rows to it
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if len(values) > max_cols:
            far = next((i for i, v in enumerate(values[max_cols:], start=max_cols + 1) if v is not None), None)
            if far is not None:
                _too_wide(name, number, far, max_cols)
            values = values[:max_cols]
        yield number, values


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d") if not getattr(value, "hour", 0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())
