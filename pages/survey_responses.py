"""Survey responses: all surveys at a glance, one survey against its target, the results for every
question (by group, and weighted to residents), who responded against who lives there,
"You said, we did", and reach over time."""

import pandas as pd
import streamlit as st

from charts.questions import (
    choice_chart, choice_group_chart, likert_chart, themes_chart, weighted_chart, weights_shown,
)
from charts.representation import representation_chart
from charts.theme import hidden_words
from charts.surveys import (
    actions_sentence, channel_chart, gaps_sentence, gaps_table, glance_sentence, glance_table, progress_chart,
    reach_chart,
)
from data_access.actions import open_actions, survey_actions
from data_access.answers import (
    BREAKDOWNS, free_text_summary, question_by_group, question_results, survey_questions, survey_weights,
    weighted_survey_results,
)
from data_access.disclosure import describe, format_count, is_small, threshold
from data_access.geography import core20_share_of_residents, geography_status
from data_access.models import CHANNELS_SURVEY
from data_access.profiles import DIMENSIONS, representation_tables, resident_counts
from data_access.surveys import (
    REPRESENTATION_DIMENSIONS, YOUNG_BANDS, covered_areas, glance_with_reach, progress_against_target, promotions,
    reach_over_time_from, representation_gaps, responses_by_day, responses_by_week, survey, survey_reach_in,
    survey_summary, target_verdict,
)
from ui.context import open_run
from ui.render import data_table, icp_caveat, plain, show_chart, synthetic_notice


def sentence(text: str) -> None:
    """A plain-English sentence in the large style used under charts (the text is escaped)."""
    safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    st.markdown(f"<p class='chart-sentence'>{safe}</p>", unsafe_allow_html=True)


def at_a_glance(glance) -> None:
    st.subheader("All surveys at a glance")
    sentence(run.built(glance_sentence, glance))
    data_table(run.built(glance_table, glance))
    st.markdown("<p class='note'>Responses per 1,000 residents of the areas each survey covers (all ages). Core20: "
                "the share of respondents with a known home area who live in the most deprived 20% of England (IMD "
                f"deciles 1-2); blank where the numbers are too small to show or there is no population data. "
                f"{describe()}</p>",
                unsafe_allow_html=True)


def progress(survey_id: int, info: dict, daily, target: int | None, whole: int | None) -> None:
    st.subheader("Responses against target")
    prog = run.built(progress_against_target, daily, info["opens_on"], info["closes_on"], target, filters.end)
    verdict = run.built(target_verdict, prog, target, filters.end, whole, filters.icp)
    promo = run.query(promotions, survey_id)
    show_chart(run.built(progress_chart, prog, verdict, info["title"], promo), "progress")
    if not daily.empty:
        weekly = run.built(responses_by_week, daily, info["opens_on"], info["closes_on"], filters.end, CHANNELS_SURVEY)
        show_chart(run.built(channel_chart, weekly, CHANNELS_SURVEY), "channels", "How people responded")


def results(questions, n_responses: int) -> None:
    st.subheader("Results for every question")
    if n_responses < threshold():
        st.info(f"This survey has {format_count(n_responses)} responses from this area: "
                f"results are shown once at least {threshold()} people have responded, so that no one can be "
                "identified from their answers.")
        return
    if questions.empty:
        st.info("No questions are recorded for this survey.")
        return
    for q in questions.itertuples():
        label = f"Q{q.position}. {q.text}"
        if q.qtype == "free_text":
            free = run.query(free_text_summary, int(q.id), filters)
            if free["answers"] == 0:
                st.markdown(f"**{plain(label)}**")
                st.info("Nobody has answered this question.")
                continue
            if is_small(free["answers"]):
                st.markdown(f"**{plain(label)}**")
                st.info(f"Fewer than {threshold()} people answered this question, so the answers are not shown.")
                continue
            show_chart(run.built(themes_chart, free, label), f"q{q.id}", label)
            if free["examples"]:
                st.markdown("Recent answers, as written:")
                for text in free["examples"]:
                    st.text(f"“{text}”")
            else:
                st.caption(f"Examples are not shown where {hidden_words()} people answered.")
            continue
        res = run.query(question_results, int(q.id), filters)
        n = int(res.attrs.get("answered", 0))
        if n == 0:
            st.markdown(f"**{plain(label)}**")
            st.info("Nobody has answered this question.")
        elif n < threshold():
            st.markdown(f"**{plain(label)}**")
            st.info(f"Fewer than {threshold()} people answered this question, so the answers are not shown.")
        elif q.qtype == "likert":
            show_chart(run.built(likert_chart, res, q.options, label), f"q{q.id}", label)
        else:
            show_chart(run.built(choice_chart, res, label, q.qtype == "multiple"), f"q{q.id}", label)


def breakdown(questions) -> None:
    st.subheader("Answers by group")
    closed = questions[questions["qtype"] != "free_text"]
    if closed.empty:
        st.info("This survey has no multiple-choice or scale questions to break down.")
        return
    labels = {int(q.id): f"Q{q.position}. {q.text}" for q in closed.itertuples()}
    c1, c2 = st.columns([2, 1])
    qid = c1.selectbox("Question", list(labels), format_func=labels.get, key="breakdown_question")
    dim = c2.selectbox("Break down by", BREAKDOWNS, format_func=DIMENSIONS.get, key="breakdown_dim")
    q = closed.set_index("id").loc[qid]
    by = run.query(question_by_group, int(qid), dim, filters)
    if by.empty:
        st.info("Nobody has answered this question.")
        return
    if by.attrs.get("withheld"):
        st.info(by.attrs["withheld"])
        return
    if q["qtype"] == "likert":
        chart = run.built(likert_chart, by, q["options"], labels[qid], row_col="group", dimension_label=DIMENSIONS[dim])
    else:
        chart = run.built(choice_group_chart, by, labels[qid], DIMENSIONS[dim])
    show_chart(chart, "breakdown")
    st.caption(f"Groups and answers with {hidden_words()} people are not shown, nor others from which they "
               "could be worked out. Age is as at responding.")


def who_responded(survey_id: int, areas, area_label: str) -> None:
    st.subheader("Who responded, against who lives there")
    gaps = run.query(representation_gaps, survey_id, filters, areas)
    sentence(run.built(gaps_sentence, gaps, area_label))
    if gaps["ratio"].isna().all():
        st.info("There is no population data for the areas this survey covers, so respondents cannot be compared "
                "with residents. Load the census population with `engagement import-reference`.")
        return
    data_table(run.built(gaps_table, gaps))
    tabs = st.tabs([DIMENSIONS[d] for d in REPRESENTATION_DIMENSIONS])
    reps = run.query(representation_tables, "respondents", filters, REPRESENTATION_DIMENSIONS, survey_id=survey_id,
                 icp_names=areas)
    for tab, dim in zip(tabs, REPRESENTATION_DIMENSIONS):
        with tab:
            rep = reps[dim]
            show_chart(run.built(representation_chart, rep, "respondents", DIMENSIONS[dim], area_label), f"rep_{dim}")
    st.caption("Age compares respondents with residents aged 16 and over, as at the date they responded. "
               f"Shares are of people whose group is known. {describe()}")


def weighted(survey_id: int, questions, areas) -> None:
    st.subheader("Results weighted to match residents")
    weights = run.query(survey_weights, survey_id, filters, areas)
    if not weights.ok:
        st.info(weights.message)
        return
    c1, c2, c3 = st.columns(3)
    shown = weights_shown(weights)
    c1.metric("Respondents weighted", shown["weighted"],
              help="Respondents who gave their age, sex and home area; the rest are left out of weighted results.")
    c2.metric("Design effect", shown["design_effect"], help="Kish's design effect of the weights: n Σw² / (Σw)².")
    c3.metric("Effective sample size", shown["effective_size"],
              help="How many people a simple random sample would need to be as precise: (Σw)² / Σw².")
    st.caption("Raking (iterative proportional fitting) to residents' shares by age band (16+), sex and IMD quintile "
               f"in the areas the survey covers. {shown['left_out']} respondents without all three are left out.")
    closed = questions[questions["qtype"].isin(["likert", "single"])]
    every = run.query(weighted_survey_results, survey_id, filters, areas, tuple(int(i) for i in closed["id"]))
    for q in closed.itertuples():
        label = f"Q{q.position}. {q.text}"
        res, w = every[int(q.id)]
        answered = int(res.attrs.get("answered", 0))
        if answered < threshold():
            st.markdown(f"**{plain(label)}**")
            st.info("Too few people answered this question to weight it.")
            continue
        show_chart(run.built(weighted_chart, res, w, label, q.qtype == "likert"), f"w{q.id}", label)


def you_said_we_did(survey_id: int, title: str) -> None:
    st.subheader("You said, we did")
    acts = run.query(survey_actions, survey_id)
    sentence(actions_sentence(acts, title))
    if not acts.empty:
        data_table(acts.rename(columns={"theme": "Theme", "you_said": "You said", "we_did": "We did",
                                        "status": "Status", "action_date": "Date"}))


def open_actions_table() -> None:
    st.subheader("Open actions across all surveys")
    acts = run.query(open_actions, filters)
    if acts.empty:
        st.info("Every recorded action for surveys in this area is done.")
        return
    sentence(f"{len(acts):,} action{' is' if len(acts) == 1 else 's are'} not yet done ({int((acts['status'] == 'In progress').sum()):,} in progress, "
             f"{int((acts['status'] == 'Planned').sum()):,} planned); the oldest dates from "
             f"{acts['action_date'].min():%-d %B %Y}.")
    data_table(acts.rename(columns={"survey": "Survey", "theme": "Theme", "you_said": "You said",
                                    "we_did": "We did", "status": "Status", "action_date": "Date"}))


def reach() -> None:
    st.subheader("Reach over time: are we hearing from more deprived areas and younger people?")
    data = run.built(reach_over_time_from, survey_reach)
    if data.empty:
        st.info("No survey has responses from this area yet.")
        return
    ages = run.query(resident_counts, "age_band", filters.icp)
    adults = int(ages["residents"].sum())
    young = int(ages.loc[ages["group"].isin(YOUNG_BANDS), "residents"].sum())
    show_chart(run.built(reach_chart, data, run.query(core20_share_of_residents, filters.icp),
                     young / adults if adults else None), "reach")


run = open_run()
filters = run.filters
st.title("Survey responses")
st.markdown(f"**{filters.area_label}**, surveys open between {filters.start:%-d %B %Y} and {filters.end:%-d %B %Y} "
            "or still to come.")
synthetic_notice(run.query(geography_status))

survey_reach = run.query(survey_reach_in, filters.icp)  # all dates: the same for any period
glance = run.built(glance_with_reach, run.query(survey_summary, filters), survey_reach)
if glance.empty:
    st.info("No surveys were open in this period in this area. Widen the period in the sidebar.")
    st.stop()
at_a_glance(glance)

labels = {int(r.id): f"{r.title} ({r.status.lower()}, {r.opens_on:%b %Y})" for r in glance.itertuples()}
open_now = glance[glance["status"] == "Open"]
default_id = int(open_now["id"].iloc[0]) if len(open_now) else int(glance["id"].iloc[0])
survey_id = st.selectbox("Survey", list(labels), format_func=labels.get, index=list(labels).index(default_id),
                         key="survey_choice")
info = run.query(survey, survey_id)
row = glance.set_index("id").loc[survey_id]
areas = covered_areas(info["areas"], filters.icp)
area_label = filters.icp or (", ".join(info["areas"]) if info["areas"] else "Kent and Medway")

st.header(plain(info["title"]), anchor=False)
st.markdown(f"Open {info['opens_on']:%-d %B %Y} to {info['closes_on']:%-d %B %Y}. "
            f"Areas covered: {plain(', '.join(info['areas']) or 'all of Kent and Medway')}.")
daily = run.query(responses_by_day, survey_id, filters)
n_responses = int(daily["responses"].sum()) if len(daily) else 0
m1, m2, m3, m4 = st.columns(4)
# With an ICP area chosen, its share of the survey's target by population (as on the overview).
target = None if pd.isna(row["target"]) else int(row["target"])
whole = None if pd.isna(row["target_all"]) else int(row["target_all"])
# the progress chart publishes the days and the running total with this figure: hidden where it hides it
linked = run.built(progress_against_target, daily, info["opens_on"], info["closes_on"], target,
               filters.end).attrs.get("total_hidden", False)
m1.metric("Responses", "not shown" if linked and not is_small(n_responses) else format_count(n_responses))
m2.metric("Target", f"{target:,}" if target else "none set",
          help=(f"{filters.icp}'s share of the survey's target of {whole:,}, by population among the areas it "
                "covers." if target and whole != target else None))
m3.metric("Days left" if row["status"] == "Open" else "Status",
          f"{int(row['days_left']):,}" if row["status"] == "Open" else row["status"])
total_hidden = pd.isna(row["responses"])  # small, or hidden so that a small count elsewhere cannot be worked out
m4.metric("Per 1,000 residents", ("not shown" if is_small(n_responses) or total_hidden else "no data")
          if pd.isna(row["per_1000"])
          else f"{row['per_1000']:.1f}",
          help="Responses per 1,000 residents (all ages) of the areas the survey covers.")
if pd.isna(row["per_1000"]) and not is_small(n_responses) and not total_hidden:
    st.info("There is no population data for the areas this survey covers, so there is no response rate, and "
            "respondents cannot be compared with residents.")

if info["opens_on"] > filters.end:
    st.info("This survey has not opened yet.")
else:
    progress(survey_id, info, daily, target, whole)
if n_responses == 0:
    st.info("This survey has no responses from this area yet, so there are no results to show.")
else:
    questions = run.query(survey_questions, survey_id)
    results(questions, n_responses)
    if n_responses >= threshold():
        breakdown(questions)
        who_responded(survey_id, areas, area_label)
        weighted(survey_id, questions, areas)
you_said_we_did(survey_id, info["title"])
open_actions_table()
reach()
icp_caveat()
