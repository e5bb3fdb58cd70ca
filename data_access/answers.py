"""Question results: shares answering each option (in SQL), breakdowns by group, free-text themes,
and results reweighted to the resident population."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection

from data_access import models as m
from data_access import summaries
from data_access.disclosure import (
    Policy, policy, round_count, special_category_withheld, threshold, withhold_special_category,
)
from data_access.filters import Filters, counted_icp, icp_id, in_icp
from data_access.gauss_suppression import distinct_sets, per_set, protect, show_order
from data_access.cached import remembered
from data_access.profiles import DIMENSIONS, GROUP_ORDER, resident_counts, respondent_cells, respondent_group, with_respondent_areas
from data_access.weighting import (
    RakingError, effective_sample_size, kish_design_effect, people_weights, rake_table,
)

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


# --- What one question's results publish, protected together --------------------------------------------

# The groups the survey page breaks a question down by (every one of them is protected together).
BREAKDOWNS = ["age_band", "sex", "ethnic_group", "disability", "icp_area", "imd_quintile"]
NO_ICP = 0  # the icp_key of respondents in no ICP area (counted only in the all-areas view)


@dataclass
class QuestionCells:
    """One question's respondents who answered, counted by ICP area (icp_key: as filters.in_icp counts them, NO_ICP
    where none), their group on every breakdown and the set of options they chose (a 0/1 column o0, o1, ... per
    option, in the order of `options`: the listed ones, then any others A-Z): columns icp_key, BREAKDOWNS, o..., n."""

    qtype: str
    options: list[str]
    frame: pd.DataFrame

    def flags(self) -> list[str]:
        """The option columns of frame, in the order of options."""
        return [f"o{i}" for i in range(len(self.options))]


@remembered
def question_cells(conn: Connection, question_id: int) -> QuestionCells:
    """A question's cells (see QuestionCells), counted in SQL in one GROUP BY over every area (over the summaries'
    cells where they are current, else over the records); unsuppressed (for the published tables to add up, never
    shown as they are). Rows in the order of their columns. Worked out once per data load and question."""
    qtype, listed = _question(conn, question_id)
    if _summarised(conn, qtype):
        v = m.SummaryQuestionValue
        bits = dict(conn.execute(select(v.value, v.bit).where(v.question_id == question_id)).all())
        if all(b > 0 for b in bits.values()):
            return _question_cells_summarised(conn, question_id, qtype, listed, bits)
    a, r = m.Answer, m.SurveyResponse
    values = set(conn.execute(select(a.value).where(_answered(question_id)).distinct()).scalars())
    options = [*listed, *sorted(v for v in values if v not in listed)]
    flags = [f"o{i}" for i in range(len(options))]
    columns = ["icp_key", *BREAKDOWNS, *flags, "n"]
    if not values:
        return QuestionCells(qtype, options, _cells_frame([], columns))
    # each respondent once, with the options they chose (a multiple-choice answer has one row per option)
    chose = select(a.response_id.label("rid"), *[func.max(case((a.value == v, 1), else_=0)).label(f)
                                                 for v, f in zip(options, flags)])
    chose = chose.where(_answered(question_id)).group_by(a.response_id).subquery()
    icp_key = counted_icp(r).label("icp_key")
    keys = [icp_key, *[respondent_group(d).label(d) for d in BREAKDOWNS], *[chose.c[f] for f in flags]]
    stmt = with_respondent_areas(select(*keys, func.count()).select_from(chose).join(r, r.id == chose.c.rid))
    return QuestionCells(qtype, options, _cells_frame(conn.execute(stmt.group_by(*keys)).all(), columns))


def _question_cells_summarised(conn: Connection, question_id: int, qtype: str, listed: list[str],
                               bits: dict[str, int]) -> QuestionCells:
    """question_cells as a GROUP BY over the summary's cells (respondents per set of values chosen, given as a sum
    of the values' bits, and cell)."""
    t = m.SummaryChoiceCell
    options = [*listed, *sorted(v for v in bits if v not in listed)]
    flags = [f"o{i}" for i in range(len(options))]
    groups = {"icp_area": func.coalesce(m.IcpArea.name, m.NOT_KNOWN)}
    keys = [t.icp_key, *[groups[d] if d in groups else getattr(t, d).label(d) for d in BREAKDOWNS], t.options]
    stmt = (select(*keys, func.sum(t.n)).select_from(t).outerjoin(m.IcpArea, m.IcpArea.id == t.lsoa_icp)
            .where(t.question_id == question_id).group_by(*keys))
    rows = conn.execute(stmt).all()
    sets = np.array([int(row[-2]) for row in rows], dtype=np.int64)
    chose = {f: ((sets & bits[o]) != 0).astype(int) if o in bits else np.zeros(len(rows), dtype=int)
             for o, f in zip(options, flags)}
    frame = pd.DataFrame([(*row[:-2], *[chose[f][i] for f in flags], row[-1]) for i, row in enumerate(rows)],
                         columns=["icp_key", *BREAKDOWNS, *flags, "n"])
    return QuestionCells(qtype, options, _cells_frame(frame, list(frame.columns)))


def _cells_frame(rows, columns: list[str]) -> pd.DataFrame:
    """Cells (rows of columns icp_key, groups..., 0/1 flags..., n) as a frame: icp_key NO_ICP where none, counts as
    ints, rows sorted by every column but n (the same order whether counted from the summaries or the records)."""
    frame = pd.DataFrame(rows, columns=columns)
    groups = [c for c in columns if c in BREAKDOWNS]
    frame["icp_key"] = pd.to_numeric(frame["icp_key"]).fillna(NO_ICP).astype(int)
    for col in columns:
        if col not in groups:
            frame[col] = pd.to_numeric(frame[col]).astype(int)
    for col in groups:
        frame[col] = frame[col].astype(object)
    return frame.sort_values(columns[:-1], kind="stable").reset_index(drop=True)


def _group_order(dimension: str, groups) -> list:
    """Groups in the order pages list them: the dimension's own order, then others A-Z."""
    order = GROUP_ORDER.get(dimension, [])
    return sorted(groups, key=lambda g: (order.index(g) if g in order else len(order), str(g)))


def question_release(qc: QuestionCells, views: list[int | None],
                     dimensions: list[str] = BREAKDOWNS) -> list[tuple[list[int], list[tuple], list[list[int]]]]:
    """Everything the survey page publishes about one question in each view (None = all areas, or an ICP area's
    id), as sums of cells: one table per breakdown, whose cells are respondents per ICP area, group and set of
    options chosen. Keys: (view, "answered") and (view, "option", o) (the question's results, published once but
    written as a sum in every table, so each table knows them), (view, d, g, "answered") a group's n and
    (view, d, g, "option", o). A special-category breakdown too small to show is left out of that view.
    Returns, per table: (cell counts, keys, the cells each key adds up)."""
    frame, flags = qc.frame, qc.flags()
    tables = []
    for d in dimensions:
        cells = frame.groupby(["icp_key", d, *flags], as_index=False, sort=False)["n"].sum()
        if qc.qtype == "multiple":
            cells = _with_empty_sets(cells, ["icp_key", d], flags)
        chose = cells[flags].to_numpy(dtype=bool) if flags else np.zeros((len(cells), 0), dtype=bool)
        keys, sets = [], []

        def publish(key, mask):
            keys.append(key)
            sets.append(np.flatnonzero(mask).tolist())

        for view in views:
            mine = np.ones(len(cells), dtype=bool) if view is None else (cells["icp_key"] == view).to_numpy()
            if not mine.any():
                continue  # nothing but zeros
            publish((view, "answered"), mine)
            for i, o in enumerate(qc.options):
                publish((view, "option", o), mine & chose[:, i])
            sizes = cells[mine].groupby(d)["n"].sum()
            stated = int(sizes[sizes.index.isin(GROUP_ORDER.get(d, []))].sum())
            if special_category_withheld(d, stated):
                continue
            group = cells[d].to_numpy()
            for g in sizes.index:
                in_group = mine & (group == g)
                publish((view, d, g, "answered"), in_group)
                for i, o in enumerate(qc.options):
                    publish((view, d, g, "option", o), in_group & chose[:, i])
        tables.append((cells["n"].astype(int).tolist(), keys, sets))
    return tables


MAX_SET_OPTIONS = 8  # beyond this many options chosen in a group, only the sets someone chose are cells


def _with_empty_sets(cells: pd.DataFrame, keys: list[str], flags: list[str]) -> pd.DataFrame:
    """Multiple-choice cells with a cell of 0 for every other set of the options chosen in the same group (a reader
    does not know that nobody in the group chose that set; only an option nobody chose is published as 0)."""
    extra = []
    for key, part in cells.groupby(keys, sort=False):
        chosen = [i for i, f in enumerate(flags) if part[f].any()]
        if len(chosen) > MAX_SET_OPTIONS:
            continue
        have = {tuple(row) for row in part[flags].to_numpy().tolist()}
        for size in range(1, len(chosen) + 1):
            for combo in itertools.combinations(chosen, size):
                row = tuple(int(i in combo) for i in range(len(flags)))
                if row not in have:
                    extra.append((*key, *row, 0))
    if not extra:
        return cells
    return pd.concat([cells, pd.DataFrame(extra, columns=[*keys, *flags, "n"])], ignore_index=True)


def _rank(key: tuple) -> int:
    """How reluctantly a number is hidden to protect another: the question's own results (which every table
    publishes) last, then the numbers shares are of (those who answered in a group), then the rest."""
    if len(key) <= 3:
        return 2
    return 1 if key[-1] == "answered" else 0


def hidden_over_tables(tables: list[tuple[list[int], list[tuple], list[list[int]]]], rules: Policy) -> set:
    """The keys hidden in tables that publish some numbers in common (the same key in several tables, each as a sum
    of its own cells): small counts, and more where needed so that no small count is a linear combination of the
    shown numbers of all the tables together, a reader knowing that a number published in several tables is the
    same in each. One system (gauss_suppression.protect): every table's cells side by side, each key the sum of its
    cells in the first table that publishes it, and for each other table publishing it the difference of the two
    sums known to be 0. Numbers are offered to be shown in the order _rank says (zeros first, then the question's
    own results, the numbers shares are of, the rest; the largest first within each)."""
    offsets = np.cumsum([0, *[len(c) for c, _, _ in tables]])
    size = int(offsets[-1])
    counts = np.concatenate([np.asarray(c, dtype=float) for c, _, _ in tables]) if size else np.zeros(0)
    home: dict = {}
    relations = []
    for offset, (_, keys, sets) in zip(offsets, tables):
        for key, cells in zip(keys, sets):
            here = sorted(int(c) + int(offset) for c in cells)
            if key not in home:
                home[key] = here
            elif here != home[key]:
                relation = np.zeros(size)
                relation[here] += 1.0
                relation[home[key]] -= 1.0
                relations.append(relation)
    keys = list(home)
    which, members, values = distinct_sets(counts, [home[k] for k in keys])
    hidden = (values > 0) & (values < rules.threshold)
    if rules.secondary and hidden.any():
        rank = per_set(which, len(members), [_rank(k) for k in keys])
        order = show_order(values, members, hidden, np.zeros(len(members), dtype=bool), rank)
        hidden = protect(size, members, hidden, order, known=np.array(relations) if relations else None)
    return {k for k, i in zip(keys, which) if hidden[i]}


def _views(conn: Connection) -> list[int | None]:
    """The all-areas view (None) and every ICP area's view (its id): a reader can switch between them."""
    return [None, *conn.execute(select(m.IcpArea.id).order_by(m.IcpArea.id)).scalars()]


@remembered
def _question_hidden(conn: Connection, question_id: int, rules: Policy) -> set:
    return hidden_over_tables(question_release(question_cells(conn, question_id), _views(conn)), rules)


def question_hidden(conn: Connection, question_id: int) -> set:
    """The keys of question_release hidden on the survey page: small counts, and those that would let a small one
    be worked out from everything published about the question (its results, every breakdown, in the all-areas
    view and every ICP area's view together). Decided once per data load, question and policy."""
    return _question_hidden(conn, question_id, policy())


def _view_cells(conn: Connection, qc: QuestionCells, filters: Filters) -> tuple[int | None, pd.DataFrame]:
    view = icp_id(conn, filters.icp)
    return view, (qc.frame if view is None else qc.frame[qc.frame["icp_key"] == view])


def _as_shown(value: int, hidden: bool):
    """A count as published: missing where hidden, rounded as the policy asks."""
    return pd.NA if hidden else round_count(int(value))


def _shares(counts: pd.Series, base: pd.Series) -> pd.Series:
    """count / base from the counts as published: missing where either is hidden, or the base is 0."""
    c = pd.to_numeric(counts, errors="coerce").astype(float)
    b = pd.to_numeric(base, errors="coerce").astype(float)
    return c / b.where(b > 0)


def question_results(conn: Connection, question_id: int, filters: Filters) -> pd.DataFrame:
    """Respondents choosing each option, and their share of the respondents who answered the question
    (so multiple-choice shares are of respondents, not of answers, and may add up to more than 100%).
    Columns: option, count, share, n (respondents who answered), suppressed. Counts are as published: hidden
    (missing) as question_hidden says, rounded as the policy asks; shares are worked out from them."""
    qc = question_cells(conn, question_id)
    view, part = _view_cells(conn, qc, filters)
    hidden = question_hidden(conn, question_id)
    n = int(part["n"].sum())
    raw = [int(part.loc[part[f] == 1, "n"].sum()) for f in qc.flags()]
    frame = pd.DataFrame({"option": qc.options, "raw": pd.Series(raw, dtype=int)})
    frame["suppressed"] = [(view, "option", o) in hidden for o in qc.options]
    frame["count"] = pd.array([_as_shown(c, h) for c, h in zip(raw, frame["suppressed"])], dtype="Int64")
    frame["n"] = pd.array([_as_shown(n, (view, "answered") in hidden)] * len(frame), dtype="Int64")
    frame["share"] = _shares(frame["count"], frame["n"])
    frame.attrs["answered"] = n  # for saying "nobody" or "fewer than N" answered; not to be shown as it is
    return frame[["option", "count", "share", "n", "suppressed"]]


def _summarised(conn: Connection, qtype: str) -> bool:
    """True where a question's answers are counted in the summaries (not free text) and they are current."""
    return qtype != "free_text" and summaries.current(conn)


def likert_summary(results: pd.DataFrame) -> dict:
    """Shares disagreeing (the lower half of the scale), neither, and agreeing (the upper half), with n; a part
    with a hidden share is missing (it would give the hidden one away)."""
    k = len(results)
    n = results["n"].iloc[0] if k else 0
    half = k // 2
    shares = results["share"].astype(float).to_numpy()

    def part(values):
        return float(values.sum()) if k and not pd.isna(n) and n and not np.isnan(values).any() else np.nan

    return {"disagree": part(shares[:half]), "neutral": part(shares[half:k - half]),
            "agree": part(shares[k - half:]), "n": n}


def question_by_group(conn: Connection, question_id: int, dimension: str, filters: Filters) -> pd.DataFrame:
    """A question's results for each group of a dimension (one of BREAKDOWNS) in the filtered area. Counts and
    each group's n are hidden as question_hidden says (with the question's results and every other breakdown,
    in every view), rounded as the policy asks, and shares worked out from them; a breakdown by special-category
    data (ethnic group, disability) with too few people who stated their group is hidden whole
    (frame.attrs['withheld'] says why). Columns: group, option, count, n, share, suppressed."""
    if dimension not in BREAKDOWNS:
        raise ValueError(f"Answers cannot be broken down by {dimension!r}: expected one of {', '.join(BREAKDOWNS)}.")
    qc = question_cells(conn, question_id)
    view, part = _view_cells(conn, qc, filters)
    columns = ["group", "option", "count", "n", "share", "suppressed"]
    sizes = part.groupby(dimension)["n"].sum()
    sizes = sizes[sizes > 0]
    if sizes.empty or not qc.options:
        return pd.DataFrame(columns=columns)
    hidden = question_hidden(conn, question_id)
    rows = []
    for g in _group_order(dimension, sizes.index):
        mine = part[part[dimension] == g]
        n_shown = _as_shown(sizes[g], (view, dimension, g, "answered") in hidden)
        for o, f in zip(qc.options, qc.flags()):
            off = (view, dimension, g, "option", o) in hidden
            rows.append((g, o, _as_shown(mine.loc[mine[f] == 1, "n"].sum(), off), n_shown, off))
    out = pd.DataFrame(rows, columns=["group", "option", "count", "n", "suppressed"])
    out["count"] = pd.array(out["count"].tolist(), dtype="Int64")
    out["n"] = pd.array(out["n"].tolist(), dtype="Int64")
    out["share"] = _shares(out["count"], out["n"])
    stated = int(sizes[sizes.index.isin(GROUP_ORDER.get(dimension, []))].sum())
    out = withhold_special_category(out, dimension, stated, ["count", "n"], ["share"])
    return out[columns]


# --- Free text ----------------------------------------------------------------------------------------

def themes(conn: Connection) -> pd.DataFrame:
    """The editable theme list: name and its keywords (a list)."""
    rows = conn.execute(select(m.Theme.name, m.Theme.keywords).order_by(m.Theme.name)).all()
    return pd.DataFrame([(name, [k.strip().lower() for k in (kw or "").split(",") if k.strip()])
                         for name, kw in rows], columns=["theme", "keywords"])


@remembered
def free_text_cells(conn: Connection, question_id: int) -> pd.DataFrame:
    """Answers to a free-text question counted by ICP area (icp_key, as question_cells) and the themes they mention
    (a 0/1 column t0, t1, ... per theme, in the order of themes(): an answer mentions a theme when it contains any
    of its keywords as whole words, or with a plural s), in SQL in one GROUP BY (over the summaries' cells where
    they are current and of the present theme list, else over the records); unsuppressed. Columns: icp_key,
    t..., n; rows in the order of their columns."""
    a, r = m.Answer, m.SurveyResponse
    count = len(themes(conn))
    columns = ["icp_key", *[f"t{i}" for i in range(count)], "n"]
    if _question(conn, question_id)[0] == "free_text" and summaries.themes_current(conn):
        t = m.SummaryFreeTextCell
        rows = conn.execute(select(t.icp_key, t.themes, func.sum(t.n)).where(t.question_id == question_id)
                            .group_by(t.icp_key, t.themes)).all()
        frame = pd.DataFrame([(key, *[(int(mask) >> i) & 1 for i in range(count)], n) for key, mask, n in rows],
                             columns=columns)
        return _cells_frame(frame, columns)
    icp_key = case((r.lsoa_code.is_(None), r.icp_id), else_=m.Lsoa.icp_id).label("icp_key")
    inner = (select(icp_key, answer_words(a.value).label("words")).select_from(a).join(r, r.id == a.response_id)
             .outerjoin(m.Lsoa, m.Lsoa.code == r.lsoa_code).where(_answered(question_id)))
    # materialised, so the database works out each answer's words once, not once per keyword
    inner = inner.cte("answered_words").prefix_with("MATERIALIZED")
    flags = [(case((mentions, 1), else_=0) if mentions is not None else literal(0)).label(f"t{i}")
             for i, mentions in enumerate(theme_mentions(conn, inner.c.words))]
    keys = [inner.c.icp_key, *flags]
    return _cells_frame(conn.execute(select(*keys, func.count()).group_by(*keys)).all(), columns)


def theme_mentions(conn: Connection, words) -> list:
    """For each theme in the order of themes(), SQL: the answer (words: its answer_words) mentions the theme (any
    of its keywords as whole words, or with a plural s); None for a theme without keywords (it matches nothing)."""
    found = []
    for kws in themes(conn)["keywords"]:
        cond = []
        for k in sorted({" ".join(_plain(k).split()) for k in kws} - {""}):
            cond += [words.contains(f" {k} ", autoescape=True), words.contains(f" {k}s ", autoescape=True)]
        found.append(or_(*cond) if cond else None)
    return found


def free_text_release(cells: pd.DataFrame, theme_names: list[str], views: list[int | None]
                      ) -> tuple[list[int], list[tuple], list[list[int]]]:
    """What the page publishes about a free-text question in each view, as sums of cells (answers per ICP area and
    set of themes mentioned): (view, "answers") and (view, "theme", name)."""
    keys, sets = [], []
    for view in views:
        mine = np.ones(len(cells), dtype=bool) if view is None else (cells["icp_key"] == view).to_numpy()
        if not mine.any():
            continue
        keys.append((view, "answers"))
        sets.append(np.flatnonzero(mine).tolist())
        for i, name in enumerate(theme_names):
            keys.append((view, "theme", name))
            sets.append(np.flatnonzero(mine & (cells[f"t{i}"] == 1).to_numpy()).tolist())
    return cells["n"].astype(int).tolist(), keys, sets


@remembered
def _free_text_hidden(conn: Connection, question_id: int, rules: Policy) -> set:
    release = free_text_release(free_text_cells(conn, question_id), themes(conn)["theme"].tolist(), _views(conn))
    return hidden_over_tables([release], rules)


def free_text_summary(conn: Connection, question_id: int, filters: Filters) -> dict:
    """How many answered a free-text question, how many answers mention each theme, and a few recent answers as
    examples. Counts are hidden where small, or where a small one could be worked out from them (in the all-areas
    view and every ICP area's together), and rounded as the policy asks; shares are worked out from them.
    Keys: answers (int, as counted: for saying "nobody" or "fewer than N"), answers_shown (as published: None where
    hidden), themes (DataFrame theme, answers, share, suppressed; most frequent first), examples (list of plain
    strings; none when fewer than the small-number threshold answered)."""
    a, r = m.Answer, m.SurveyResponse
    names = themes(conn)["theme"].tolist()
    cells = free_text_cells(conn, question_id)
    view = icp_id(conn, filters.icp)
    part = cells if view is None else cells[cells["icp_key"] == view]
    hidden = _free_text_hidden(conn, question_id, policy())
    answers = int(part["n"].sum())
    shown = None if (view, "answers") in hidden else round_count(answers)
    raw = [int(part.loc[part[f"t{i}"] == 1, "n"].sum()) for i in range(len(names))]
    frame = pd.DataFrame({"theme": names, "raw": pd.Series(raw, dtype=int)})
    frame["suppressed"] = [(view, "theme", t) in hidden for t in names]
    frame["answers"] = pd.array([_as_shown(c, h) for c, h in zip(raw, frame["suppressed"])], dtype="Int64")
    frame["share"] = _shares(frame["answers"], pd.Series(shown, index=frame.index, dtype=float))
    # most frequent first as published (hidden ones last, A-Z), so the order says nothing about a hidden count
    frame["order"] = frame["answers"].astype("Float64").fillna(-1.0).astype(float)
    frame = frame.sort_values(["order", "theme"], ascending=[False, True]).reset_index(drop=True)
    examples: list[str] = []
    if answers >= threshold():
        ex = (select(a.value).join(r, r.id == a.response_id).where(_answered(question_id))
              .order_by(r.submitted_at.desc(), a.id.desc()).limit(EXAMPLE_LIMIT))
        examples = [_clip(v) for v in conn.execute(in_icp(ex, r.lsoa_code, conn, filters.icp)).scalars()]
    return {"answers": answers, "answers_shown": shown, "themes": frame[["theme", "answers", "share", "suppressed"]],
            "examples": examples}


# Punctuation treated as a space when matching keywords, so that keywords match whole words.
WORD_BREAKS = ".,;:!?\"'()[]/\\-<>*\n\r\t"


def _plain(text: str) -> str:
    """Text in lower case with punctuation as spaces (the Python twin of answer_words)."""
    text = text.lower()
    for ch in WORD_BREAKS:
        text = text.replace(ch, " ")
    return text


def answer_words(column):
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
    age band, sex and IMD quintile, using data_access.weighting.rake_table on the cells. Worked out once per data load
    and arguments (the page's design effect and every weighted question share it); no count is hidden here."""
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
    usable = cells[known & (cells["n"] > 0).to_numpy()].reset_index(drop=True)
    left_out = total - int(usable["n"].sum())
    try:
        result = rake_table(usable, margins) if len(usable) else None  # on the cells: one weight per cell
    except RakingError as exc:
        text = str(exc)
        for dim in RAKING_DIMENSIONS:
            text = text.replace(f"({dim})", f"({DIMENSIONS[dim].lower()})")
        return SurveyWeights(message=f"The results cannot be weighted: {text}", left_out=left_out)
    if result is None:
        return SurveyWeights(message="Nobody who responded gave their age, sex and home area, "
                                     "so the results cannot be weighted.", left_out=left_out)
    usable["weight"] = result.weights.to_numpy()
    weights = people_weights(usable, result.weights)
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
    by_cell, base = _raking_cells(conn, question_id, filters)
    cell_w = weights.cells[[*RAKING_DIMENSIONS, "weight"]]
    by_cell = by_cell.merge(cell_w, on=RAKING_DIMENSIONS, how="inner")
    base = base.merge(cell_w, on=RAKING_DIMENSIONS, how="inner")
    denominator = float((base["answered"] * base["weight"]).sum())
    if denominator <= 0:
        return results, weights
    numerators = (by_cell["count"] * by_cell["weight"]).groupby(by_cell["option"]).sum()
    weighted = results["option"].map(numerators).fillna(0.0) / denominator
    # hidden with the option's count (or the number who answered), which it would otherwise nearly give away
    results["weighted_share"] = weighted.mask(results["count"].isna() | results["n"].isna())
    return results, weights


def _raking_cells(conn: Connection, question_id: int, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A question's respondents per raking cell (RAKING_DIMENSIONS) choosing each option (columns: the dimensions,
    option, count) and answering at all (the dimensions, answered), in the filtered area."""
    qtype, _ = _question(conn, question_id)
    if _summarised(conn, qtype):  # from the question's cells (read from the summaries once per data load)
        qc = question_cells(conn, question_id)
        _, part = _view_cells(conn, qc, filters)
        by_cell = pd.concat([part[part[f] == 1].groupby(RAKING_DIMENSIONS, as_index=False)["n"].sum().assign(option=o)
                             for o, f in zip(qc.options, qc.flags())] or [pd.DataFrame(columns=[*RAKING_DIMENSIONS,
                                                                                              "n", "option"])])
        by_cell = by_cell.rename(columns={"n": "count"})[[*RAKING_DIMENSIONS, "option", "count"]]
        by_cell["count"] = pd.to_numeric(by_cell["count"]).astype(int)
        base = (part.groupby(RAKING_DIMENSIONS, as_index=False)["n"].sum()
                .rename(columns={"n": "answered"}))
        return by_cell.reset_index(drop=True), base
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
    return by_cell, base
