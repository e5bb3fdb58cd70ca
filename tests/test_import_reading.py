"""Reading the team's files: encodings, dates, areas, personal data, and one clear sentence for bad input."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from data_access.importing.fields import AreaResolver, FieldError, parse_date, parse_datetime, parse_whole_number
from data_access.importing.personal_data import personal_columns
from data_access.importing.reading import ImportFileError, read_table

CSV = "member id,joined,area\n m1 , 03/01/2025,Thanet\nm2,2025-02-10, E01024000 \n"


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("encoding,label", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"),
                                            ("cp1252", "Windows-1252")])
def test_reads_the_encodings_excel_writes(tmp_path, encoding, label):
    text = CSV.replace("Thanet", "Thanet – Margate café")
    table = read_table(write(tmp_path, "members.csv", text.encode(encoding)))
    assert table.encoding == label
    assert table.columns == ["member id", "joined", "area"]
    assert table.rows.loc[2].tolist() == ["m1", "03/01/2025", "Thanet – Margate café"]  # spaces trimmed
    assert list(table.rows.index) == [2, 3]  # file row numbers, the header being row 1


def test_reads_xlsx(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["member id", "joined", "count"])
    sheet.append(["m1", dt.datetime(2025, 1, 3), 4.0])
    path = tmp_path / "members.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.rows.loc[2].tolist() == ["m1", "2025-01-03", "4"]


@pytest.mark.parametrize("name,data,message", [
    ("empty.csv", b"", "empty.csv is empty."),
    ("blank.csv", b"\n\n  \n", "blank.csv is empty."),
    ("truncated.csv", b"a,b,c\n1,2,3\n4,5", "truncated.csv, row 3: expected 3 values (one per column), found 2; "
                                            "the file looks truncated."),
    ("ragged.csv", b"a,b\n1,2,3\n4,5\n", "ragged.csv, row 2: expected 2 values (one per column), found 3."),
    ("twice.csv", b"a,b,A\n1,2,3\n", "twice.csv, row 1: the column 'A' appears twice; give each column one name."),
    ("binary.csv", b"\x00\x01\x02abc\x00", "binary.csv is not a CSV or XLSX file (it holds binary data)."),
    ("fake.xlsx", b"PK\x03\x04 not really a zip", "fake.xlsx is not a readable Excel workbook (.xlsx)."),
])
def test_bad_files_get_one_clear_sentence(tmp_path, name, data, message):
    with pytest.raises(ImportFileError) as err:
        read_table(write(tmp_path, name, data))
    assert str(err.value) == message


def test_merged_header_rows_are_refused(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Network members export", None, None])
    sheet.merge_cells("A1:C1")
    sheet.append(["member id", "joined", "area"])
    path = tmp_path / "merged.xlsx"
    book.save(path)
    with pytest.raises(ImportFileError, match=r"^merged.xlsx, row 1: the header row has merged cells"):
        read_table(path)


def test_size_and_row_limits(tmp_path, monkeypatch):
    path = write(tmp_path, "big.csv", b"a\n" + b"1\n" * 20)
    monkeypatch.setenv("IMPORT_MAX_ROWS", "10")
    with pytest.raises(ImportFileError, match=r"^big.csv has more than 10 rows, over the limit of 10; split it"):
        read_table(path)
    monkeypatch.setenv("IMPORT_MAX_MB", "0.00001")
    with pytest.raises(ImportFileError, match=r"^big.csv is 0.0 MB, over the limit of 0 MB"):
        read_table(path)


def test_dates_uk_and_iso():
    assert parse_date("03/01/2025") == dt.date(2025, 1, 3)  # 3 January, the UK way
    assert parse_date("2025-01-03") == dt.date(2025, 1, 3)
    assert parse_datetime("03/01/2025 14:05") == dt.datetime(2025, 1, 3, 14, 5)
    with pytest.raises(FieldError, match=r"expected a real date, found '31/02/2024' \(there is no such day\)"):
        parse_date("31/02/2024")
    with pytest.raises(FieldError, match=r"expected a date like 31/01/2025 or 2025-01-31, found 'next week'"):
        parse_date("next week")


def test_whole_numbers():
    assert parse_whole_number("1,200") == 1200 and parse_whole_number("7.0") == 7
    with pytest.raises(FieldError, match=r"expected a whole number from 0 to 10, found '11'"):
        parse_whole_number("11", 0, 10)


RESOLVER = AreaResolver({"E01024000": ("E07000114", "East Kent")})


@pytest.mark.parametrize("text,expected", [
    ("E01024000", ("E01024000", "E07000114", "East Kent")),
    (" e01024000 ", ("E01024000", "E07000114", "East Kent")),
    ("Thanet", (None, "E07000114", None)),
    ("Thanet District Council", (None, "E07000114", None)),
    ("E07000114", (None, "E07000114", None)),
    ("Shepway", (None, "E07000112", None)),
    ("DGS", (None, None, "Dartford, Gravesham and Swanley")),
    ("west kent", (None, None, "West Kent")),
    ("NHS South Kent Coast CCG", (None, None, "East Kent")),
    ("NHS Canterbury and Coastal CCG", (None, None, "East Kent")),
])
def test_areas_in_the_ways_people_write_them(text, expected):
    area = RESOLVER.resolve(text)
    assert (area.lsoa_code, area.lad_code, area.icp) == expected


def test_unknown_areas_say_what_was_expected():
    with pytest.raises(FieldError, match=r"expected a small area \(LSOA\) code in the loaded geography, "
                                         r"found 'E01099999'"):
        RESOLVER.resolve("E01099999")
    with pytest.raises(FieldError, match=r"expected an LSOA code, a Kent or Medway local authority"):
        RESOLVER.resolve("Narnia")


def test_personal_data_columns_are_found_by_name_and_by_content():
    frame = pd.DataFrame({
        "Member ID": ["m1", "m2"], "First name": ["Ann", "Bob"], "Contact": ["a@b.nhs.uk", "c@d.org"],
        "Tel": ["01843 123456", "07700 900123"], "Where": ["CT9 1AA", "ME4 4TR"], "Joined": ["2025-01-01"] * 2,
        "Comments": ["fine", "good"],
    })
    found = personal_columns(frame)
    assert found == {"First name": "names", "Contact": "e-mail addresses", "Tel": "phone numbers",
                     "Where": "full postcodes"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_no_value_crashes_the_field_readers(text):
    for reader in (parse_date, parse_datetime, lambda t: parse_whole_number(t, 0, 100), RESOLVER.resolve):
        try:
            reader(text)
        except FieldError:
            pass


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
                         min_size=1, max_size=4), min_size=0, max_size=6))
def test_no_file_content_crashes_the_reader(tmp_path_factory, rows):
    import csv
    import io
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path = tmp_path_factory.mktemp("h") / "random.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    try:
        table = read_table(path)
    except ImportFileError as exc:
        assert str(exc).startswith("random.csv")
    else:
        assert len(table.columns) == len(set(c.lower() for c in table.columns))


# --- Workbooks that would exhaust the server ------------------------------------------------------------

PEAK_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))  # the old reader needed 3.7 GB here
from pathlib import Path
from data_access import reference_import
from data_access.importing.reading import ImportFileError, read_table
messages = []
try:
    read_table(sys.argv[1])
    messages.append("read")
except ImportFileError as exc:
    messages.append(str(exc))
except MemoryError:
    messages.append("MemoryError")
try:
    reference_import._read(Path(sys.argv[1]))
    messages.append("read")
except reference_import.ReferenceImportError as exc:
    messages.append(str(exc))
except MemoryError:
    messages.append("MemoryError")
print("\\n".join(messages))
# the peak resident memory of this process since it started (ru_maxrss would include the parent's, inherited
# through fork)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024)
"""


def test_a_far_away_cell_is_refused_in_one_sentence_with_little_memory(tmp_path):
    import subprocess
    import sys
    book = Workbook()
    book.active["XFD1048576"] = "x"  # the only cell: column 16,384 of row 1,048,576
    path = tmp_path / "far.xlsx"
    book.save(path)
    assert path.stat().st_size < 10_000
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    *messages, peak_mb = done.stdout.strip().splitlines()
    sentence = ("far.xlsx, row 1,048,576, column XFD: expected at most 1,000 columns, found a value in column "
                "16,384; remove what is out there or split the file.")
    assert messages == [sentence, sentence]
    assert int(peak_mb) < 200  # measured: about 150 MB, most of it Python, pandas and SQLAlchemy themselves


def test_a_csv_over_the_row_limit_is_refused_with_little_memory(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "long.csv"
    path.write_bytes(b"member id,network,joined\n" + b"".join(b"M%07d,Cafe,01/02/2025\n" % i for i in range(700_000)))
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    *messages, peak_mb = done.stdout.strip().splitlines()
    assert messages[0] == "long.csv has more than 500,000 rows, over the limit of 500,000; split it into smaller files."
    assert int(peak_mb) < 200  # measured: about 165 MB (the file's 18 MB of bytes on top of the libraries)


def _rows_workbook(path, rows: int, width: int = 3):
    from openpyxl import Workbook as WriteBook
    book = WriteBook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([f"column {i}" for i in range(width)])
    for i in range(rows):
        sheet.append([f"m{i}"] + [i] * (width - 1))
    book.save(path)
    return path


def test_a_workbook_over_the_row_limit_is_refused_before_it_is_loaded(tmp_path, monkeypatch):
    import openpyxl
    path = _rows_workbook(tmp_path / "long.xlsx", 5_000)
    monkeypatch.setenv("IMPORT_MAX_ROWS", "1000")

    def never(*args, **kwargs):
        raise AssertionError("the workbook was loaded")
    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(ImportFileError) as err:
        read_table(path)
    assert str(err.value) == "long.xlsx has more than 1,000 rows, over the limit of 1,000; split it into smaller files."


def test_the_row_limit_counts_rows_with_values(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_ROWS", "1000")
    assert len(read_table(_rows_workbook(tmp_path / "full.xlsx", 1_000)).rows) == 1_000
    book = Workbook()
    sheet = book.active
    sheet.append(["member id", "joined"])
    sheet.append(["m1", "01/02/2025"])
    sheet["B5000"].number_format = "0.00"  # a formatted empty cell far down is not a row of data
    sheet.append(["m2", "02/02/2025"])
    path = tmp_path / "formatted.xlsx"
    book.save(path)
    assert read_table(path).rows.values.tolist() == [["m1", "01/02/2025"], ["m2", "02/02/2025"]]


def test_declared_dimensions_are_not_trusted(tmp_path):
    import zipfile
    path = _rows_workbook(tmp_path / "small.xlsx", 2)
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert "<dimension" not in sheet  # write-only mode leaves it out: put a false one in
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("<sheetData>", '<dimension ref="A1:XFD1048576"/><sheetData>',
                                                      1).encode()
    lying = tmp_path / "lying.xlsx"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as target:
        for filename, data in parts.items():
            target.writestr(filename, data)
    table = read_table(lying)
    assert table.columns == ["column 0", "column 1", "column 2"]
    assert table.rows.values.tolist() == [["m0", "0", "0"], ["m1", "1", "1"]]


def test_a_column_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_COLUMNS", "5")
    book = Workbook()
    book.active.append(["a", "b", "c"])
    book.active["G2"] = "far"
    path = tmp_path / "wide.xlsx"
    book.save(path)
    with pytest.raises(ImportFileError) as err:
        read_table(path)
    assert str(err.value) == ("wide.xlsx, row 2, column G: expected at most 5 columns, found a value in column 7; "
                              "remove what is out there or split the file.")


def test_a_csv_over_the_row_limit_stops_while_counting(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_ROWS", "10")
    path = write(tmp_path, "long.csv", b"a,b\n" + b"1,2\n" * 11)
    with pytest.raises(ImportFileError, match=r"^long.csv has more than 10 rows, over the limit of 10; split it"):
        read_table(path)
    assert len(read_table(write(tmp_path, "ten.csv", b"a,b\n" + b"1,2\n" * 10)).rows) == 10


# --- Encodings, detected honestly ---------------------------------------------------------------------------

def test_utf8_with_one_windows_1252_byte_is_refused_naming_row_and_column(tmp_path):
    data = "member id,network\nm1,Café club\n".encode("utf-8") + "m2,Café club\n".encode("cp1252")
    with pytest.raises(ImportFileError) as err:
        read_table(write(tmp_path, "mixed.csv", data))
    assert str(err.value) == (
        "mixed.csv, row 3, column 'network': expected text in UTF-8 throughout, found the byte 0xE9, which is not "
        "UTF-8 although the rest of the file is (two encodings mixed, so the same word could be read two ways); "
        "save it again as 'CSV UTF-8'.")
    with pytest.raises(ImportFileError, match=r"^bom.csv, row 3, column 'network': expected text in UTF-8 throughout"):
        read_table(write(tmp_path, "bom.csv", b"\xef\xbb\xbf" + data))  # was a UnicodeDecodeError
    from data_access import reference_import
    with pytest.raises(reference_import.ReferenceImportError, match=r"^mixed.csv, row 3, column 'network': expected "
                                                                     r"text in UTF-8 throughout"):
        reference_import._read(tmp_path / "mixed.csv")


@pytest.mark.parametrize("encoding,label", [
    ("utf-16", "UTF-16"),  # Python writes the byte order mark, as Excel's "Unicode text" does
    ("utf-16-le", "UTF-16 (without a byte order mark)"),
    ("utf-16-be", "UTF-16 (without a byte order mark)"),
])
def test_utf16_is_read(tmp_path, encoding, label):
    text = "member id\tnetwork\nm1\tCafé club – Margate\nm2\tYouth voice\n"
    table = read_table(write(tmp_path, "members.txt", text.encode(encoding)))
    assert table.encoding == label
    assert table.columns == ["member id", "network"]
    assert table.rows["network"].tolist() == ["Café club – Margate", "Youth voice"]


def test_windows_1252_alone_is_still_read_and_bad_bytes_are_placed(tmp_path):
    table = read_table(write(tmp_path, "w.csv", "member id,network\nm1,Café club\n".encode("cp1252")))
    assert table.encoding == "Windows-1252" and table.rows["network"].tolist() == ["Café club"]
    with pytest.raises(ImportFileError) as err:
        read_table(write(tmp_path, "odd.csv", b"member id,network\nm1,Caf\x81 club\n"))
    assert str(err.value) == ("odd.csv, row 2, column 'network': expected text in UTF-8 or Windows-1252, found the "
                              "byte 0x81, which is not valid in either.")
