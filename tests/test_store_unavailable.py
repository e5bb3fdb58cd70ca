"""A damaged store, a locked one, or an unreachable PostgreSQL gives one clear sentence on every page, never a
traceback (AppTest, every page opened by its address)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["pages/overview.py", "pages/network_growth.py", "pages/survey_responses.py", "pages/panel_coverage.py",
         "pages/deprivation_map.py", "pages/data.py"]
MESSAGE = "The dashboard cannot read its data store."


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)
    at.run()
    return at


def assert_clear_message(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error][:1] and at.error[0].value.startswith(MESSAGE)
    assert not at.get("plotly_chart") and not at.get("file_uploader")


@pytest.mark.parametrize("page", PAGES)
def test_a_damaged_store_file(page, tmp_path, monkeypatch):
    path = tmp_path / "damaged.db"
    path.write_bytes(b"this is not a database, it was cut short by a full disk" * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert_clear_message(open_page(page))


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/data.py"])
def test_an_unreachable_postgresql(page, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    at = open_page(page)
    assert_clear_message(at)
    assert "Check that DATABASE_URL points at a reachable database" in at.error[0].value


def test_a_locked_store(tmp_path, monkeypatch):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("CREATE TABLE held (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO held VALUES (1)")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}?timeout=0.5")
    try:
        assert_clear_message(open_page("pages/overview.py"))
    finally:
        holder.rollback()
        holder.close()
