"""The overview in words and charts: Making Data Count verdicts of the headline series, the reach-gap
sentences, the key messages (checked for readability), and the charts of the board pack.

Pure functions: the figures computed by data_access.overview and data_access.reach_gaps in, plotly figures
and plain-English sentences out. Every count of people goes through disclosure.format_count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from charts.spc import COLOURS, SpcResult, spc, variation_words, xmr_chart
from charts.theme import (NHS_BLUE, NHS_DARK_GREY, NHS_DARK_PINK, NHS_GREEN, NHS_PALE_GREY, Chart, hidden_words, pct,
                          plain_label, style)
from data_access.disclosure import format_count, is_small, round_count
from data_access.disclosure import share as published_share

# Public NHS information is written for a reading age of about 9 to 11: a Flesch reading ease of 60 or more
# ("plain English"; 60-70 is read easily by 13 to 15 year olds, higher is easier still).
READING_EASE_TARGET = 60.0

KIND_WORDS = {"members": "network members", "respondents": "survey respondents", "panel": "citizens' panel members"}
KNOWN_WORDS = {"age_band": "age", "sex": "sex", "ethnic_group": "ethnic group", "disability": "disability status",
               "imd_quintile": "home area", "core20": "home area"}
QUINTILE_WORDS = {"1 (most deprived)": "the most deprived fifth of areas",
                  "2": "the second most deprived fifth of areas", "3": "the middle fifth of areas by deprivation",
                  "4": "the second least deprived fifth of areas", "5 (least deprived)": "the least deprived fifth of areas"}


def day(d) -> str:
    """A date in words: 31 March 2026."""
    return f"{d:%-d %B %Y}"


HIDDEN_TO_PROTECT = "not shown"


def n_people(value) -> str:
    """A count of people for a sentence, hidden where small ('fewer than 5', '*' under the HES rule)."""
    return format_count(value)


def n_members(value) -> str:
    """Network members for a tile: as n_people, or 'not shown' where hidden so that a small number elsewhere cannot
    be worked out (None: see data_access.overview.member_counts)."""
    return HIDDEN_TO_PROTECT if value is None else n_people(value)


def growth_hidden(h) -> bool:
    """True where the 12-month change in network members cannot be shown (either count hidden or small)."""
    return any(v is None or pd.isna(v) or is_small(v) for v in (h.members, h.members_year_before))


def growth(h) -> int:
    """The 12-month change in network members as published: worked out from the published (rounded) counts."""
    return round_count(h.members) - round_count(h.members_year_before)


def core20_published(h) -> tuple[float | None, float | None]:
    """(Core20 share of respondents, reach ratio) worked out from the published counts; None where hidden."""
    share = published_share(h.core20_respondents, h.respondents_with_area)
    if share is None:
        return None, None
    return share, (share / h.core20_share_residents if h.core20_share_residents else None)


# --- Reading ease ------------------------------------------------------------------------------------

def reading_ease(text: str) -> float:
    """The Flesch reading ease of a text (higher is easier; 60 or more is plain English)."""
    import textstat

    return float(textstat.flesch_reading_ease(text))


# --- Making Data Count verdicts ------------------------------------------------------------------------

@dataclass
class Verdict:
    """A series' Making Data Count verdict: the SPC result, an icon, the words and a colour."""

    result: SpcResult
    icon: str
    words: str
    colour: str
    hidden: bool = False
    series: str = ""  # what the verdict is about, e.g. "net change in members each month"

    @property
    def label(self) -> str:
        """The icon and the words together, with the series they are about."""
        return f"{self.icon} {self.words}" + (f" ({self.series})" if self.series else "")


def series_has_small_counts(frame: pd.DataFrame, columns: list[str]) -> bool:
    """True when any value in the columns is hidden (missing) or a count of 1 to threshold-1 people."""
    return any(frame[c].map(lambda v: v is None or pd.isna(v) or is_small(v)).any() for c in columns if c in frame)


def verdict(series: pd.DataFrame, value: str, improvement: str = "increase", target: float | None = None,
            count_columns: list[str] | None = None, about: str = "") -> Verdict:
    """The Making Data Count verdict of a monthly series (columns month and `value`); `hidden` is set when a
    month holds a count of 1 to threshold-1 people (the verdict is shown, the numbers are not)."""
    result = spc(series[value], x=series["month"], improvement=improvement, target=target)
    icon, words = variation_words(result)
    hidden = series_has_small_counts(series, count_columns or [value])
    return Verdict(result, icon, words, COLOURS.get(result.variation, NHS_DARK_GREY), hidden, about)


def overview_verdicts(ov) -> dict[str, Verdict]:
    """Verdicts of the network's monthly net change and of the survey responses each month."""
    members, responses = ov.measures.get("members", {}), ov.measures.get("responses", {})
    return {
        # The members tile shows a size; its verdict is on the monthly net change, and says so.
        "members": verdict(ov.network_months, "net", members.get("improvement", "increase"),
                           members.get("target"), ["joiners", "leavers"], "net change in members each month"),
        "responses": verdict(ov.response_months, "responses", responses.get("improvement", "increase"),
                             responses.get("target"), ["responses", "published"], about="survey responses each month"),
    }


def spc_chart(v: Verdict, label: str, y_title: str, unit_words: str) -> Chart:
    """The XmR chart of a verdict, or, where a month holds a hidden count, the verdict alone in words."""
    if v.hidden:
        return Chart(None, f"{label}: {v.words.lower()}. The monthly chart is not shown because some months "
                           f"have {hidden_words()} {unit_words}.", pd.DataFrame())
    return xmr_chart(v.result, label, y_title)


# --- Reach gaps ---------------------------------------------------------------------------------------

def group_words(dimension: str, group: str) -> str:
    """A group as the subject of a sentence: 'People aged 16 to 24', 'Women', 'Disabled people'."""
    if dimension == "age_band":
        return "People aged 65 and over" if group == "65+" else f"People aged {group.replace('-', ' to ')}"
    if dimension == "sex":
        return {"Female": "Women", "Male": "Men"}.get(group, group)
    if dimension == "ethnic_group":
        return f"People from {'other' if group == 'Other' else group.lower() if group == 'Mixed' else group} " \
               "ethnic groups"
    if dimension == "disability":
        return {"Disabled": "Disabled people", "Not disabled": "People who are not disabled"}.get(group, group)
    if dimension == "imd_quintile":
        return f"People living in {QUINTILE_WORDS.get(group, f'IMD quintile {group}')}"
    return group


def _hidden_of(gap) -> str:
    """A hidden count in a gap sentence: 'fewer than 5' where small, else a number not shown (hidden so that a
    small one cannot be worked out)."""
    return hidden_words() if getattr(gap, "small", True) is not False else "a number (not shown)"


def gap_sentence(gap, filters) -> str:
    """One reach gap as a plain sentence with its numbers and their base (gap: a row of reach_gaps)."""
    kind = KIND_WORDS[gap.kind]
    when = (f"from {day(filters.start)} to {day(filters.end)}" if gap.kind == "respondents"
            else f"on {day(filters.end)}")
    known = KNOWN_WORDS[gap.dimension]
    if gap.dimension == "core20":
        lead = (f"In {gap.area}, {pct(gap.resident_share)} of residents live in the most deprived 20% of areas in "
                "England (Core20), but")
        if gap.hidden:
            return (f"{lead} {_hidden_of(gap)} of the {n_people(gap.base)} {kind} there whose {known} is known "
                    f"do ({when}).")
        return (f"{lead} only {pct(gap.share)} of {kind} there do ({n_people(gap.count)} of {n_people(gap.base)} "
                f"whose {known} is known, {when}).")
    residents = "residents aged 16 and over" if gap.adults else "residents"
    lead = f"{group_words(gap.dimension, gap.group)} are {pct(gap.resident_share)} of {residents} in {gap.area} but"
    if gap.hidden:
        return f"{lead} {_hidden_of(gap)} of the {n_people(gap.base)} {kind} whose {known} is known ({when})."
    return (f"{lead} {pct(gap.share)} of {kind} ({n_people(gap.count)} of {n_people(gap.base)} whose {known} is "
            f"known, {when}).")


def gaps_chart(gaps: pd.DataFrame, filters) -> Chart:
    """The biggest reach gaps: residents' share beside the engaged share of each group."""
    if gaps.empty:
        return Chart(None, f"No clear reach gaps were found in {filters.area_label}: every group's share is "
                           "close to its share of residents, or there are too few people to tell.", pd.DataFrame())
    labels, rows = [], []
    for g in gaps.itertuples():
        who = "Core20 areas" if g.dimension == "core20" else group_words(g.dimension, g.group)
        where = f" ({g.area})" if g.dimension == "core20" else ""
        label = f"{who}{where}: {KIND_WORDS[g.kind]}"
        labels.append(label)
        rows.append({"Gap": label, "Residents' share (%)": round(g.resident_share * 100, 1),
                     "Engaged share (%)": None if g.hidden else round(g.share * 100, 1),
                     "Engaged (count)": n_people(g.count) if not g.hidden else (
                         "not shown" if getattr(g, "small", True) is False else n_people(None)),
                     "Base (group known)": n_people(g.base),
                     "Shortfall (points)": None if g.hidden else round(g.shortfall_pp, 1)})
    data = pd.DataFrame(rows)
    y = [plain_label(lab).replace(": ", ":<br>") for lab in labels][::-1]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=y, x=data["Residents' share (%)"][::-1], orientation="h", name="Residents",
                         marker=dict(color=NHS_PALE_GREY, line=dict(color=NHS_DARK_GREY, width=1.5)),
                         text=[f"{v:.0f}%" for v in data["Residents' share (%)"][::-1]], textposition="outside",
                         hovertemplate="Residents: %{x:.1f}%<extra></extra>"))
    engaged = data["Engaged share (%)"][::-1]
    fig.add_trace(go.Bar(y=y, x=engaged.fillna(0), orientation="h", name="People we reached",
                         marker=dict(color=NHS_BLUE),
                         text=["hidden" if pd.isna(v) else f"{v:.0f}%" for v in engaged], textposition="outside",
                         hovertemplate="People we reached: %{x:.1f}%<extra></extra>"))
    style(fig, height=150 + 95 * len(gaps))
    fig.update_layout(barmode="group", margin=dict(l=10, r=60, t=20, b=10))
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(title_text="Share (%)", ticksuffix="%", rangemode="tozero")
    first = gap_sentence(next(gaps.itertuples()), filters)
    sentence = f"The biggest: {first[0].lower()}{first[1:]}"
    return Chart(fig, f"The {len(gaps)} biggest reach gaps, ranked by how far the group's share falls short of its "
                      f"share of residents. {sentence}", data)


# --- Open surveys, Core20 and the panel match ------------------------------------------------------------

def tracking_sentence(tracking: pd.DataFrame, filters) -> str:
    """Open surveys on and behind track, in words."""
    n = len(tracking)
    if n == 0:
        return f"No surveys covering {filters.area_label} were open on {day(filters.end)}."
    on = int(tracking["status"].isin(["on track", "target met"]).sum())
    behind = int((tracking["status"] == "behind").sum())
    none = int((tracking["status"] == "no target").sum())
    text = (f"{n} survey{'s were' if n != 1 else ' was'} open on {day(filters.end)}: {on} on track or with the "
            f"target met and {behind} behind.")
    if none:
        text += f" {none} had no target."
    return text


def tracking_chart(tracking: pd.DataFrame, filters) -> Chart:
    """Each open survey's responses so far against the number needed by now and its target."""
    sentence = tracking_sentence(tracking, filters)
    if tracking.empty:
        return Chart(None, sentence, pd.DataFrame())
    data = pd.DataFrame({
        "Survey": tracking["title"], "Closes": [day(d) for d in tracking["closes_on"]],
        "Responses so far": [n_members(v) for v in tracking["responses"]],  # None: hidden to protect another
        "Needed by now": [("" if pd.isna(v) else f"{int(v):,}") for v in tracking["expected"]],
        "Target": [("" if pd.isna(v) else f"{int(v):,}") for v in tracking["target"]],
        "Status": tracking["status"].str.capitalize()})
    shown = tracking["responses"].map(lambda v: None if is_small(v) else v)
    fig = go.Figure()
    titles = [plain_label(t) for t in tracking["title"]]
    fig.add_trace(go.Bar(y=titles, x=shown, orientation="h", name="Responses so far",
                         marker=dict(color=NHS_BLUE), text=[n_members(v) for v in tracking["responses"]],
                         textposition="outside"))
    fig.add_trace(go.Scatter(y=titles, x=tracking["expected"], mode="markers", name="Needed by now",
                             marker=dict(symbol="line-ns", size=30, line=dict(width=4, color=NHS_DARK_PINK))))
    fig.add_trace(go.Scatter(y=titles, x=tracking["target"], mode="markers", name="Target",
                             marker=dict(symbol="diamond", size=16, color=NHS_GREEN,
                                         line=dict(color="#212B32", width=1))))
    style(fig, height=200 + 80 * len(tracking))
    fig.update_xaxes(title_text="Responses", rangemode="tozero")
    fig.update_yaxes(automargin=True)
    details = " ".join(f"{t}: {s}" for t, s in zip(tracking["title"], tracking["sentence"]))
    return Chart(fig, f"{sentence} {details}", data)


def core20_row(core20: pd.DataFrame, filters) -> pd.Series | None:
    """The row of data_access.reach.core20_reach for the whole filtered area."""
    whole = filters.icp or "Kent and Medway"
    rows = core20[core20["area"] == whole]
    return rows.iloc[0] if len(rows) else None


def core20_chart(core20: pd.DataFrame, filters) -> Chart:
    """The Core20 share of residents beside the Core20 share of each kind of engaged person."""
    row = core20_row(core20, filters)
    if row is None or pd.isna(row["core20_share"]):
        return Chart(None, f"There is no deprivation data for {filters.area_label}.", pd.DataFrame())
    names = ["Residents", "Network members", "Survey respondents", "Citizens' panel"]
    kinds = [None, "members", "respondents", "panel"]
    shares = [row["core20_share"]] + [row[f"{k}_core20_share"] for k in kinds[1:]]
    counts = [row["core20_population"]] + [row[f"{k}_core20"] for k in kinds[1:]]
    bases = [row["population"]] + [row[k] for k in kinds[1:]]
    data = pd.DataFrame({"Who": names, "In Core20 areas": [f"{int(counts[0]):,}"] + [n_people(c) for c in counts[1:]],
                         "Base (home area known)": [f"{int(bases[0]):,}"] + [n_people(b) for b in bases[1:]],
                         "Share (%)": [None if pd.isna(s) else round(s * 100, 1) for s in shares],
                         "Reach ratio": [None] + [None if pd.isna(row[f"{k}_ratio"]) else round(row[f"{k}_ratio"], 2)
                                                  for k in kinds[1:]]})
    fig = go.Figure(go.Bar(x=names, y=[None if pd.isna(s) else s * 100 for s in shares],
                           marker=dict(color=[NHS_PALE_GREY, NHS_BLUE, NHS_BLUE, NHS_BLUE],
                                       line=dict(color=NHS_DARK_GREY, width=1.5)),
                           text=["hidden" if pd.isna(s) else f"{s * 100:.0f}%" for s in shares],
                           textposition="outside", hovertemplate="%{x}: %{y:.1f}%<extra></extra>"))
    style(fig, height=460)
    fig.update_yaxes(title_text="Share living in Core20 areas (%)", ticksuffix="%", rangemode="tozero",
                     automargin=True)
    fig.update_xaxes(automargin=True)
    ratio = row["respondents_ratio"]
    sentence = (f"{pct(row['core20_share'])} of residents of {filters.area_label} live in the most deprived 20% of "
                f"areas in England (Core20).")
    if pd.notna(row["respondents_core20_share"]):
        sentence += (f" {pct(row['respondents_core20_share'])} of survey respondents from {day(filters.start)} to "
                     f"{day(filters.end)} did ({n_people(row['respondents_core20'])} of "
                     f"{n_people(row['respondents'])} whose home area is known): a reach ratio of {ratio:.2f}, "
                     "where 1.00 is a fair share.")
    else:
        sentence += " The respondents' share is hidden or not known: too few people."
    for k, name in (("members", "network members"), ("panel", "citizens' panel members")):
        if pd.notna(row[f"{k}_core20_share"]):
            sentence += f" For {name} on {day(filters.end)} it was {pct(row[f'{k}_core20_share'])}."
    return Chart(fig, sentence, data)


def panel_match_chart(match: pd.DataFrame, panel_members: int, filters) -> Chart:
    """The panel's dissimilarity index for each dimension (the share who would need to be in another group)."""
    if panel_members == 0 or is_small(panel_members) or match["index"].isna().all():
        return Chart(None, f"There are too few citizens' panel members in {filters.area_label} on "
                           f"{day(filters.end)} to compare with residents.", pd.DataFrame())
    data = pd.DataFrame({"Dimension": match["label"], "Members with the group known": [n_people(v) for v in match["members"]],
                         "Dissimilarity index (%)": (match["index"] * 100).round(1)})
    fig = go.Figure(go.Bar(y=match["label"][::-1], x=(match["index"] * 100)[::-1], orientation="h",
                           marker=dict(color=NHS_BLUE), text=[f"{v * 100:.0f}%" for v in match["index"][::-1]],
                           textposition="outside", hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    style(fig, height=420)
    fig.update_xaxes(title_text="Members who would need to be in another group (%)", ticksuffix="%",
                     rangemode="tozero")
    fig.update_yaxes(automargin=True)
    worst = match.loc[match["index"].idxmax()]
    mean = float(match["index"].mean())
    return Chart(fig, f"On average, {pct(mean)} of the {n_people(panel_members)} citizens' panel members in "
                      f"{filters.area_label} on {day(filters.end)} would need to be in a different group for the panel "
                      f"to match residents. The biggest mismatch is by {worst['label'].lower()}: "
                      f"{pct(worst['index'])}.", data)


# --- Key messages ---------------------------------------------------------------------------------------

def _more_or_fewer(change: int) -> str:
    if change > 0:
        return f"{change:,} more than"
    if change < 0:
        return f"{-change:,} fewer than"
    return "the same as"


def key_messages(ov, gaps: pd.DataFrame) -> list[str]:
    """The overview's key messages: short plain sentences, each number with its base, small counts hidden."""
    f, h = ov.filters, ov.headlines
    end = day(f.end)
    msgs = []
    members = n_people(h.members)
    if h.members is None:
        msgs.append(f"On {end}, the number of members of our networks in {f.area_label} is not shown, so that a "
                    "small number elsewhere cannot be worked out from it.")
    elif growth_hidden(h):
        msgs.append(f"On {end}, our networks in {f.area_label} had {members} members.")
    else:
        msgs.append(f"On {end}, our networks in {f.area_label} had {members} members. That is "
                    f"{_more_or_fewer(growth(h))} a year before ({n_people(h.members_year_before)}).")
    msgs.append(f"We had {n_people(h.responses)} survey responses from {day(f.start)} to {end}. "
                f"Of these, {n_people(ov.responses_quarter)} came in the last 3 months.")
    n_open = len(ov.tracking)
    if n_open:
        msgs.append(f"{n_open} survey{'s were' if n_open != 1 else ' was'} open on {end}. "
                    f"{ov.surveys_on_track} {'were' if ov.surveys_on_track != 1 else 'was'} on track "
                    f"and {ov.surveys_behind} {'were' if ov.surveys_behind != 1 else 'was'} behind.")
    else:
        msgs.append(f"No surveys were open on {end}.")
    target = h.panel_target
    msgs.append(f"The citizens' panel had {n_people(h.panel_members)} members. The target is {target:,}.")
    if ov.dissimilarity is not None and not is_small(h.panel_members) and h.panel_members:
        per_100 = round(ov.dissimilarity * 100)
        msgs.append(f"To match the people who live here, {per_100} in every 100 panel members would need to be "
                    "from a different group.")
    core_share, ratio = core20_published(h)
    if ratio is not None:
        msgs.append(f"{pct(h.core20_share_residents)} of people here live in the poorest areas of England. "
                    f"But only {pct(core_share)} of the people who gave their area in a survey "
                    f"live there ({n_people(h.core20_respondents)} of {n_people(h.respondents_with_area)}).")
    n_actions = len(ov.open_actions)
    if n_actions:
        msgs.append(f"{n_actions} thing{'s' if n_actions != 1 else ''} people told us in surveys "
                    f"{'are' if n_actions != 1 else 'is'} still being worked on.")
    else:
        msgs.append("Every action we promised after a survey has been done.")
    if len(gaps):
        g = next(gaps.itertuples())
        who = "people in the poorest areas" if g.dimension == "core20" else group_words(g.dimension, g.group).lower()
        where = f" of {g.area}" if g.dimension == "core20" else ""
        msgs.append(f"The group we hear from least, for its size, is {who}{where}.")
    return msgs


def headline_verdict_sentence(v: Verdict, label: str) -> str:
    """A verdict as a short line: '≈ Common cause variation: no significant change (net change each month)'."""
    return f"{v.icon} {v.words} ({label})."


def safe_ratio(value) -> str:
    """A ratio to two places, or 'not known'."""
    return "not known" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


# --- The headline figures, as shown on the overview and in the pack ----------------------------------------

@dataclass
class Headline:
    """One headline figure: its key in data_access.definitions, label, value, a note beside it, the one-line
    definition, and the Making Data Count verdict where it is a time series."""

    key: str
    label: str
    value: str
    note: str
    definition: str
    verdict: Verdict | None = None


def headline_figures(ov, verdicts: dict[str, Verdict]) -> list[Headline]:
    """The overview's headline figures in order, with every count of people through the small-number rule."""
    from data_access.definitions import definition, help_text

    f, h = ov.filters, ov.headlines
    change = (f"{growth(h):+,} in 12 months" if not growth_hidden(h)
              else "change hidden: small numbers")
    core_share, ratio = core20_published(h)
    ratio_hidden = core_share is None
    share_text = "hidden" if ratio_hidden else pct(core_share)
    diss = ov.dissimilarity
    panel_hidden = is_small(h.panel_members) or not h.panel_members
    tiles = [
        Headline("members", definition("members").label, n_members(h.members), change, help_text("members"),
                 verdicts.get("members")),
        Headline("responses", definition("responses").label, n_people(h.responses),
                 f"{day(f.start)} to {day(f.end)}", help_text("responses")),
        Headline("responses_quarter", definition("responses_quarter").label, n_people(ov.responses_quarter),
                 f"{day(ov.quarter.start)} to {day(ov.quarter.end)}", help_text("responses_quarter"),
                 verdicts.get("responses")),
        Headline("open_surveys", definition("open_surveys").label, f"{h.open_surveys:,}",
                 f"{ov.surveys_on_track} on track, {ov.surveys_behind} behind", help_text("open_surveys")),
        Headline("panel_members", definition("panel_members").label, n_people(h.panel_members),
                 f"{round_count(h.panel_members) - h.panel_target:+,} against target" if not panel_hidden
                 else f"target {h.panel_target:,}", help_text("panel_members")),
        Headline("dissimilarity", definition("dissimilarity").label,
                 "hidden" if panel_hidden or diss is None else pct(diss),
                 "0% is a perfect match with residents", help_text("dissimilarity")),
        Headline("core20_share", definition("core20_share").label, share_text,
                 f"{pct(h.core20_share_residents)} of residents", help_text("core20_share")),
        Headline("core20_ratio", definition("core20_ratio").label,
                 "hidden" if ratio_hidden else safe_ratio(ratio), "1.00 is a fair share", help_text("core20_ratio")),
        Headline("open_actions", definition("open_actions").label, f"{len(ov.open_actions):,}",
                 "'You said, we did'", help_text("open_actions")),
    ]
    return tiles
