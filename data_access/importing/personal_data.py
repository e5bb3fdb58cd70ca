"""Finding columns that hold personal identifiers (names, e-mail addresses, phone numbers,
full postcodes, street addresses, NHS numbers), so they are dropped before anything is stored."""

from __future__ import annotations

import re

import pandas as pd

_HEADER_PATTERNS = [
    (re.compile(r"\b(e-?mail|email address)\b"), "e-mail addresses"),
    (re.compile(r"\b(phone|telephone|mobile|tel)\b"), "phone numbers"),
    (re.compile(r"\bpost ?code\b"), "postcodes"),
    (re.compile(r"\b(first|last|given|family|full|sur|fore)\s?names?\b|^names?$|\bname of (the )?(person|respondent)\b"),
     "names"),
    (re.compile(r"\baddress\b"), "addresses"),
    (re.compile(r"\bnhs (number|no)\b"), "NHS numbers"),
    (re.compile(r"\b(date of birth|dob|birth date)\b"), "dates of birth"),
]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_PHONE = re.compile(r"^(\+44\s?|0)\d[\d\s-]{8,12}$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", re.I)
_CONTENT = [(_EMAIL, "e-mail addresses"), (_PHONE, "phone numbers"), (_POSTCODE, "full postcodes")]


def personal_columns(frame: pd.DataFrame, keep: set[str] = frozenset()) -> dict[str, str]:
    """Columns that look like personal identifiers, by name or by content: column -> what they hold.

    Columns in `keep` (e.g. a mapped 'area' column) are judged by content only.
    """
    found: dict[str, str] = {}
    for col in frame.columns:
        header = " ".join(re.sub(r"[_\-./]", " ", str(col).lower()).split())
        if col not in keep:
            for pattern, what in _HEADER_PATTERNS:
                if pattern.search(header):
                    found[col] = what
                    break
        if col in found:
            continue
        values = frame[col].astype(str).str.strip()
        values = values[values != ""]
        if values.empty:
            continue
        sample = values.head(200)
        for pattern, what in _CONTENT:
            if sample.map(lambda v: bool(pattern.match(v))).mean() >= 0.5:
                found[col] = what
                break
    return found
