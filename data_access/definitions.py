"""One-line definitions of every headline number, in one place: what is counted, over what period, from
which source. The overview shows them on hover and the board pack beside each number, word for word."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.disclosure import threshold


@dataclass(frozen=True)
class Definition:
    """A headline number's label, its one-line definition and where its data comes from."""

    label: str
    text: str
    source: str


NETWORK_RECORDS = "network membership records"
RESPONSE_RECORDS = "survey response records"
PANEL_RECORDS = "citizens' panel membership records"
IMD = "English Indices of Deprivation"
CENSUS = "Census 2021"

DEFINITIONS: dict[str, Definition] = {
    "members": Definition(
        "Network members",
        "People in any engagement network on the last day of the period, living in the chosen area "
        "(someone in two networks counts twice).", NETWORK_RECORDS),
    "growth_12m": Definition(
        "12-month growth",
        "Network members on the last day of the period minus members on the same day a year earlier.",
        NETWORK_RECORDS),
    "members_verdict": Definition(
        "Network verdict",
        "Making Data Count verdict on the net change in members each month (joiners minus leavers), "
        "over the 24 complete months to the end of the period.", NETWORK_RECORDS),
    "responses": Definition(
        "Survey responses",
        "Responses to any survey sent in during the period by people living in the chosen area.",
        RESPONSE_RECORDS),
    "responses_quarter": Definition(
        "Responses in the last 3 months",
        "Survey responses sent in during the 3 months to the end of the period by people living in the "
        "chosen area.", RESPONSE_RECORDS),
    "responses_verdict": Definition(
        "Responses verdict",
        "Making Data Count verdict on the survey responses each month, over the 24 complete months to the "
        "end of the period.", RESPONSE_RECORDS),
    "open_surveys": Definition(
        "Open surveys",
        "Surveys open on the last day of the period that cover the chosen area. On track means the responses "
        "so far are at least the even share of the target due by that day; with an ICP area chosen, the target is "
        "that area's share of the survey's target by population.", "survey records and their targets"),
    "panel_members": Definition(
        "Citizens' panel",
        "Panel members whose term had started and not ended on the last day of the period, living in the "
        "chosen area, against the target (2,000 for Kent and Medway; an area's share of it by population).",
        PANEL_RECORDS),
    "dissimilarity": Definition(
        "Panel mismatch",
        "Dissimilarity index: the share of panel members who would have to be in a different group for the "
        "panel to match residents (0% is a perfect match), averaged over age, sex, ethnic group, disability, "
        "area and deprivation, on the last day of the period.", f"{PANEL_RECORDS} and {CENSUS}"),
    "core20_share": Definition(
        "Core20 respondents",
        "The share of survey respondents in the period, whose home area is known, who live in the most "
        "deprived 20% of areas in England (Core20: IMD deciles 1 and 2).", f"{RESPONSE_RECORDS} and the {IMD}"),
    "core20_ratio": Definition(
        "Core20 reach ratio",
        "The Core20 share of respondents in the period divided by the Core20 share of residents: 1.00 is a "
        "fair share, below 1.00 is less than a fair share.", f"{RESPONSE_RECORDS}, the {IMD} and {CENSUS}"),
    "open_actions": Definition(
        "Open actions",
        "'You said, we did' actions still planned or in progress, from surveys that cover the chosen area, "
        "as recorded today.", "the 'You said, we did' action log"),
}


def definition(key: str) -> Definition:
    """The definition of a headline number by its key (see DEFINITIONS)."""
    return DEFINITIONS[key]


def help_text(key: str) -> str:
    """The definition with its source, as one line for a hover or a table."""
    d = DEFINITIONS[key]
    return f"{d.text} Source: {d.source}."


def small_number_rule() -> str:
    """The small-number rule in one sentence, with the threshold in force."""
    n = threshold()
    return (f"To protect privacy, counts of 1 to {n - 1} people are shown as 'fewer than {n}', and so is any "
            "share or ratio worked out from them." if n > 1 else
            "No counts are hidden: the small-number threshold is switched off.")
