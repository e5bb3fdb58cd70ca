"""SQL building blocks that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Date, Integer, String, case, cast, extract, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from data_access.models import AGE_BANDS, NOT_KNOWN


class month_start(FunctionElement):
    """The first day of the month of a date or timestamp, as text 'YYYY-MM-01'."""

    type = String()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return "strftime('%%Y-%%m-01', %s)" % compiler.process(element.clauses, **kw)


@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw):
    return "to_char(date_trunc('month', %s), 'YYYY-MM-DD')" % compiler.process(element.clauses, **kw)


class calendar_day(FunctionElement):
    """The calendar day of a timestamp, as a date."""

    type = Date()
    inherit_cache = True
    name = "calendar_day"


@compiles(calendar_day, "sqlite")
def _calendar_day_sqlite(element, compiler, **kw):
    return "date(%s)" % compiler.process(element.clauses, **kw)


@compiles(calendar_day, "postgresql")
def _calendar_day_pg(element, compiler, **kw):
    return "CAST(%s AS DATE)" % compiler.process(element.clauses, **kw)


class day_of(FunctionElement):
    """The calendar day of a date or timestamp, as text 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True
    name = "day_of"


@compiles(day_of, "sqlite")
def _day_sqlite(element, compiler, **kw):
    return "strftime('%%Y-%%m-%%d', %s)" % compiler.process(element.clauses, **kw)


@compiles(day_of, "postgresql")
def _day_pg(element, compiler, **kw):
    return "to_char(%s, 'YYYY-MM-DD')" % compiler.process(element.clauses, **kw)


def year_of(column) -> ColumnElement:
    """The calendar year of a date or timestamp column, as an integer."""
    return cast(extract("year", column), Integer)


def age_band(birth_year, at_year) -> ColumnElement:
    """The age band (16-24 ... 65+) of someone born in birth_year, in the year at_year.

    at_year may be a column (the year of the event) or a plain integer (the year viewed).
    """
    if isinstance(at_year, int):
        at_year = literal(at_year, Integer)
    age = at_year - birth_year
    return case(
        (birth_year.is_(None), literal(NOT_KNOWN)),
        (age < 16, literal("Under 16")),
        (age <= 24, literal(AGE_BANDS[0])),
        (age <= 34, literal(AGE_BANDS[1])),
        (age <= 49, literal(AGE_BANDS[2])),
        (age <= 64, literal(AGE_BANDS[3])),
        else_=literal(AGE_BANDS[4]),
    )


def imd_quintile(decile) -> ColumnElement:
    """The national IMD quintile label (1 = most deprived 20%) from a decile column."""
    return case(
        (decile.is_(None), literal(NOT_KNOWN)),
        (decile <= 2, literal("1 (most deprived)")),
        (decile <= 4, literal("2")),
        (decile <= 6, literal("3")),
        (decile <= 8, literal("4")),
        else_=literal("5 (least deprived)"),
    )


IMD_QUINTILES = ["1 (most deprived)", "2", "3", "4", "5 (least deprived)"]
