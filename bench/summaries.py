"""Time the counting functions that read the summary tables, from the summaries and from the records, on one store.

    python -m bench.summaries sqlite:///bench-stores/bench-county.db

For the survey with most responses, all areas and East Kent: CPU and wall time of each function reading the
summaries and reading the records (data_access.summaries.records_only), with nothing remembered between them.
A measurement, not a test. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import logging
import time

from sqlalchemy import func, select

from data_access import answers, cached, network_release, networks, profiles, summaries, surveys
from data_access import models as m
from data_access.db import make_engine
from data_access.filters import Filters


def _calls(survey_id: int, question_ids: list[int], free_text_ids: list[int]) -> dict:
    """Name -> call(conn) for every converted function, for all areas and East Kent."""
    views = (Filters(None), Filters("East Kent"))
    return {
        "question_cells (every question)": lambda c: [answers.question_cells(c, q) for q in question_ids],
        "question_results + question_by_group (every question, both views, every breakdown)": lambda c: [
            (answers.question_results(c, q, f), [answers.question_by_group(c, q, d, f) for d in answers.BREAKDOWNS])
            for q in question_ids for f in views],
        "network growth counts (cohort_cells, _monthly_raw, members_on; default period)": lambda c: [
            (network_release.cohort_cells(c, f.start, f.end), networks._monthly_raw(c, f),
             networks.members_on(c, f.end, f)) for f in views],
        "free_text_cells (every free-text question)": lambda c: [answers.free_text_cells(c, q) for q in free_text_ids],
        "free_text_summary (every free-text question, both views)": lambda c: [
            answers.free_text_summary(c, q, f) for q in free_text_ids for f in views],
        "survey_summary": lambda c: [surveys.survey_summary(c, f) for f in views],
        "survey_reach_in": lambda c: [surveys.survey_reach_in(c, f.icp) for f in views],
        "responses_by_day": lambda c: [surveys.responses_by_day(c, survey_id, f) for f in views],
        "respondent_cells": lambda c: [profiles.respondent_cells(c, survey_id, f, answers.RAKING_DIMENSIONS)
                                       for f in views],
        "engaged_cells (a survey's respondents)": lambda c: profiles.engaged_cells(c, "respondents", views[0],
                                                                                    survey_id=survey_id),
        "weighted_survey_results": lambda c: [answers.weighted_survey_results(c, survey_id, f, None,
                                                                              tuple(question_ids)) for f in views],
    }


def _timed(engine, call, records: bool) -> tuple[float, float]:
    """(CPU, wall) seconds of one call, from the records or the summaries, with nothing remembered."""
    cached.clear()
    with engine.connect() as conn:
        cpu, wall = time.process_time(), time.perf_counter()
        if records:
            with summaries.records_only():
                call(conn)
        else:
            call(conn)
        return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summaries", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the store (SQLAlchemy URL), loaded by the demo generator or imports")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    engine = make_engine(args.url)
    r = m.SurveyResponse
    with engine.connect() as conn:
        if not summaries.current(conn):
            print("The store's summaries are not current: load it with this version (python -m bench builds one).")
            return 1
        survey_id = conn.execute(select(r.survey_id).group_by(r.survey_id).order_by(func.count().desc())).first()[0]
        questions = answers.survey_questions(conn, survey_id)
    question_ids = [int(i) for i, t in zip(questions["id"], questions["qtype"]) if t != "free_text"]
    free_text_ids = [int(i) for i, t in zip(questions["id"], questions["qtype"]) if t == "free_text"]
    print(f"Survey {survey_id} ({len(question_ids)} questions that are not free text, {len(free_text_ids)} free "
          "text); all areas and East Kent.\n")
    print("| function | records CPU (s) | summaries CPU (s) | records wall (s) | summaries wall (s) |")
    print("| --- | --- | --- | --- | --- |")
    for name, call in _calls(survey_id, question_ids, free_text_ids).items():
        (rc, rw), (sc, sw) = _timed(engine, call, True), _timed(engine, call, False)
        print(f"| {name} | {rc:.3f} | {sc:.3f} | {rw:.3f} | {sw:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
