"""What each kind of file holds: its columns (with the names people give them), how each value
is read, and the natural key that stops a record being added twice."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from data_access import models as m
from data_access.importing.fields import FieldError, parse_date, parse_datetime, parse_whole_number

AGE_BAND_MIDPOINTS = {"16-24": 20, "25-34": 30, "35-49": 42, "50-64": 57, "65+": 72, "65 and over": 72}


def norm_header(text: str) -> str:
    """A header reduced to lower-case words, for matching names people give columns."""
    return " ".join(re.sub(r"[^a-z0-9+]", " ", str(text).lower()).split())


@dataclass(frozen=True)
class Column:
    """One field of a kind of file."""

    field: str
    label: str
    aliases: tuple[str, ...]
    parse: Callable[[str], Any]
    required: bool = False

    def matches(self, header: str) -> bool:
        """True when a file's column header names this field."""
        h = norm_header(header)
        return h == norm_header(self.label) or h in {norm_header(a) for a in self.aliases}


def text(max_length: int) -> Callable[[str], str]:
    """A text reader that refuses empty values and over-long ones."""
    def read(value: str) -> str:
        if not value.strip():
            raise FieldError("expected a value, found an empty cell")
        if len(value) > max_length:
            raise FieldError(f"expected at most {max_length} characters, found {len(value)}")
        return value.strip()
    return read


def sex(value: str) -> str:
    """Female / Male / Prefer not to say / Not known, from the ways forms write them."""
    v = norm_header(value)
    if v in ("f", "female", "woman", "women", "girl"):
        return "Female"
    if v in ("m", "male", "man", "men", "boy"):
        return "Male"
    if not v or v in ("unknown", "not known", "n a", "na"):
        return m.NOT_KNOWN
    if "prefer not" in v or "rather not" in v:
        return m.PREFER_NOT
    return value.strip().title()[:20]


_ETHNIC = [  # checked in this order: "Black British" is Black, "White and Asian" is Mixed
    ("Mixed", ("mixed", "multiple", "white and black", "white and asian")),
    ("Asian", ("asian", "indian", "pakistani", "bangladeshi", "chinese")),
    ("Black", ("black", "african", "caribbean")),
    ("White", ("white", "english", "british", "irish", "gypsy", "traveller", "roma")),
    ("Other", ("arab", "other")),
]


def ethnic_group(value: str) -> str:
    """One of the Census 2021 high-level groups (Asian, Black, Mixed, White, Other)."""
    v = norm_header(value)
    if not v or v in ("unknown", "not known", "not stated"):
        return m.NOT_KNOWN
    if "prefer not" in v or "rather not" in v:
        return m.PREFER_NOT
    for group, words in _ETHNIC:
        if any(w in v for w in words):
            return group
    raise FieldError(f"expected an ethnic group (e.g. White British, Asian or Asian British: Indian, Black, Mixed, "
                     f"Other, Prefer not to say), found {value!r}")


def disability(value: str) -> str:
    """Disabled / Not disabled / Prefer not to say / Not known."""
    v = norm_header(value)
    if v in ("yes", "y", "disabled", "yes limited a lot", "yes limited a little", "true", "1"):
        return "Disabled"
    if v in ("no", "n", "not disabled", "false", "0"):
        return "Not disabled"
    if not v or v in ("unknown", "not known"):
        return m.NOT_KNOWN
    if "prefer not" in v:
        return m.PREFER_NOT
    if v.startswith("yes"):
        return "Disabled"
    raise FieldError(f"expected Yes, No or Prefer not to say, found {value!r}")


EARLIEST_BIRTH_YEAR = 1900
EARLIEST_EVENT = dt.date(2000, 1, 1)  # engagement records (joining, responses, activities, terms) start here


def today() -> dt.date:
    """Today's date in the UK (the files' dates are UK dates, whatever the server's clock zone)."""
    try:
        from zoneinfo import ZoneInfo
        return dt.datetime.now(ZoneInfo("Europe/London")).date()
    except Exception:  # noqa: BLE001 - no time zone database: the server's own date
        return dt.date.today()


def birth_year(value: str) -> int:
    """A year of birth from 1900 to this year."""
    return parse_whole_number(value, EARLIEST_BIRTH_YEAR, today().year)


def date_in_range(years_ahead: int = 0, reader: Callable[[str], Any] = parse_date) -> Callable[[str], Any]:
    """A date reader that refuses dates before 2000 and after today, or after `years_ahead` years from today
    where a date is legitimately in the future (a panel term's end, a planned activity or action)."""
    def read(value: str):
        result = reader(value)
        day = result.date() if isinstance(result, dt.datetime) else result
        now = today()
        try:
            latest = now.replace(year=now.year + years_ahead)
        except ValueError:  # 29 February, and the year ahead is not a leap year
            latest = now.replace(year=now.year + years_ahead, day=28)
        if day < EARLIEST_EVENT or day > latest:
            until = (f"today ({now:%d/%m/%Y})" if not years_ahead else
                     f"{latest:%d/%m/%Y} ({years_ahead} year{'s' if years_ahead > 1 else ''} from today)")
            raise FieldError(f"expected a date from {EARLIEST_EVENT:%d/%m/%Y} to {until}, found {value.strip()!r}")
        return result
    return read


def age(value: str) -> int:
    """An age in years from 0 to 120, or an age band such as 25-34 (its middle year is used)."""
    v = value.strip().replace("–", "-").replace(" to ", "-")
    if v in AGE_BAND_MIDPOINTS:
        return AGE_BAND_MIDPOINTS[v]
    return parse_whole_number(v, 0, 120)


def optional(reader: Callable[[str], Any]) -> Callable[[str], Any]:
    """The reader, but an empty cell means 'not given' (None)."""
    def read(value: str):
        return None if not value.strip() else reader(value)
    return read


def or_not_recorded(reader: Callable[[str], str]) -> Callable[[str], str]:
    """The reader, but an empty cell (or no such column) is stored as 'Not recorded' (the store needs a value)."""
    def read(value: str) -> str:
        return m.NOT_RECORDED if not value.strip() else reader(value)
    return read


def status(value: str) -> str:
    """Planned / In progress / Done."""
    v = norm_header(value)
    for word, result in (("progress", "In progress"), ("ongoing", "In progress"), ("done", "Done"),
                         ("complete", "Done"), ("closed", "Done"), ("plan", "Planned"), ("open", "Planned"),
                         ("not started", "Planned")):
        if word in v:
            return result
    raise FieldError(f"expected Planned, In progress or Done, found {value!r}")


def survey_channel(value: str) -> str:
    """Online / Paper / Event / Phone."""
    v = norm_header(value)
    for word, result in (("online", "Online"), ("web", "Online"), ("email", "Online"), ("paper", "Paper"),
                         ("post", "Paper"), ("event", "Event"), ("face", "Event"), ("phone", "Phone"),
                         ("telephone", "Phone")):
        if word in v:
            return result
    if not v:
        return "Online"
    raise FieldError(f"expected Online, Paper, Event or Phone, found {value!r}")


AREA = Column("area", "area", ("lsoa", "lsoa code", "lsoa21cd", "lsoa11cd", "small area", "district", "locality",
                               "local authority", "icp", "icp area", "ccg", "area code"), str, required=True)
DEMOGRAPHICS = (
    Column("birth_year", "birth year", ("year of birth", "yob", "birthyear"), optional(birth_year)),
    Column("age", "age", ("age at joining", "age at response", "age band", "age group", "age range"), optional(age)),
    Column("sex", "sex", ("gender", "sex or gender"), sex),
    Column("ethnic_group", "ethnic group", ("ethnicity", "ethnic origin", "ethnic background"), ethnic_group),
    Column("disability", "disability", ("disabled", "long term condition or disability", "disability status"),
           disability),
)


@dataclass(frozen=True)
class Kind:
    """A kind of file the team imports."""

    name: str
    label: str
    model: type
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    event_date: str | None = None  # the field whose year turns an age into a birth year
    has_area: bool = False
    notes: list[str] = field(default_factory=list)
    updatable: tuple[str, ...] = ()  # fields a later export may change in a record already stored
    wide: bool = False  # one row per respondent, one column per question (survey exports)


KINDS: dict[str, Kind] = {
    "memberships": Kind(
        "memberships", "network memberships", m.NetworkMembership,
        (Column("member_ref", "member id", ("member ref", "member reference", "member", "id", "reference",
                                             "supporter id", "contact id"), text(64), required=True),
         Column("network", "network", ("network name", "group"), text(120), required=True),
         Column("joined_on", "joined", ("join date", "date joined", "joined on", "start date", "signed up"),
                date_in_range(), required=True),
         Column("left_on", "left", ("leave date", "date left", "left on", "end date", "unsubscribed"),
                optional(date_in_range())),
         Column("channel", "channel", ("recruitment channel", "source", "how joined", "how did you hear"),
                or_not_recorded(text(40))),
         AREA, *DEMOGRAPHICS),
        key=("network_id", "member_ref", "joined_on"), event_date="joined_on", has_area=True,
        updatable=("left_on",)),
    "responses": Kind(
        "responses", "survey responses", m.SurveyResponse,
        (Column("external_id", "response id", ("respondent id", "response number", "response ref", "response",
                                                "submission id", "id", "reference", "ref", "userno", "user no"),
                text(64), required=True),
         Column("submitted_at", "submitted", ("submitted at", "submitted on", "date submitted", "submission date",
                                              "completion time", "completed", "completed at", "end date", "ended",
                                              "end time", "response date", "timestamp", "date"),
                date_in_range(reader=parse_datetime), required=True),
         Column("channel", "channel", ("response channel", "collector", "collector name", "method",
                                       "response method", "how responded"), survey_channel),
         Column("area", "area", AREA.aliases, optional(str)),
         *DEMOGRAPHICS),
        key=("survey_id", "external_id"), event_date="submitted_at", has_area=True, wide=True),
    "panel": Kind(
        "panel", "panel members", m.PanelMember,
        (Column("member_ref", "member id", ("member ref", "panel id", "id", "reference", "panellist id"), text(64),
                required=True),
         Column("wave", "wave", ("recruitment wave", "cohort"), lambda v: parse_whole_number(v, 1, 100),
                required=True),
         Column("term_start", "term start", ("start date", "joined", "term start date"), date_in_range(1),
                required=True),
         Column("term_end", "term end", ("end date", "term end date", "term ends"), date_in_range(10),
                required=True),
         AREA, *DEMOGRAPHICS),
        key=("member_ref",), event_date="term_start", has_area=True, updatable=("term_end",)),
    "activities": Kind(
        "activities", "engagement activities", m.Activity,
        (Column("kind", "type", ("activity type", "kind", "format"), text(40), required=True),
         Column("title", "title", ("name", "activity", "event", "event name", "activity name"), text(200),
                required=True),
         Column("held_on", "date", ("held on", "event date", "activity date"), date_in_range(2), required=True),
         Column("area", "area", AREA.aliases, optional(str)),
         Column("attendance", "attendance", ("attendees", "people attending", "number attending"),
                optional(lambda v: parse_whole_number(v, 0, 1_000_000))),
         Column("survey", "survey", ("survey title", "linked survey"), optional(text(200))),
         Column("network", "network", ("network name",), optional(text(120)))),
        key=("title", "held_on"), updatable=("attendance",)),
    "actions": Kind(
        "actions", '"You said, we did" actions', m.Action,
        (Column("theme", "theme", ("topic", "category"), text(120), required=True),
         Column("you_said", "you said", ("what you said", "what people said", "feedback", "issue raised"),
                text(4000), required=True),
         Column("we_did", "we did", ("what we did", "action", "action taken", "response"), text(4000),
                required=True),
         Column("status", "status", ("progress",), status, required=True),
         Column("action_date", "date", ("action date", "date of action", "updated"), date_in_range(2),
                required=True),
         Column("survey", "survey", ("survey title", "linked survey"), optional(text(200)))),
        key=("theme", "you_said", "action_date"), updatable=("status", "we_did")),
}
