"""SQLModel table models: geography, reference population and engagement records.

People are pseudonymous: a member or respondent is a reference string chosen by the
source system, never a name, e-mail address, phone number or full postcode.
Demographics are stored as recorded at the time (birth year, not a current age).
"""


import datetime as dt
from typing import List, Optional

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

# --- The words used throughout -------------------------------------------------

AGE_BANDS = ["16-24", "25-34", "35-49", "50-64", "65+"]
SEXES = ["Female", "Male"]
ETHNIC_GROUPS = ["Asian", "Black", "Mixed", "White", "Other"]
DISABILITY = ["Disabled", "Not disabled"]
NOT_KNOWN = "Not known"
NOT_RECORDED = "Not recorded"  # a membership whose recruitment channel the file did not give
PREFER_NOT = "Prefer not to say"
CHANNELS_SURVEY = ["Online", "Paper", "Event", "Phone"]
CHANNELS_NETWORK = [
    "Event",
    "Roadshow",
    "Social media",
    "Email cascade",
    "GP practice",
    "Partner organisation",
]
QUESTION_TYPES = ["single", "multiple", "likert", "free_text"]
LIKERT_SCALE = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
]
ACTIVITY_KINDS = ["Event", "Focus group", "Roadshow", "Webinar", "Public meeting", "Campaign"]
ACTION_STATUSES = ["Planned", "In progress", "Done"]


# --- Settings ------------------------------------------------------------------


class Setting(SQLModel, table=True):
    """A key/value fact about the store, e.g. the geography edition loaded."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", sa_column_kwargs={"nullable": False})


# --- Geography -----------------------------------------------------------------


class IcpArea(SQLModel, table=True):
    """One of the four integrated care partnership (ICP) areas."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=80)
    short_name: str = Field(max_length=20)

    lsoas: List["Lsoa"] = Relationship(back_populates="icp")


class LocalAuthority(SQLModel, table=True):
    """A local authority district (Medway or one of the 12 Kent districts)."""

    code: str = Field(primary_key=True, max_length=9)
    name: str = Field(max_length=80)

    lsoas: List["Lsoa"] = Relationship(back_populates="local_authority")


class Lsoa(SQLModel, table=True):
    """A lower-layer super output area with its deprivation scores and population."""

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=80)
    lad_code: str = Field(foreign_key="localauthority.code", index=True, max_length=9)
    icp_id: int = Field(foreign_key="icparea.id", index=True)
    imd_score: Optional[float] = None
    imd_rank: int = Field(ge=1, description="National IMD rank, 1 = most deprived")
    imd_decile: int = Field(ge=1, le=10, index=True, description="National decile, 1 = most deprived 10%")
    income_decile: Optional[int] = Field(default=None, ge=1, le=10)
    employment_decile: Optional[int] = Field(default=None, ge=1, le=10)
    education_decile: Optional[int] = Field(default=None, ge=1, le=10)
    health_decile: Optional[int] = Field(default=None, ge=1, le=10)
    crime_decile: Optional[int] = Field(default=None, ge=1, le=10)
    barriers_decile: Optional[int] = Field(default=None, ge=1, le=10)
    living_environment_decile: Optional[int] = Field(default=None, ge=1, le=10)
    local_rank: Optional[int] = Field(default=None, description="IMD rank within Kent and Medway, 1 = most deprived")
    population: int = Field(default=0, ge=0)
    longitude: Optional[float] = None
    latitude: Optional[float] = None

    icp: Optional[IcpArea] = Relationship(back_populates="lsoas")
    local_authority: Optional[LocalAuthority] = Relationship(back_populates="lsoas")


class LsoaBoundary(SQLModel, table=True):
    """The outline of one LSOA as GeoJSON geometry text (simplified)."""

    lsoa_code: str = Field(primary_key=True, foreign_key="lsoa.code", max_length=12)
    geometry: str = Field(sa_column=Column(Text, nullable=False))


class IcpBoundary(SQLModel, table=True):
    """The outline of one ICP area as GeoJSON geometry text (for display only)."""

    icp_id: int = Field(primary_key=True, foreign_key="icparea.id")
    geometry: str = Field(sa_column=Column(Text, nullable=False))


class PopulationCount(SQLModel, table=True):
    """Residents of one LSOA in one demographic group (e.g. dimension "age_band", group_name "16-24")."""

    __table_args__ = (
        UniqueConstraint("lsoa_code", "dimension", "group_name"),
        Index("ix_population_dimension_group", "dimension", "group_name"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    lsoa_code: str = Field(foreign_key="lsoa.code", index=True, max_length=12)
    dimension: str = Field(max_length=20)
    group_name: str = Field(max_length=40)
    count: int = Field(ge=0)
    estimated: bool = Field(default=False, description="True where apportioned from a larger area")


# --- Imports ----------------------------------------------------------------------


class ImportLog(SQLModel, table=True):
    """One file loaded by the team: when, by whom, what it added; undone imports keep their entry."""

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    file_name: str = Field(max_length=255)
    file_hash: str = Field(max_length=64, index=True, description="SHA-256 of the file's bytes")
    imported_at: NaiveDatetime
    imported_by: str = Field(max_length=120)
    rows_added: int = 0
    rows_updated: int = 0
    rows_skipped: int = 0
    rows_rejected: int = 0
    columns_dropped: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    undone_at: Optional[NaiveDatetime] = None
    undone_by: Optional[str] = Field(default=None, max_length=120)


class ImportChange(SQLModel, table=True):
    """One value an import changed in a record that was already there (e.g. a leaving date), with the
    value before, so that undoing the import can put it back."""

    id: Optional[int] = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="importlog.id", index=True)
    table_name: str = Field(max_length=40)
    record_id: int
    field_name: str = Field(max_length=40)
    old_value: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True),
                                     description="JSON of the value before the import")
    new_value: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True),
                                     description="JSON of the value the import wrote")


class PostcodeArea(SQLModel, table=True):
    """A postcode lookup loaded by the team (e.g. from the ONS postcode directory): postcode -> small
    area. It lets a file's full postcodes find their area; the file's postcodes are never stored."""

    postcode: str = Field(primary_key=True, max_length=8, description="Upper case, no spaces")
    lsoa_code: str = Field(max_length=12, index=True)


# --- Engagement networks ---------------------------------------------------------


class Network(SQLModel, table=True):
    """An engagement network, e.g. the Patient Network or a local health network."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    kind: str = Field(max_length=40)
    icp_id: Optional[int] = Field(default=None, foreign_key="icparea.id")
    target_members: Optional[int] = Field(default=None, ge=0)
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id",
                                     description="The import that created it, if one did")

    memberships: List["NetworkMembership"] = Relationship(back_populates="network")


class NetworkMembership(SQLModel, table=True):
    """One person's membership of one network, with demographics as at joining."""

    __table_args__ = (
        UniqueConstraint("network_id", "member_ref", "joined_on"),
        Index("ix_membership_network_joined", "network_id", "joined_on"),
        Index("ix_membership_dates_area", "joined_on", "left_on", "network_id", "lsoa_code", "icp_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    network_id: int = Field(foreign_key="network.id")
    member_ref: str = Field(max_length=64, description="Pseudonymous reference")
    joined_on: dt.date = Field(index=True)
    left_on: Optional[dt.date] = Field(default=None, index=True)
    lsoa_code: Optional[str] = Field(default=None, foreign_key="lsoa.code", index=True, max_length=12)
    channel: str = Field(default=NOT_RECORDED, max_length=40)
    birth_year: Optional[int] = Field(default=None, ge=1900, le=2100)
    sex: str = Field(default=NOT_KNOWN, max_length=20)
    ethnic_group: str = Field(default=NOT_KNOWN, max_length=20)
    disability: str = Field(default=NOT_KNOWN, max_length=20)
    lad_code: Optional[str] = Field(default=None, foreign_key="localauthority.code", max_length=9,
                                    description="District, where only the district is known")
    icp_id: Optional[int] = Field(default=None, foreign_key="icparea.id",
                                  description="ICP area, where only the ICP area is known")
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id", index=True)

    network: Optional[Network] = Relationship(back_populates="memberships")


# --- Surveys ---------------------------------------------------------------------


class SurveyArea(SQLModel, table=True):
    """An ICP area a survey covers (a survey with none covers all of Kent and Medway)."""

    survey_id: int = Field(foreign_key="survey.id", primary_key=True)
    icp_id: int = Field(foreign_key="icparea.id", primary_key=True)


class Survey(SQLModel, table=True):
    """An engagement survey with its dates and response target."""

    id: Optional[int] = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    project: str = Field(default="", max_length=200)
    opens_on: dt.date
    closes_on: dt.date
    target_responses: Optional[int] = Field(default=None, ge=0)
    is_panel_survey: bool = False
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id",
                                     description="The import that created it, if one did")

    questions: List["Question"] = Relationship(back_populates="survey")
    responses: List["SurveyResponse"] = Relationship(back_populates="survey")


class Question(SQLModel, table=True):
    """A question of a survey: single choice, multiple choice, Likert scale or free text."""

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    position: int = Field(ge=1)
    text: str = Field(sa_column=Column(Text, nullable=False))
    qtype: str = Field(max_length=20)
    options: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id",
                                     description="The import that created it, if one did")

    survey: Optional[Survey] = Relationship(back_populates="questions")


class SurveyResponse(SQLModel, table=True):
    """One respondent's response to a survey, with demographics as at responding."""

    __table_args__ = (
        UniqueConstraint("survey_id", "external_id"),
        Index("ix_response_survey_submitted", "survey_id", "submitted_at"),
        Index("ix_response_survey_area", "survey_id", "lsoa_code", "icp_id"),
        Index("ix_response_survey_age", "survey_id", "birth_year", "submitted_at", "lsoa_code", "icp_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    external_id: str = Field(max_length=64, description="The survey tool's response id")
    submitted_at: NaiveDatetime = Field(index=True, description="Local (UK) time as recorded")
    channel: str = Field(max_length=20)
    lsoa_code: Optional[str] = Field(default=None, foreign_key="lsoa.code", index=True, max_length=12)
    birth_year: Optional[int] = Field(default=None, ge=1900, le=2100)
    sex: str = Field(default=NOT_KNOWN, max_length=20)
    ethnic_group: str = Field(default=NOT_KNOWN, max_length=20)
    disability: str = Field(default=NOT_KNOWN, max_length=20)
    lad_code: Optional[str] = Field(default=None, foreign_key="localauthority.code", max_length=9,
                                    description="District, where only the district is known")
    icp_id: Optional[int] = Field(default=None, foreign_key="icparea.id",
                                  description="ICP area, where only the ICP area is known")
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id", index=True)

    survey: Optional[Survey] = Relationship(back_populates="responses")


class Answer(SQLModel, table=True):
    """One answer value to one question (a multiple-choice answer has one row per option)."""

    __table_args__ = (Index("ix_answer_question_value", "question_id", "value"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="surveyresponse.id", index=True)
    question_id: int = Field(foreign_key="question.id")
    value: str = Field(sa_column=Column(Text, nullable=False))


# --- Citizens' panel -----------------------------------------------------------------


class PanelMember(SQLModel, table=True):
    """A citizens' panel member: recruitment wave, term and demographics as at joining."""

    id: Optional[int] = Field(default=None, primary_key=True)
    member_ref: str = Field(unique=True, max_length=64, description="Pseudonymous reference")
    wave: int = Field(ge=1, index=True)
    term_start: dt.date = Field(index=True)
    term_end: dt.date = Field(index=True)
    lsoa_code: Optional[str] = Field(default=None, foreign_key="lsoa.code", index=True, max_length=12)
    birth_year: Optional[int] = Field(default=None, ge=1900, le=2100)
    sex: str = Field(default=NOT_KNOWN, max_length=20)
    ethnic_group: str = Field(default=NOT_KNOWN, max_length=20)
    disability: str = Field(default=NOT_KNOWN, max_length=20)
    lad_code: Optional[str] = Field(default=None, foreign_key="localauthority.code", max_length=9,
                                    description="District, where only the district is known")
    icp_id: Optional[int] = Field(default=None, foreign_key="icparea.id",
                                  description="ICP area, where only the ICP area is known")
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id", index=True)


# --- Activities and "You said, we did" -----------------------------------------------


class Activity(SQLModel, table=True):
    """An engagement activity: event, focus group, roadshow, webinar or public meeting."""

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    held_on: dt.date = Field(index=True)
    icp_id: Optional[int] = Field(default=None, foreign_key="icparea.id")
    lsoa_code: Optional[str] = Field(default=None, foreign_key="lsoa.code", max_length=12)
    attendance: Optional[int] = Field(default=None, ge=0)
    survey_id: Optional[int] = Field(default=None, foreign_key="survey.id")
    network_id: Optional[int] = Field(default=None, foreign_key="network.id")
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id", index=True)


class Action(SQLModel, table=True):
    """A "You said, we did" record: what people raised and what was done about it."""

    id: Optional[int] = Field(default=None, primary_key=True)
    theme: str = Field(max_length=120)
    you_said: str = Field(sa_column=Column(Text, nullable=False))
    we_did: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=20)
    action_date: dt.date
    survey_id: Optional[int] = Field(default=None, foreign_key="survey.id")
    activity_id: Optional[int] = Field(default=None, foreign_key="activity.id")
    import_id: Optional[int] = Field(default=None, foreign_key="importlog.id", index=True)


# --- Editable lists and panel participation ---------------------------------------------


class Theme(SQLModel, table=True):
    """A theme the team codes free-text answers by, with the words that signal it (editable data)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=80)
    keywords: str = Field(default="", sa_column=Column(Text, nullable=False, default=""),
                          description="Comma-separated words or phrases; an answer containing any has the theme")


class Measure(SQLModel, table=True):
    """A time-series measure charted with statistical process control, and which way is better."""

    key: str = Field(primary_key=True, max_length=40)
    label: str = Field(max_length=120)
    improvement: str = Field(default="increase", max_length=10, description="increase, decrease or neither")
    target: Optional[float] = None


class PanelInvitation(SQLModel, table=True):
    """A panel member invited to a panel survey, and whether they responded."""

    __table_args__ = (UniqueConstraint("survey_id", "panel_member_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    panel_member_id: int = Field(foreign_key="panelmember.id", index=True)
    invited_on: dt.date
    responded: bool = False


class ColumnMapping(SQLModel, table=True):
    """A saved mapping of a survey tool's export columns to the store's fields and questions."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=120)
    survey_id: int = Field(foreign_key="survey.id")
    mapping: str = Field(sa_column=Column(Text, nullable=False), description="JSON: column header -> field")


# Engagement records, children before parents (the order to delete them in). Themes and measures
# are settings the team keeps, so they are not among them.
ENGAGEMENT_TABLES = [
    ImportChange, ColumnMapping, PanelInvitation, NetworkMembership, Answer, SurveyResponse, SurveyArea, Question, Action, Activity,
    Survey, Network, PanelMember, ImportLog,
]



# --- Summaries: counts kept with the records (data_access.summaries) -----------------------------------------
# Written from the records in the same transaction as every import, undo, demo load and reference import, so the
# pages read thousands of rows instead of millions. The records stay the source of truth. icp_key is the ICP area a
# person counts in for the area filter, as data_access.filters.in_icp counts them: their small area's (None where
# the code is not a loaded small area), or their own where no small area is recorded.


class SummaryResponseDay(SQLModel, table=True):
    """Responses to a survey per day, channel and ICP area (icp_key)."""

    __table_args__ = (Index("ix_summaryresponseday_survey", "survey_id", "icp_key", "day"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int
    day: dt.date
    channel: str = Field(max_length=20)
    icp_key: Optional[int] = None
    n: int


class SummaryRespondentCell(SQLModel, table=True):
    """Respondents to a survey per demographic cell (age band as at responding, sex, ethnic group, disability) and
    place (their small area's IMD decile, ICP area and district where it is a loaded one; placed says it is)."""

    __table_args__ = (Index("ix_summaryrespondentcell_survey", "survey_id", "icp_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int
    age_band: str = Field(max_length=20)
    sex: str = Field(max_length=20)
    ethnic_group: str = Field(max_length=20)
    disability: str = Field(max_length=20)
    imd_decile: Optional[int] = None
    lsoa_icp: Optional[int] = None
    lad_code: Optional[str] = Field(default=None, max_length=9)
    placed: bool
    own_icp: Optional[int] = None
    icp_key: Optional[int] = None
    n: int


class SummaryQuestionValue(SQLModel, table=True):
    """Every value given in answer to a (not free-text) question, with its bit in SummaryChoiceCell.options (bit -1
    for every value of a question with more values than a mask holds: its cells are counted from the records)."""

    __table_args__ = (Index("ix_summaryquestionvalue_question", "question_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(index=True)
    question_id: int
    value: str = Field(sa_column=Column(Text, nullable=False))
    bit: int = Field(sa_column=Column(BigInteger, nullable=False))


class SummaryChoiceCell(SQLModel, table=True):
    """Respondents answering a (not free-text) question per set of values chosen (options: the sum of their
    SummaryQuestionValue bits), ICP area (icp_key) and cell: age band as at responding, sex, ethnic group,
    disability, small area's IMD quintile and ICP area (lsoa_icp) - answers.question_cells is a GROUP BY over it."""

    __table_args__ = (Index("ix_summarychoicecell_question", "question_id", "icp_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(index=True)
    question_id: int
    options: int = Field(sa_column=Column(BigInteger, nullable=False))
    age_band: str = Field(max_length=20)
    sex: str = Field(max_length=20)
    ethnic_group: str = Field(max_length=20)
    disability: str = Field(max_length=20)
    imd_quintile: str = Field(max_length=20)
    lsoa_icp: Optional[int] = None
    icp_key: Optional[int] = None
    n: int


class SummaryFreeTextCell(SQLModel, table=True):
    """Answers to a free-text question per ICP area (icp_key) and set of themes mentioned (themes: a bit per theme
    in answers.themes() order, as the theme list was at the refresh: the 'summary_themes' setting)."""

    __table_args__ = (Index("ix_summaryfreetextcell_question", "question_id", "icp_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: int = Field(index=True)
    question_id: int
    themes: int = Field(sa_column=Column(BigInteger, nullable=False))
    icp_key: Optional[int] = None
    n: int


SUMMARY_TABLES = [SummaryResponseDay, SummaryRespondentCell, SummaryQuestionValue, SummaryChoiceCell,
                  SummaryFreeTextCell]  # of surveys (each has survey_id)


class SummaryMembershipCell(SQLModel, table=True):
    """Network memberships per network, channel, ICP area (icp_key), month joined, month left (None while a member)
    and whether still a member 6 and 12 months after joining (0 or 1, as network_release.cohort_cells says)."""

    __table_args__ = (Index("ix_summarymembershipcell_network", "network_id", "icp_key", "joined_month"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    network_id: int
    channel: str = Field(max_length=40)
    icp_key: Optional[int] = None
    joined_month: dt.date
    left_month: Optional[dt.date] = None
    still_6: int
    still_12: int
    n: int


MEMBER_SUMMARY_TABLES = [SummaryMembershipCell]
