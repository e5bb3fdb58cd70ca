"""A postcode lookup the team loads (such as the ONS National Statistics Postcode Lookup, NSPL, or the
ONS Postcode Directory, ONSPD): postcode -> small area (LSOA). With it, a file's full-postcode
column finds each row's small area; the postcode itself is then dropped and never stored.

Only postcodes in the small areas already loaded are kept (about 60,000 for Kent and Medway out of
2.7 million), read row by row so that the national file does not have to fit in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from data_access import models as m
from data_access.db import StoreError, after_load
from data_access.settings import set_setting

POSTCODE_HEADERS = ("pcds", "pcd", "pcd2", "pcd7", "pcd8", "postcode", "post code")
# Newer editions first: a file with both is matched to the edition of the small areas loaded.
LSOA_HEADERS = ("lsoa21cd", "lsoa21", "lsoa 2021 code", "lsoa21 code", "lsoa11cd", "lsoa11", "lsoa 2011 code",
                "lsoa11 code", "lsoa code", "lsoa")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")


class PostcodeLookupError(StoreError):
    """A postcode lookup file that cannot be loaded, said in one sentence."""


def normalise_postcode(text: str) -> str:
    """A postcode in upper case without spaces ('ct9 1aa' -> 'CT91AA')."""
    return re.sub(r"\s+", "", str(text)).upper()


def has_postcode_lookup(conn) -> bool:
    """True when a postcode lookup is loaded."""
    return conn.execute(select(m.PostcodeArea.postcode).limit(1)).first() is not None


def find_postcode_areas(conn, postcodes: Iterable[str]) -> dict[str, str]:
    """Normalised postcode -> LSOA code, for the postcodes given that the lookup knows."""
    wanted = sorted({normalise_postcode(p) for p in postcodes if str(p).strip()})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update(conn.execute(select(m.PostcodeArea.postcode, m.PostcodeArea.lsoa_code)
                                  .where(m.PostcodeArea.postcode.in_(chunk))).all())
    return found


@dataclass
class PostcodeReport:
    """What loading a postcode lookup did."""

    file_name: str
    rows_read: int
    postcodes: int
    lsoa_column: str

    def sentence(self) -> str:
        """One plain-English sentence."""
        return (f"Loaded {self.postcodes:,} postcodes in the loaded small areas from {self.file_name} "
                f"({self.rows_read:,} rows read, small areas from column '{self.lsoa_column}'); "
                "any postcode lookup loaded before was replaced.")


def _lines(data: bytes | None, path: Path) -> Iterator[str]:
    """The file's text, line by line (UTF-8 with or without BOM, else Windows-1252)."""
    raw = io.BytesIO(data) if data is not None else path.open("rb")
    with raw:
        head = raw.read(1 << 20)
        raw.seek(0)
        try:
            head.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError as exc:
            encoding = "cp1252" if exc.start < len(head) - 4 else "utf-8-sig"
        yield from codecs.getreader(encoding)(raw, errors="strict")


def load_postcode_lookup(engine: Engine, path: Path | str, data: bytes | None = None,
                         name: str | None = None) -> PostcodeReport:
    """Replace the postcode lookup with the postcodes of a CSV file that lie in the loaded small areas."""
    path = Path(path)
    name = name or path.name
    if data is None and not path.exists():
        raise PostcodeLookupError(f"{name} does not exist.")
    with engine.connect() as conn:
        lsoas = set(conn.execute(select(m.Lsoa.code)).scalars())
    if not lsoas:
        raise PostcodeLookupError("No small areas are loaded; load the reference data first "
                                  "(engagement import-reference PATH).")
    try:
        reader = csv.reader(_lines(data, path))
        header = next(reader, None)
        if not header:
            raise PostcodeLookupError(f"{name} is empty.")
        names = [" ".join(h.strip().lower().replace("_", " ").split()) for h in header]
        pc = next((names.index(h) for h in POSTCODE_HEADERS if h in names), None)
        lsoa_cols = [(h, names.index(h)) for h in LSOA_HEADERS if h in names]
        if pc is None or not lsoa_cols:
            raise PostcodeLookupError(
                f"{name}: expected a postcode column (pcds, pcd or postcode) and a small-area column (lsoa21cd, "
                f"lsoa21, lsoa11cd or lsoa11), found {', '.join(repr(h) for h in header[:12])}.")
        found: dict[str, dict[str, str]] = {h: {} for h, _ in lsoa_cols}
        rows = 0
        for row in reader:
            if len(row) <= max(pc, *(i for _, i in lsoa_cols)):
                continue
            rows += 1
            postcode = normalise_postcode(row[pc])
            if not _POSTCODE.match(postcode):
                continue
            for h, i in lsoa_cols:
                code = row[i].strip().upper()
                if code in lsoas:
                    found[h][postcode] = code
    except UnicodeDecodeError:
        raise PostcodeLookupError(f"{name} is not a text file in UTF-8 or Windows-1252; save it as CSV.") from None
    except csv.Error as exc:
        raise PostcodeLookupError(f"{name}, row {reader.line_num}: the file is not valid CSV ({exc}).") from None
    column, chosen = max(found.items(), key=lambda kv: len(kv[1]))
    if not chosen:
        raise PostcodeLookupError(f"{name}: none of its {rows:,} postcodes is in a small area that is loaded; "
                                  "check that it covers Kent and Medway and the same LSOA edition.")
    records = [dict(postcode=p, lsoa_code=c) for p, c in chosen.items()]
    with engine.begin() as conn:
        conn.execute(delete(m.PostcodeArea.__table__))
        for start in range(0, len(records), 5000):
            conn.execute(insert(m.PostcodeArea.__table__), records[start:start + 5000])
        set_setting(conn, "postcode_lookup", f"{name}: {len(records)} postcodes")
    after_load(engine)
    return PostcodeReport(name, rows, len(records), header[dict(lsoa_cols)[column]])


def postcode_lookup_size(conn) -> int:
    """How many postcodes the loaded lookup holds."""
    return int(conn.execute(select(func.count()).select_from(m.PostcodeArea)).scalar_one())

