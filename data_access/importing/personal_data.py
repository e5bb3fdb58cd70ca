"""Finding columns that hold personal identifiers (names, e-mail addresses, phone numbers,
full postcodes, street addresses, NHS numbers, IP addresses), so they are dropped before anything
is stored; and taking e-mail addresses and phone numbers out of free-text answers."""

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
    (re.compile(r"\bip\b"), "IP addresses"),
]
# A header longer than this reads like a survey question ("How easy is it to get through on the phone?"):
# it is judged by what the column holds, not by the words in its header.
HEADER_WORDS = 5
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_PHONE = re.compile(r"^(\+44\s?|0)\d[\d\s-]{8,12}$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$", re.I)
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$|^[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}$", re.I)
_CONTENT = [(_EMAIL, "e-mail addresses"), (_PHONE, "phone numbers"), (_POSTCODE, "full postcodes"),
            (_IP, "IP addresses")]
_EMAIL_IN_TEXT = re.compile(r"[^@\s<>()\[\],;:\"']+@[^@\s<>()\[\],;:\"']+\.[a-z]{2,}", re.I)
_PHONE_IN_TEXT = re.compile(r"(?<![\w])(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w])")


def personal_columns(frame: pd.DataFrame, keep: set[str] = frozenset()) -> dict[str, str]:
    """Columns that look like personal identifiers, by name or by content: column -> what they hold.

    Columns in `keep` (e.g. a mapped 'area' column), and headers of more than five words (survey
    questions), are judged by content only.
    """
    found: dict[str, str] = {}
    for col in frame.columns:
        header = " ".join(re.sub(r"[_\-./?:()]", " ", str(col).lower()).split())
        if col not in keep and len(header.split()) <= HEADER_WORDS:
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


def is_postcode_column(what: str) -> bool:
    """True for a dropped column that holds postcodes (so it may find areas through a postcode lookup)."""
    return what in ("postcodes", "full postcodes")


def redact_free_text(text: str) -> tuple[str, bool]:
    """Free text with e-mail addresses and phone numbers replaced by a marker; and whether any were."""
    cleaned = _EMAIL_IN_TEXT.sub("[e-mail address removed]", text)
    cleaned = _PHONE_IN_TEXT.sub("[phone number removed]", cleaned)
    return cleaned, cleaned != text
