"""Survey exports in the wide layout of common survey tools (one row per respondent, one column per
question, plus a response id, the date submitted, the area and demographics).

The column mapping says what each column of the export is: a field of the response ("response id",
"submitted", "area", "sex" ...), a question of the survey, or nothing to keep ("ignore"). It is worked
out automatically where it can be, can be given or corrected by the user, and is saved for the
survey when an import is written, so that the next export of the same survey is read the same way.

Targets, as a user writes them:
  a field's label, e.g. "response id", "submitted", "area", "age", "ethnic group"
  "question"            the column is a question whose text is the column's header
  "question: TEXT"      the column is the question with this text (of the survey, or new)
  "free text", "single choice", "multiple choice", "agreement scale" (each optionally ": TEXT")
                        the same, saying what kind of question a new question is (otherwise it is
                        worked out from the answers)
  "ignore"              the column is not imported
Saved as 'field:NAME', 'question[:TEXT]', 'question[QTYPE][:TEXT]' or 'ignore'.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import delete, insert, select

from data_access import models as m
from data_access.importing.fields import FieldError
from data_access.importing.kinds import Kind, norm_header
from data_access.importing.personal_data import redact_free_text

IGNORE = "ignore"
QUESTION = "question"
MAX_ANSWER_LENGTH = 10_000
MULTIPLE_SEPARATOR = ";"
# Columns survey tools add that are neither a question nor a field worth keeping.
TOOL_COLUMNS = {
    "start time", "started", "start date", "started at", "last modified time", "modified", "collector id",
    "status", "response status", "language", "custom data", "custom data 1", "duration", "time taken",
    "time taken to complete", "page", "tags", "seq", "invite custom field 1", "respondent type",
}


class MappingError(FieldError):
    """A mapping entry that cannot be used, said in one sentence."""


def field_targets(kind: Kind) -> dict[str, str]:
    """The words a user may write for each field of the kind: normalised label -> field."""
    return {norm_header(c.label): c.field for c in kind.columns}


QTYPE_WORDS = {"question": None, "free text": "free_text", "single choice": "single", "multiple choice": "multiple",
               "agreement scale": "likert", "likert": "likert"}
_SAVED_QUESTION = re.compile(r"^question(?:\[(free_text|single|multiple|likert)\])?(?::(.*))?$", re.S)


def parse_question_target(target: str) -> tuple[str | None, str | None] | None:
    """(question type or None, question text or None) for a saved question target; None otherwise."""
    match = _SAVED_QUESTION.match(target)
    if not match:
        return None
    return match.group(1), (match.group(2).strip() or None) if match.group(2) is not None else None


def parse_target(kind: Kind, text: str) -> str:
    """A user's target for a column in its saved form (see the module's description)."""
    value = " ".join(str(text).split())
    low = value.lower()
    if low in (IGNORE, "skip", "none", ""):
        return IGNORE
    word, colon, rest = value.partition(":")
    if word.strip().lower() in QTYPE_WORDS:
        qtype = QTYPE_WORDS[word.strip().lower()]
        if colon and not rest.strip():
            raise MappingError(f"expected the question's text after '{word.strip()}:'")
        saved = QUESTION + (f"[{qtype}]" if qtype else "")
        return saved + (f":{rest.strip()}" if rest.strip() else "")
    if parse_question_target(value) is not None:
        return value
    if low.startswith("field:"):
        low = low.split(":", 1)[1].strip()
    fields = field_targets(kind)
    key = norm_header(low)
    if key in fields:
        return f"field:{fields[key]}"
    if key in fields.values():
        return f"field:{key}"
    column = next((c for c in kind.columns if c.matches(low)), None)
    if column is not None:
        return f"field:{column.field}"
    names = ", ".join(f"'{c.label}'" for c in kind.columns)
    raise MappingError(f"expected one of {names}, 'question', 'question: TEXT', 'free text', 'single choice', "
                       f"'multiple choice', 'agreement scale' or 'ignore', found {text!r}")


def target_label(kind: Kind, target: str, header: str) -> str:
    """A target as a user reads it."""
    if target == IGNORE:
        return "not imported"
    if target.startswith("field:"):
        name = target.split(":", 1)[1]
        return next((c.label for c in kind.columns if c.field == name), name)
    return "question: " + question_text(target, header)


def question_text(target: str, header: str) -> str:
    """The text of the question a question target names (the header if it names none)."""
    parsed = parse_question_target(target)
    return (parsed[1] if parsed and parsed[1] else header)


def is_question(target: str) -> bool:
    """True for a target that is a question."""
    return parse_question_target(target) is not None


def parse_mapping_lines(kind: Kind, lines: list[str]) -> dict[str, str]:
    """'HEADER=TARGET' entries (from --map flags) as a mapping."""
    mapping = {}
    for line in lines:
        if "=" not in line:
            raise MappingError(f"expected HEADER=TARGET, e.g. 'Q1=question' or 'Postcode district=area', "
                               f"found {line!r}")
        header, target = line.rsplit("=", 1)
        mapping[" ".join(header.split())] = parse_target(kind, target)
    return mapping


def parse_mapping_file(kind: Kind, text: str) -> dict[str, str]:
    """A mapping file: JSON {"header": "target"}, or lines of HEADER=TARGET."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            raw = json.loads(stripped)
        except ValueError as exc:
            raise MappingError(f"expected a JSON object of column header to target ({exc.msg})") from None
        return {" ".join(str(h).split()): parse_target(kind, str(t)) for h, t in raw.items()}
    return parse_mapping_lines(kind, [ln for ln in stripped.splitlines() if ln.strip() and not ln.startswith("#")])


def saved_mapping(conn, survey_id: int | None) -> dict[str, str]:
    """The mapping saved for a survey by its last import (empty if none)."""
    if survey_id is None:
        return {}
    text = conn.execute(select(m.ColumnMapping.mapping).where(m.ColumnMapping.survey_id == survey_id)
                        .order_by(m.ColumnMapping.id.desc())).scalars().first()
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(h): str(t) for h, t in value.items()} if isinstance(value, dict) else {}


def save_mapping(conn, survey_id: int, title: str, mapping: dict[str, str]) -> None:
    """Keep a survey's mapping for its next export (merged with what was saved before)."""
    merged = {**saved_mapping(conn, survey_id), **mapping}
    conn.execute(delete(m.ColumnMapping.__table__).where(m.ColumnMapping.survey_id == survey_id))
    conn.execute(insert(m.ColumnMapping.__table__), [dict(
        name=f"{title[:90]} (survey {survey_id})", survey_id=survey_id,
        mapping=json.dumps(merged, ensure_ascii=False, sort_keys=True))])


def resolve_mapping(kind: Kind, headers: list[str], existing_questions: list[str], saved: dict[str, str],
                    given: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Every header's target, and where it came from ('given', 'saved' or 'automatic').

    Given entries win, then the survey's saved mapping, then: a field's name, a question of the
    survey with the same text, a survey tool's own column (ignored), and otherwise a new question
    if the survey has no questions yet (else the column is not imported, and the preview says so)."""
    questions = {norm_header(q): q for q in existing_questions}
    mapping: dict[str, str] = {}
    source: dict[str, str] = {}
    fields_used: set[str] = set()
    for header in headers:
        for where, chosen in (("given", given), ("saved", saved)):
            if header in chosen:
                mapping[header], source[header] = chosen[header], where
                break
        if header in mapping and mapping[header].startswith("field:"):
            fields_used.add(mapping[header])
    for header in headers:
        if header in mapping:
            continue
        column = next((c for c in kind.columns if c.matches(header) and f"field:{c.field}" not in fields_used), None)
        h = norm_header(header)
        if column is not None:
            target = f"field:{column.field}"
            fields_used.add(target)
        elif h in questions:
            target = f"question:{questions[h]}"
        elif h in TOOL_COLUMNS:
            target = IGNORE
        elif not existing_questions:
            target = QUESTION
        else:
            target = IGNORE
        mapping[header], source[header] = target, "automatic"
    return mapping, source


@dataclass
class QuestionPlan:
    """A question the export answers: an existing one of the survey, or a new one to create."""

    text: str
    header: str
    qtype: str
    options: list[str]
    question_id: int | None = None
    new_options: list[str] = field(default_factory=list)


def infer_type(values: pd.Series, qtype: str | None = None) -> tuple[str, list[str]]:
    """A new question's type (unless given) and options from its answers: an agreement (Likert) scale if
    at least three answers in four are on it, multiple choice if answers list choices separated by ';',
    single choice if there are at most 12 short answers given twice each on average, else free text.
    Options are listed most chosen first."""
    given = [v.strip() for v in values if v.strip()]
    scale = {s.lower(): s for s in m.LIKERT_SCALE}
    on_scale = sum(v.lower() in scale for v in given)
    if qtype == "likert" or (qtype is None and given and on_scale >= 0.75 * len(given)):
        return "likert", list(m.LIKERT_SCALE)
    if qtype == "free_text" or not given:
        return qtype or "free_text", []
    if qtype == "multiple" or (qtype is None and any(MULTIPLE_SEPARATOR in v for v in given)):
        parts = Counter(p for v in given for p in split_choices(v))
        if qtype == "multiple" or len(parts) <= 30:
            return "multiple", [o for o, _ in sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))]
    counts = Counter(given)
    if qtype == "single" or (len(counts) <= 12 and max(len(v) for v in counts) <= 80
                             and len(given) >= 2 * len(counts)):
        return "single", [o for o, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return "free_text", []


def split_choices(value: str) -> list[str]:
    """The choices in a multiple-choice cell ('GP practice;Pharmacy;'), each once, in order."""
    seen: list[str] = []
    for part in value.split(MULTIPLE_SEPARATOR):
        part = part.strip()
        if part and part not in seen:
            seen.append(part)
    return seen


def plan_questions(mapping: dict[str, str], rows: pd.DataFrame, existing: pd.DataFrame) -> list[QuestionPlan]:
    """The questions the mapped columns answer (existing: id, text, qtype, options as lists)."""
    by_text = {norm_header(t): (int(i), t, q, list(o)) for i, t, q, o in
               existing[["id", "text", "qtype", "options"]].itertuples(index=False)} if len(existing) else {}
    plans = []
    for header, target in mapping.items():
        parsed = parse_question_target(target)
        if parsed is None:
            continue
        text = question_text(target, header)
        found = by_text.get(norm_header(text))
        if found:
            qid, text, qtype, options = found
            plans.append(QuestionPlan(text, header, qtype, options, question_id=qid))
            continue
        qtype, options = infer_type(rows[header], parsed[0])
        plans.append(QuestionPlan(text, header, qtype, options))
    return plans


def read_answer(plan: QuestionPlan, value: str) -> tuple[list[str], bool]:
    """One cell's answer values (none if blank), and whether personal details were taken out.
    A Likert answer off the scale is a FieldError; other new choices are kept (and reported)."""
    value = value.strip()
    if not value:
        return [], False
    if plan.qtype == "free_text":
        if len(value) > MAX_ANSWER_LENGTH:
            raise FieldError(f"expected an answer of at most {MAX_ANSWER_LENGTH:,} characters, found {len(value):,}")
        cleaned, redacted = redact_free_text(value)
        return [cleaned], redacted
    choices = split_choices(value) if plan.qtype == "multiple" else [value]
    known = {o.lower(): o for o in plan.options}
    out = []
    for choice in choices:
        option = known.get(choice.lower())
        if option is None:
            if plan.qtype == "likert":
                raise FieldError("expected one of " + ", ".join(plan.options) + f", found {choice!r}")
            if len(choice) > 200:
                raise FieldError(f"expected a choice of at most 200 characters, found {len(choice):,}")
            option = choice
            if choice not in plan.new_options:
                plan.new_options.append(choice)
        out.append(option)
    return out, False


def mapping_table(kind: Kind, mapping: dict[str, str], source: dict[str, str],
                  dropped: dict[str, str], plans: list[QuestionPlan]) -> pd.DataFrame:
    """The mapping as a table for the preview: column, what it is imported as, and where that came from."""
    by_header = {p.header: p for p in plans}
    rows = []
    for header, target in mapping.items():
        if header in dropped:
            rows.append((header, f"dropped: holds {dropped[header]}", "personal data"))
            continue
        label = target_label(kind, target, header)
        plan = by_header.get(header)
        if plan is not None:
            kind_word = {"single": "single choice", "multiple": "multiple choice", "likert": "agreement scale",
                         "free_text": "free text"}.get(plan.qtype, plan.qtype)
            label += f" ({'new, ' if plan.question_id is None else ''}{kind_word})"
        rows.append((header, label, {"given": "chosen", "saved": "saved mapping",
                                     "automatic": "automatic"}[source.get(header, "automatic")]))
    return pd.DataFrame(rows, columns=["column", "imported as", "how"])


def normalise_header(text: str) -> str:
    """A header with runs of spaces made one (as the reader does)."""
    return re.sub(r"\s+", " ", str(text)).strip()
