"""Reading single values: UK and ISO dates, whole numbers, and areas given in any of the ways
people write them (LSOA code, local authority name or code, ICP area, former CCG name)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from data_access.areas import FORMER_CCGS, ICP_AREAS, LOCAL_AUTHORITIES

_UK_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_UK_DATETIME = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


class FieldError(ValueError):
    """A value that is not what the column needs; the message says what was expected."""


def parse_date(text: str) -> dt.date:
    """A date written dd/mm/yyyy (UK) or yyyy-mm-dd (ISO)."""
    return parse_datetime(text).date() if text.strip() else _bad_date(text)


def _bad_date(text: str):
    raise FieldError(f"expected a date like 31/01/2025 or 2025-01-31, found {text!r}")


def parse_datetime(text: str) -> dt.datetime:
    """A date, or date and time, written the UK way or the ISO way (time optional)."""
    value = text.strip()
    for pattern, order in ((_ISO_DATE, "ymd"), (_UK_DATETIME, "dmy"), (_UK_DATE, "dmy")):
        match = pattern.match(value)
        if not match:
            continue
        parts = [int(p) if p else 0 for p in match.groups()] + [0, 0, 0]
        if order == "ymd":
            year, month, day = parts[0], parts[1], parts[2]
        else:
            day, month, year = parts[0], parts[1], parts[2]
        hour, minute, second = parts[3], parts[4], parts[5]
        try:
            return dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise FieldError(f"expected a real date, found {text!r} (there is no such day)") from None
    _bad_date(text)


def parse_whole_number(text: str, low: int | None = None, high: int | None = None) -> int:
    """A whole number, optionally within bounds."""
    value = text.strip().replace(",", "")
    try:
        number = int(float(value)) if re.fullmatch(r"-?\d+(\.0+)?", value) else None
    except ValueError:
        number = None
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        span = f" from {low} to {high}" if low is not None and high is not None else ""
        raise FieldError(f"expected a whole number{span}, found {text!r}")
    return number


def _norm(text: str) -> str:
    text = text.lower().replace("&", " and ")
    text = re.sub(r"\b(nhs|ccg|clinical commissioning group|council|borough|district|city of)\b", " ", text)
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text).split())


@dataclass(frozen=True)
class Area:
    """Where a record belongs: a small area if known, else a district or an ICP area."""

    lsoa_code: str | None = None
    lad_code: str | None = None
    icp: str | None = None


class AreaResolver:
    """Turns what people write for an area into an Area, knowing the loaded small areas."""

    def __init__(self, lsoas: dict[str, tuple[str, str]]):
        """lsoas: LSOA code -> (local authority code, ICP area name)."""
        self.lsoas = {code.upper(): v for code, v in lsoas.items()}
        self.names: dict[str, Area] = {}
        for code, (name, icp) in LOCAL_AUTHORITIES.items():
            self.names[_norm(code)] = Area(lad_code=code)
            self.names[_norm(name)] = Area(lad_code=code)
        self.names[_norm("Shepway")] = Area(lad_code="E07000112")  # Folkestone and Hythe's former name
        for name, short in ICP_AREAS:
            self.names[_norm(name)] = Area(icp=name)
            self.names[_norm(short)] = Area(icp=name)
        self.names[_norm("Dartford Gravesham and Swanley")] = Area(icp=ICP_AREAS[0][0])
        for ccg, icp in FORMER_CCGS.items():
            key = _norm(ccg)
            if key not in self.names:  # "Medway", "Swale" etc. stay the local authority
                self.names[key] = Area(icp=icp)

    def resolve(self, text: str) -> Area:
        """The Area for a value; an unknown value is a FieldError saying what was expected."""
        value = text.strip()
        code = value.upper().replace(" ", "")
        if code in self.lsoas or re.fullmatch(r"E0[12]\d{6}", code):
            if code not in self.lsoas:
                raise FieldError(f"expected a small area (LSOA) code in the loaded geography, found {text!r}")
            lad, icp = self.lsoas[code]
            return Area(lsoa_code=code, lad_code=lad, icp=icp)
        area = self.names.get(_norm(value))
        if area is None:
            raise FieldError(f"expected an LSOA code, a Kent or Medway local authority, an ICP area or a former "
                             f"CCG name, found {text!r}")
        return area
