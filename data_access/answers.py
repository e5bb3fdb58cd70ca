"""Question results: shares answering each option (in SQL), breakdowns by group, free-text themes,
and results reweighted to the resident population."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access.disclosure import (
    suppress, suppress_table, threshold, withhold_special_category,
)
from data_access.filters import Filters, in_icp
from data_access.cached import remembered
from data_access.profiles import DIMENSIONS, GROUP_ORDER, resident_counts, respondent_cells, respondent_group, with_respondent_areas
from data_access.weighting import RakingError, effective_sample_size, kish_design_effect, rake

RAKING_DIMENSIONS = ["age_band", "sex", "imd_quintile"]
EXAMPLE_LIMIT = 3
EXAMPLE_LENGTH = 280


def survey_questions(conn: Connection, survey_id: int) -> pd.DataFrame:
    """One survey's questions in order: id, position, text, qtype, options (a list)."""
    q = m.Question
    rows = conn.execute(select(q.id, q.position, q.text, q.qtype, q.options)
                        .where(q.survey_id == survey_id).order_by(q.position, q.id)).all()
    frame = pd.DataFrame(rows, columns=["id", "position", "text", "qtype", "options"])
    frame["options"] = [_options(o) for o in frame["options"]]
    return frame


def _options(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _question(conn: Connection, question_id: int) -> tuple[str, list[str]]:
    row = conn.execute(select(m.Question.qtype, m.Question.options).where(m.Question.id == question_id)).one_or_none()
    if row is None:
        raise ValueError(f"There is no question with id {question_id}.")
    return row[0], _options(row[1])


def _answered(question_id: int):
    """Answers to the question that say something (free text that is blank does not count)."""
    a = m.Answer
    return and_(a.question_id == question_id, func.length(func.trim(a.value)) > 0)


def _ordered(frame: pd.DataFrame, options: list[str]) -> pd.DataFrame:
    """Every listed option (0 where nobody chose it) in the listed order, then any others A-Z."""
    counts = dict(zip(frame["option"], frame["count"])) if len(frame) else {}
    extra = sorted(o for o in counts if o not in options)
    names = [*options, *extra]
    return pd.DataFrame({"option": names, "count": [int(counts.get(o, 0)) for o in names]})


def question_results(conn: Connection, question_id: int, filters: Filters) -> pd.DataFrame:
    """Respondents choosing each option, and their share of the respondents who answered the question
    (so multiple-choice shares are of respondents, not of answers, and may add up to more than 100%).
    Columns: option, count, share, n (respondents who answered)."""
    a, r = m.Answer, m.SurveyResponse
    _, options = _question(conn, question_id)
    chosen = (select(a.value, func.count(func.distinct(a.response_id)))
              .join(r, r.id == a.response_id).where(_answered(question_id)).group_by(a.value))
    total = select(func.count(func.distinct(a.response_id))).join(r, r.id == a.response_id).where(_answered(question_id))
    chosen = in_icp(chosen, r.lsoa_code, conn, filters.icp)
    n = int(conn.execute(in_icp(total, r.lsoa_code, conn, filters.icp)).scalar_one() or 0)
    frame = _ordered(pd.DataFrame(conn.execute(chosen).all(), columns=["option", "count"]), options)
    frame["share"] = frame["count"] / n if n else np.nan
    frame["n"] = n
    # an option's count is hidden where small, with a second one where it could be worked out from n
    qtype, _ = _question(conn, question_id)
    groups = [] if qtype == "multiple" else [()]
    out = suppress_table(frame, "count", groups, derived=("share",), total="n").drop(columns="suppressed")
    return out


def likert_summary(results: pd.DataFrame) -> dict:
    """Shares disagreeing (the lower half of the scale), neither, and agreeing (the upper half), with n."""
    k = len(results)
    n = int(results["n"].iloc[0]) if k else 0
    half = k // 2
    shares = results["share"].fillna(0).to_numpy()
    return {
        "disagree": float(shares[:half].sum()) if n else np.nan,
        "neutral": float(shares[half:k - half].sum()) if n else np.nan,
        "agree": float(shares[k - half:].sum()) if n else np.nan,
        "n": n,
    }


def question_by_group(conn: Connection, question_id: int, dimension: str, filters: Filters) -> pd.DataFrame:
    """A question's results for each group of a dimension, in SQL. A group with a small number of respondents
    has every figure hidden, and so does any small cell, with secondary suppression (data_access.disclosure);
    a breakdown by special-category data (ethnic group, disability) with too few people who stated their group
    is hidden whole (frame.attrs['withheld'] says why). Columns: group, option, count, n, share, suppressed."""
    a, r = m.Answer, m.SurveyResponse
    qtype, options = _question(conn, question_id)
    group = respondent_group(dimension).label("group")
    base = with_respondent_areas(select(group, a.value, func.count(func.distinct(a.response_id))).select_from(a)
                                 .join(r, r.id == a.response_id))
    cells = in_icp(base.where(_answered(question_id)).group_by(group, a.value), r.lsoa_code, conn, filters.icp)
    totals = with_respondent_areas(select(group, func.count(func.distinct(a.response_id))).select_from(a)
                                   .join(r, r.id == a.response_id))
    totals = in_icp(totals.where(_answered(question_id)).group_by(group), r.lsoa_code, conn, filters.icp)
    found = pd.DataFrame(conn.execute(cells).all(), columns=["group", "option", "count"])
    n_by_group = dict(conn.execute(totals).all())
    order = GROUP_ORDER.get(dimension, [])
    groups = sorted(n_by_group, key=lambda g: (order.index(g) if g in order else len(order), str(g)))
    frames = []
    for g in groups:
        part = _ordered(found[found["group"] == g][["option", "count"]], options)
        part.insert(0, "group", g)
        part["n"] = int(n_by_group[g])
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=["group", "option", "count", "n", "share", "suppressed"])
    out = pd.concat(frames, ignore_index=True)
    out["share"] = out["count"] / out["n"]
    # The groups' n add up to everyone who answered (shown with the question's results): a group whose n is
    # small is hidden whole, and so is a second group where one could be worked out from the total.
    sizes = pd.DataFrame({"group": groups, "n": [int(n_by_group[g]) for g in groups]})
    hidden_groups = set(sizes.loc[suppress_table(sizes, "n", [()])["suppressed"], "group"])
    small_group = out["group"].isin(hidden_groups)
    # Within a group the options add up to its n; across groups they add up to the option's overall count.
    grid = [] if qtype == "multiple" else ["group"]
    out = suppress_table(out, "count", [*grid, "option"], derived=("share",), total="n", hide=small_group)
    out["n"] = suppress(out, "n")["n"].mask(small_group)
    stated = sum(n for g, n in n_by_group.items() if g in order)
    out = withhold_special_category(out, dimension, stated, ["count", "n"], ["share"])
    return out[["group", "option", "count", "n", "share", "suppressed"]]


# --- Free text ----------------------------------------------------------------------------------------

def themes(conn: Connection) -> pd.DataFrame:
    """The editable theme list: name and its keywords (a list)."""
    rows = conn.execute(select(m.Theme.name, m.Theme.keywords).order_by(m.Theme.name)).all()
    return pd.DataFrame([(name, [k.strip().lower() for k in (kw or "").split(",") if k.strip()])
                         for name, kw in rows], columns=["theme", "keywords"])


def free_text_summary(conn: Connection, question_id: int, filters: Filters) -> dict:
    """How many answered a free-text question, how many answers mention each theme (an answer mentions a
    theme when it contains any of its keywords as whole words, or with a plural s, counted in SQL), and a
    few recent answers as examples.
    Keys: answers (int), themes (DataFrame theme, answers, share, suppressed; most frequent first),
    examples (list of plain strings; none when fewer than the small-number threshold answered)."""
    a, r = m.Answer, m.SurveyResponse
    theme_list = themes(conn)
    inner = select(_words(a.value).label("words")).where(_answered(question_id))
    if filters.icp:  # every answer has its response; join it only to filter by area
        inner = in_icp(inner.join(r, r.id == a.response_id), r.lsoa_code, conn, filters.icp)
    # materialised, so the database works out each answer's words once, not once per keyword
    inner = inner.cte("answered_words").prefix_with("MATERIALIZED")
    text = inner.c.words
    sums = []
    for i, kws in enumerate(theme_list["keywords"]):
        cond = []
        for k in {" ".join(_plain(k).split()) for k in kws} - {""}:
            cond += [text.contains(f" {k} ", autoescape=True), text.contains(f" {k}s ", autoescape=True)]
        sums.append(func.sum(case((or_(*cond), 1), else_=0)).label(f"t{i}") if cond else func.sum(0).label(f"t{i}"))
    row = conn.execute(select(func.count(), *sums).select_from(inner)).one()
    answers = int(row[0] or 0)
    frame = pd.DataFrame({"theme": theme_list["theme"], "answers": [int(v or 0) for v in row[1:]]})
    frame["share"] = frame["answers"] / answers if answers else np.nan
    frame = frame.sort_values(["answers", "theme"], ascending=[False, True]).reset_index(drop=True)
    frame = suppress(frame, "answers", derived=("share",))
    examples: list[str] = []
    if answers >= threshold():
        ex = (select(a.value).join(r, r.id == a.response_id).where(_answered(question_id))
              .order_by(r.submitted_at.desc(), a.id.desc()).limit(EXAMPLE_LIMIT))
        examples = [_clip(v) for v in conn.execute(in_icp(ex, r.lsoa_code, conn, filters.icp)).scalars()]
    return {"answers": answers, "themes": frame, "examples": examples}


# Punctuation treated as a space when matching keywords, so that keywords match whole words.
WORD_BREAKS = ".,;:!?\"'()[]/\\-<>*\n\r\t"


def _plain(text: str) -> str:
    """Text in lower case with punctuation as spaces (the Python twin of _words)."""
    text = text.lower()
    for ch in WORD_BREAKS:
        text = text.replace(ch, " ")
    return text


def _words(column):
    """SQL: ' ' + the text in lower case with punctuation as spaces + ' ', so that ' word ' finds a whole word."""
    expr = func.lower(column)
    for ch in WORD_BREAKS:
        expr = func.replace(expr, ch, " ")
    return literal(" ") + expr + literal(" ")


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= EXAMPLE_LENGTH else text[:EXAMPLE_LENGTH - 1].rstrip() + "…"


# --- Reweighting to the resident population --------------------------------------------------------------

@dataclass
class SurveyWeights:
    """Raking weights for one survey's respondents, by cell of age band x sex x IMD quintile.

    cells: one row per cell with n and weight (mean weight 1 over the people weighted); message says
    why there are no weights (then cells is empty)."""

    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    design_effect: float = float("nan")
    effective_size: float = 0.0
    weighted: int = 0
    left_out: int = 0
    converged: bool = False
    margins: dict = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when there are weights to use."""
        return not self.message


@remembered
def survey_weights(conn: Connection, survey_id: int, filters: Filters,
                   icp_names: list[str] | None) -> SurveyWeights:
    """Rake one survey's respondents (in the filtered area) to the residents of the areas covered on
    age band, sex and IMD quintile, using data_access.weighting.rake. Worked out once per data load and
    arguments (the page's design effect and every weighted question share it); no count is hidden here."""
    cells = respondent_cells(conn, survey_id, filters, RAKING_DIMENSIONS)
    margins = {}
    for dim in RAKING_DIMENSIONS:
        res = resident_counts(conn, dim, icp_names=icp_names)
        margins[dim] = res.set_index("group")["residents"].astype(float)
        if margins[dim].sum() <= 0:
            return SurveyWeights(message="There is no population data for the areas this survey covers, "
                                         "so its results cannot be weighted to match residents.")
    total = int(cells["n"].sum()) if len(cells) else 0
    if total == 0:
        return SurveyWeights(message="There are no responses to weight.")
    known = np.ones(len(cells), dtype=bool)
    for dim in RAKING_DIMENSIONS:
        known &= cells[dim].isin(margins[dim].index).to_numpy()
    usable = cells[known].reset_index(drop=True)
    left_out = total - int(usable["n"].sum())
    sample = usable.loc[usable.index.repeat(usable["n"]), RAKING_DIMENSIONS]
    try:
        result = rake(sample, margins) if len(sample) else None
    except RakingError as exc:
        text = str(exc)
        for dim in RAKING_DIMENSIONS:
            text = text.replace(f"({dim})", f"({DIMENSIONS[dim].lower()})")
        return SurveyWeights(message=f"The results cannot be weighted: {text}", left_out=left_out)
    if result is None:
        return SurveyWeights(message="Nobody who responded gave their age, sex and home area, "
                                     "so the results cannot be weighted.", left_out=left_out)
    weights = result.weights
    usable["weight"] = weights.groupby(level=0).first().reindex(usable.index).to_numpy()
    return SurveyWeights(
        cells=usable, design_effect=kish_design_effect(weights), effective_size=effective_sample_size(weights),
        weighted=int(len(weights)), left_out=left_out, converged=result.converged,
        margins={d: (v / v.sum()).to_dict() for d, v in margins.items()},
    )


def weighted_question_results(conn: Connection, question_id: int, survey_id: int, filters: Filters,
                              icp_names: list[str] | None) -> tuple[pd.DataFrame, SurveyWeights]:
    """A question's results unweighted (all who answered) and weighted to residents (those who answered
    and could be weighted). Columns: option, count, share, n, weighted_share; and the weights used."""
    return _weighted(conn, question_id, filters, survey_weights(conn, survey_id, filters, icp_names))


def weighted_survey_results(conn: Connection, survey_id: int, filters: Filters, icp_names: list[str] | None,
                            question_ids: tuple[int, ...]) -> dict[int, tuple[pd.DataFrame, SurveyWeights]]:
    """weighted_question_results for several questions of one survey, raking its respondents once:
    question id -> (results, weights)."""
    weights = survey_weights(conn, survey_id, filters, icp_names)
    return {int(q): _weighted(conn, int(q), filters, weights) for q in question_ids}


def _weighted(conn: Connection, question_id: int, filters: Filters,
              weights: SurveyWeights) -> tuple[pd.DataFrame, SurveyWeights]:
    results = question_results(conn, question_id, filters)
    results["weighted_share"] = np.nan
    if not weights.ok or results["n"].iloc[0:1].sum() == 0:
        return results, weights
    a, r = m.Answer, m.SurveyResponse
    groups = [respondent_group(d).label(d) for d in RAKING_DIMENSIONS]
    chosen = with_respondent_areas(select(*groups, a.value, func.count(func.distinct(a.response_id))).select_from(a)
                                   .join(r, r.id == a.response_id))
    chosen = in_icp(chosen.where(_answered(question_id)).group_by(*groups, a.value), r.lsoa_code, conn, filters.icp)
    by_cell = pd.DataFrame(conn.execute(chosen).all(), columns=[*RAKING_DIMENSIONS, "option", "count"])
    by_cell["count"] = pd.to_numeric(by_cell["count"]).astype(int)
    everyone = select(func.count(func.distinct(a.response_id))).join(r, r.id == a.response_id).where(
        _answered(question_id))
    if int(by_cell["count"].sum()) == int(conn.execute(in_icp(everyone, r.lsoa_code, conn, filters.icp)).scalar_one()):
        # each respondent counted once over all options (one answer each, as single-choice and scale questions
        # are): those answering in a cell are its options added up, without a second scan of the answers
        base = (by_cell.groupby(RAKING_DIMENSIONS, as_index=False, dropna=False)["count"].sum()
                .rename(columns={"count": "answered"}))
    else:
        answered = with_respondent_areas(select(*groups, func.count(func.distinct(a.response_id))).select_from(a)
                                         .join(r, r.id == a.response_id))
        answered = in_icp(answered.where(_answered(question_id)).group_by(*groups), r.lsoa_code, conn, filters.icp)
        base = pd.DataFrame(conn.execute(answered).all(), columns=[*RAKING_DIMENSIONS, "answered"])
    cell_w = weights.cells[[*RAKING_DIMENSIONS, "weight"]]
    by_cell = by_cell.merge(cell_w, on=RAKING_DIMENSIONS, how="inner")
    base = base.merge(cell_w, on=RAKING_DIMENSIONS, how="inner")
    denominator = float((base["answered"] * base["weight"]).sum())
    if denominator <= 0:
        return results, weights
    numerators = (by_cell["count"] * by_cell["weight"]).groupby(by_cell["option"]).sum()
    results["weighted_share"] = results["option"].map(numerators).fillna(0.0) / denominator
    return results, weights
