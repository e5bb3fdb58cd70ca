"""Data: editors load the team's files (with a preview first), see the import log, undo an import,
and load reference data and a postcode lookup. Anyone else sees "No access" and nothing that writes."""

import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from data_access import cached
from data_access.db import StoreError
from data_access.importing.kinds import KINDS
from data_access.importing.pipeline import Preview, commit_import, import_log, preview_import, undo_import
from data_access.importing.postcodes import load_postcode_lookup, postcode_lookup_size
from data_access.importing.reading import limits
from data_access.importing.responses import MappingError, parse_mapping_lines
from data_access.models import Survey
from ui.auth import require_editor
from ui.context import open_run

run = open_run()
st.title("Data")
user = require_editor()  # stops here for anyone who is not an editor

NEW_SURVEY = "(a new survey)"
st.session_state.setdefault("data_upload_round", 0)


def md(text: object) -> str:
    """Text from a file, shown as plain text inside Markdown (no links, no formatting, no HTML)."""
    return re.sub(r"([\\`*_{}\[\]()#|<>~$&])", r"\\\1", str(text))


def survey_titles() -> list[str]:
    from sqlalchemy import select

    with run.engine.connect() as conn:
        return list(conn.execute(select(Survey.title).order_by(Survey.opens_on.desc(), Survey.title)).scalars())


def show_preview(preview: Preview) -> None:
    """What the import would do: counts, personal data dropped, notices, changes and rejected rows."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("To add", f"{len(preview.to_add):,}")
    c2.metric("To update", f"{preview.updated:,}", help="Records already stored that this file changes, e.g. a "
                                                          "leaving date or an action's status.")
    c3.metric("Already in the store", f"{preview.already_present:,}", help="Matched on each record's own key "
                                                                          "(e.g. the survey tool's response id).")
    c4.metric("Rejected", f"{len(preview.rejected):,}")
    st.caption(f"{md(preview.file_name)}: read as {preview.encoding}.")
    if preview.dropped:
        lines = []
        for col, what in preview.dropped.items():
            use = (" It was used to find each row's small area through the postcode lookup." if
                   col == preview.postcode_column else "")
            lines.append(f"- Column '{md(col)}' looks like it holds {what}.{use}")
        st.warning("**Personal data is not stored.** These columns were dropped:\n" + "\n".join(lines),
                   icon=":material/shield_person:")
    if preview.survey_title is not None:
        st.markdown(f"**Survey:** {md(preview.survey_title)}"
                    + (" (new: it will be created)" if preview.survey_id is None else ""))
        st.dataframe(preview.mapping_table, hide_index=True, width="stretch", key="data_mapping_table")
    for notice in preview.notices:
        st.info(md(notice))
    if preview.ignored:
        st.caption("Columns not imported: " + ", ".join(f"'{md(c)}'" for c in preview.ignored))
    if len(preview.to_update):
        st.markdown("**Changes to records already stored**")
        st.dataframe(preview.to_update.rename(columns={"row": "file row", "old": "now", "new": "will be"})
                     [["file row", "field", "now", "will be"]].astype(str), hide_index=True, width="stretch",
                     key="data_updates")
    if preview.rejected:
        st.markdown("**Rejected rows** (file row, column and reason)")
        st.dataframe(preview.rejected_table(), hide_index=True, width="stretch", key="data_rejected")


def import_section() -> None:
    """Upload, choose the kind, preview, then import."""
    done = st.session_state.pop("data_done", None)
    if done:
        st.success(done)
    max_bytes, max_rows = limits()
    kind = st.selectbox("What the file holds", list(KINDS), format_func=lambda k: KINDS[k].label.capitalize(),
                        key="data_kind")
    survey, mapping_text = None, ""
    if KINDS[kind].wide:
        titles = survey_titles()
        choice = st.selectbox("Survey", [NEW_SURVEY, *titles], key="data_survey",
                              help="The survey the responses are for. Its saved column mapping is used again.")
        survey = st.text_input("New survey's title", key="data_new_survey", max_chars=200) \
            if choice == NEW_SURVEY else choice
        mapping_text = st.text_area(
            "Change the column mapping (optional)", key="data_mapping", height=90,
            help="One line per column: COLUMN=WHAT, where WHAT is a field (response id, submitted, channel, area, "
                 "birth year, age, sex, ethnic group, disability), 'question', 'question: TEXT', 'free text', "
                 "'single choice', 'multiple choice', 'agreement scale' or 'ignore'. It is saved with the survey.")
    uploaded = st.file_uploader(
        f"File (CSV or Excel .xlsx; up to {max_bytes / 1024 / 1024:,.0f} MB and {max_rows:,} rows)",
        type=["csv", "xlsx"], key=f"data_file_{st.session_state['data_upload_round']}")
    if uploaded is None:
        return
    if KINDS[kind].wide and not (survey or "").strip():
        st.info("Give the new survey a title (or choose a survey) to see the preview.")
        return
    try:
        mapping = parse_mapping_lines(KINDS[kind], [ln for ln in mapping_text.splitlines() if ln.strip()])
        preview = preview_import(run.engine, kind, uploaded.name, data=uploaded.getvalue(), name=uploaded.name,
                                 survey=survey, mapping=mapping)
    except MappingError as exc:
        st.error(f"The column mapping is not right: {md(exc)}.")
        return
    except StoreError as exc:
        st.error(md(exc))
        return
    st.subheader("Preview")
    show_preview(preview)
    skip = False
    if preview.rejected:
        skip = st.checkbox("Import the other rows and leave the rejected ones out", key="data_skip")
    changes = len(preview.to_add) + preview.updated
    if not changes:
        st.info("Nothing to import: every record in the file is already in the store.")
        return
    blocked = bool(preview.rejected) and not skip
    if blocked:
        st.caption("Nothing will be imported while rows are rejected: correct the file, or tick the box above.")
    if st.button(f"Import: add {len(preview.to_add):,} and update {preview.updated:,}", type="primary",
                 key="data_commit", disabled=blocked):
        try:
            import_id = commit_import(run.engine, preview, user)
        except Exception as exc:  # noqa: BLE001 - the transaction was rolled back; say so, no traceback
            st.error(f"Nothing was imported: the store refused the write ({exc.__class__.__name__}). Check the "
                     "file again: someone may have imported an overlapping file meanwhile.")
            return
        st.session_state["data_upload_round"] += 1
        st.session_state["data_done"] = (f"Imported as number {import_id}: {len(preview.to_add):,} added, "
                                         f"{preview.updated:,} updated. You can undo it from the import log.")
        st.rerun()


def log_section() -> None:
    """The import log, and undo."""
    done = st.session_state.pop("data_undone", None)
    if done:
        st.success(done)
    with run.engine.connect() as conn:
        log = import_log(conn)
    if log.empty:
        st.info("No files have been imported yet.")
        return
    shown = pd.DataFrame({
        "number": log["id"], "when": pd.to_datetime(log["imported_at"]).dt.strftime("%d/%m/%Y %H:%M"),
        "kind": log["kind"].map(lambda k: KINDS[k].label if k in KINDS else k), "file": log["file_name"],
        "by": log["imported_by"], "added": log["rows_added"], "updated": log["rows_updated"],
        "already present": log["rows_skipped"], "rejected": log["rows_rejected"],
        "personal-data columns dropped": log["columns_dropped"],
        "undone": [f"{pd.Timestamp(t):%d/%m/%Y %H:%M} by {b}" if pd.notna(t) else "" for t, b in
                   zip(log["undone_at"], log["undone_by"])],
        "SHA-256": log["file_hash"].str[:12] + "…",
    })
    st.dataframe(shown, hide_index=True, width="stretch", key="data_log")
    live = log[log["undone_at"].isna()]
    if live.empty:
        return
    st.markdown("**Undo an import**: removes every record it added, puts back values it changed (unless a later "
                "import changed them again), and removes networks, surveys and questions it created that nothing "
                "else uses.")
    labels = {int(r.id): f"{r.id}: {KINDS[r.kind].label if r.kind in KINDS else r.kind} from {r.file_name}"
              for r in live.itertuples()}
    chosen = st.selectbox("Import to undo", list(labels), format_func=labels.get, key="data_undo_choice")
    sure = st.checkbox("Yes, undo this import", key="data_undo_sure")
    if st.button("Undo the import", key="data_undo", disabled=not sure):
        try:
            result = undo_import(run.engine, int(chosen), user)
        except StoreError as exc:
            st.error(md(exc))
            return
        st.session_state["data_undone"] = result.sentence()
        st.session_state.pop("data_undo_sure", None)
        st.rerun()


def reference_section() -> None:
    """Reference data (IMD, census, boundaries, lookups) and the postcode lookup."""
    st.markdown("The English Indices of Deprivation, Census 2021 tables, the small-area-to-ICP lookup and the "
                "boundaries, in the official releases' own formats (CSV, Excel or GeoJSON).")
    files = st.file_uploader("Reference files", type=["csv", "xlsx", "geojson", "json"], accept_multiple_files=True,
                             key="data_reference")
    if files and st.button("Load the reference files", key="data_reference_load"):
        from data_access.reference_import import import_reference

        with tempfile.TemporaryDirectory() as folder:
            for f in files:
                (Path(folder) / Path(f.name).name).write_bytes(f.getvalue())
            try:
                report = import_reference(run.engine, folder)
            except StoreError as exc:
                st.error(md(exc))
            else:
                cached.clear()  # the data version has changed too; this frees the old results at once
                st.success("Reference data loaded.")
                st.text(report.summary())
    with run.engine.connect() as conn:
        size = postcode_lookup_size(conn)
    st.markdown("**Postcode lookup** (e.g. the ONS National Statistics Postcode Lookup: columns pcds and lsoa21): "
                "lets a file's full postcodes find their small area. Postcodes in your files are never stored. "
                + (f"Loaded now: {size:,} postcodes." if size else "None is loaded."))
    lookup = st.file_uploader("Postcode lookup (CSV)", type=["csv"], key="data_postcodes")
    if lookup is not None and st.button("Load the postcode lookup", key="data_postcodes_load"):
        try:
            report = load_postcode_lookup(run.engine, lookup.name, data=lookup.getvalue(), name=lookup.name)
        except StoreError as exc:
            st.error(md(exc))
        else:
            st.success(md(report.sentence()))


st.caption(f"Signed in as an editor: {md(user)}. Every import is logged, and can be undone as a whole.")
tab_import, tab_log, tab_reference = st.tabs(["Import a file", "Import log", "Reference data"])
with tab_import:
    import_section()
with tab_log:
    log_section()
with tab_reference:
    reference_section()
