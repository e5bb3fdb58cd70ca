"""A reader never sees half an import: while a large import is being written (paused after its first batch
of rows), another connection sees the store as it was; after the commit, all of it (SQLite in WAL mode, and
PostgreSQL)."""

import threading

import pytest
from sqlalchemy import event, func, select, text

from data_access import models as m
from data_access.importing.pipeline import commit_import, preview_import
from tests.factories import build_tiny_store

ROWS = 12_000  # more than two batches of 5,000


def count(conn) -> int:
    return conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one()


def test_a_reader_sees_all_of_an_import_or_none_of_it(engine, tmp_path):
    build_tiny_store(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    lines = ["Member ID,Network,Joined,Area,Channel"]
    lines += [f"L{i:06d},Patient Network,{1 + i % 28:02d}/01/2025,A1,Event" for i in range(ROWS)]
    path = tmp_path / "large.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    preview = preview_import(engine, "memberships", path)
    assert len(preview.to_add) == ROWS
    with engine.connect() as conn:
        before = count(conn)

    first_batch_written, reader_done = threading.Event(), threading.Event()
    writer: dict = {}

    def pause_after_first_batch(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == writer.get("thread") and statement.startswith("INSERT INTO networkmembership") \
                and not first_batch_written.is_set():
            first_batch_written.set()
            reader_done.wait(timeout=60)

    event.listen(engine, "after_cursor_execute", pause_after_first_batch)

    def write():
        writer["thread"] = threading.get_ident()
        try:
            writer["id"] = commit_import(engine, preview, "tester")
        except Exception as exc:  # noqa: BLE001 - reported below
            writer["error"] = exc

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert first_batch_written.wait(timeout=120), "the import did not start writing"
        with engine.connect() as conn:  # another connection, while the import is half written
            during = count(conn)
            log_entries = conn.execute(select(func.count()).select_from(m.ImportLog)).scalar_one()
    finally:
        reader_done.set()
        thread.join(timeout=120)
        event.remove(engine, "after_cursor_execute", pause_after_first_batch)
    assert "error" not in writer, writer.get("error")
    assert during == before and log_entries == 0  # none of it, not even the log entry
    with engine.connect() as conn:
        assert count(conn) == before + ROWS  # then all of it
