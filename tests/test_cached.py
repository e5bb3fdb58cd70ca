"""data_access.cached.built: a chart (or pandas work) kept between reruns, worked out again exactly when its
inputs, the data version or the disclosure policy change."""

from __future__ import annotations

import pandas as pd
import pytest
import streamlit as st

from data_access import cached


@pytest.fixture
def calls(monkeypatch):
    """A build function that counts its calls; the data version is set by the test."""
    st.cache_resource.clear()
    monkeypatch.setattr(cached, "data_version", lambda: "v1")
    monkeypatch.setattr(cached, "database_url", lambda: "sqlite:///nowhere.db")
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    seen = []

    def total(frame: pd.DataFrame, label: str) -> str:
        seen.append(label)
        return f"{label}: {int(frame['n'].sum())} {frame.attrs.get('note', '')}".strip()

    yield total, seen
    st.cache_resource.clear()


def test_the_same_inputs_are_built_once(calls):
    total, seen = calls
    a = cached.built(total, pd.DataFrame({"n": [1, 2]}), "x")
    b = cached.built(total, pd.DataFrame({"n": [1, 2]}), "x")  # an equal frame, not the same object
    assert a == b == "x: 3" and seen == ["x"]


def test_other_values_columns_or_attrs_are_built_again(calls):
    total, seen = calls
    assert cached.built(total, pd.DataFrame({"n": [1, 2]}), "x") == "x: 3"
    assert cached.built(total, pd.DataFrame({"n": [1, 3]}), "x") == "x: 4"
    assert cached.built(total, pd.DataFrame({"n": [1, 2]}), "y") == "y: 3"
    noted = pd.DataFrame({"n": [1, 2]})
    noted.attrs["note"] = "(12 joined)"
    assert cached.built(total, noted, "x") == "x: 3 (12 joined)"
    assert len(seen) == 4


def test_a_new_data_version_or_policy_builds_again(calls, monkeypatch):
    total, seen = calls
    frame = pd.DataFrame({"n": [5]})
    cached.built(total, frame, "x")
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    cached.built(total, frame, "x")
    monkeypatch.setattr(cached, "data_version", lambda: "v2")
    cached.built(total, frame, "x")
    cached.built(total, frame, "x")
    assert len(seen) == 3


def test_frames_pandas_cannot_hash_are_told_apart(calls):
    total, seen = calls

    def first(frame: pd.DataFrame) -> list:
        seen.append("first")
        return frame["options"].iloc[0]

    assert cached.built(first, pd.DataFrame({"options": [["a", "b"]]})) == ["a", "b"]
    assert cached.built(first, pd.DataFrame({"options": [["a", "c"]]})) == ["a", "c"]
    assert cached.built(first, pd.DataFrame({"options": [["a", "c"]]})) == ["a", "c"]
    assert seen == ["first", "first"]
