"""What goes in the board pack: the headline figures with their definitions, the key messages, the reach
gaps and the charts, each with its sentence, data source and period. Built from data_access and charts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from charts.overview import (
    Headline, READING_EASE_TARGET, core20_chart, day, gap_sentence, gaps_chart, headline_figures, key_messages,
    overview_verdicts, panel_match_chart, reading_ease, spc_chart, tracking_chart,
)
from charts.theme import Chart
from data_access.areas import ICP_CAVEAT
from data_access.cached import QueryContext
from data_access.definitions import CENSUS, IMD, NETWORK_RECORDS, PANEL_RECORDS, RESPONSE_RECORDS
from data_access.disclosure import describe
from data_access.filters import Filters
from data_access.geography import geography_status
from data_access.overview import overview
from data_access.reach_gaps import PAGE_TITLES, reach_gaps


@dataclass
class Section:
    """One chart of the pack: its title, the chart (figure, sentence, data), data source and period."""

    title: str
    chart: Chart
    source: str
    period: str


@dataclass
class Gap:
    """One reach gap: its sentence and the dashboard page that explains it."""

    sentence: str
    page: str


@dataclass
class Pack:
    """Everything in the board pack for one area and period."""

    filters: Filters
    title: str
    subtitle: str
    made_on: dt.date
    headlines: list[Headline]
    messages: list[str]
    reading_ease: float
    gaps: list[Gap]
    sections: list[Section]
    rule: str
    notes: list[str] = field(default_factory=list)

    @property
    def file_stem(self) -> str:
        """A file name for the pack: board-pack-east-kent-2025-04-01-to-2026-03-31."""
        area = self.filters.area_label.lower().replace(" ", "-").replace(",", "")
        return f"board-pack-{area}-{self.filters.start:%Y-%m-%d}-to-{self.filters.end:%Y-%m-%d}"


def data_notes(status: dict) -> list[str]:
    """Standing notes: demo or synthetic data, and the best-fit ICP areas."""
    notes = []
    if status.get("synthetic"):
        notes.append("Demo data on a synthetic geography: every figure in this pack is made up for demonstration.")
    elif status.get("demo"):
        notes.append("Demo engagement data: the small areas and deprivation figures are real, but the members, "
                     "responses and panel members are made up for demonstration.")
    notes.append(ICP_CAVEAT)
    return notes


def pack_content(source: Connection | QueryContext, filters: Filters, today: dt.date | None = None) -> Pack:
    """The board pack's content for the filtered area and period, asked through a query context (the pages'
    cache), or on an open connection."""
    run = source if isinstance(source, QueryContext) else QueryContext.on(source, filters)
    ov = run.query(overview, filters)
    gaps = run.query(reach_gaps, filters)
    verdicts = overview_verdicts(ov)
    messages = key_messages(ov, gaps)
    period = f"{day(filters.start)} to {day(filters.end)}"
    as_at = f"on {day(filters.end)}"
    spc_period = (f"the {len(ov.network_months)} complete months to {day(filters.end)}"
                  if len(ov.network_months) else f"to {day(filters.end)}")
    a = filters.area_label
    sections = [
        Section("Network members: change each month",
                spc_chart(verdicts["members"], f"Net change in network members each month ({a})",
                          "Net change in members", "people joining or leaving"),
                NETWORK_RECORDS, spc_period),
        Section("Survey responses each month",
                spc_chart(verdicts["responses"], f"Survey responses each month ({a})", "Responses",
                          "responses"),
                RESPONSE_RECORDS, spc_period),
        Section("Open surveys against target", tracking_chart(ov.tracking, filters),
                "survey records and their response targets", f"surveys open {as_at}"),
        Section("Reach gaps to act on", gaps_chart(gaps, filters),
                f"{NETWORK_RECORDS}, {RESPONSE_RECORDS}, {PANEL_RECORDS}, the {IMD} and {CENSUS}",
                f"members and panel {as_at}; responses {period}"),
        Section("Reaching the most deprived areas (Core20)", core20_chart(ov.core20, filters),
                f"{RESPONSE_RECORDS}, {NETWORK_RECORDS}, {PANEL_RECORDS}, the {IMD} and {CENSUS}",
                f"responses {period}; members and panel {as_at}"),
        Section("Does the citizens' panel match residents?",
                panel_match_chart(ov.panel_match, ov.headlines.panel_members, filters),
                f"{PANEL_RECORDS} and {CENSUS}", f"panel {as_at}"),
    ]
    return Pack(
        filters=filters,
        title=f"Patient and public engagement: {a}",
        subtitle=f"Board pack for {period}",
        made_on=today or dt.date.today(),
        headlines=headline_figures(ov, verdicts),
        messages=messages,
        reading_ease=reading_ease(" ".join(messages)),
        gaps=[Gap(gap_sentence(g, filters), PAGE_TITLES[g.page]) for g in gaps.itertuples()],
        sections=sections,
        rule=describe(),
        notes=data_notes(run.query(geography_status)),
    )


READING_TARGET_WORDS = (f"Key messages are checked for plain English: a Flesch reading ease of "
                        f"{READING_EASE_TARGET:.0f} or more (a reading age of about 9 to 11).")
