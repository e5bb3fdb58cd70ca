"""Thin Streamlit caching wrappers around the engine and the query functions.

The only module in data_access that imports Streamlit. Everything else is plain Python.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import pandas as pd
import streamlit as st

from data_access.disclosure import policy
from data_access.db import database_url, init_db, make_engine
from data_access.settings import get_setting


@st.cache_resource(show_spinner="Opening the data store…")
def engine_for(url: str):
    """One engine per database URL for the server's lifetime; on first start an empty store is created and filled
    with the shipped Kent and Medway reference data and demo engagement data on it."""
    from data_access.first_start import fill_empty_store

    engine = make_engine(url)
    init_db(engine)
    fill_empty_store(engine)
    return engine


def engine():
    """The engine for the configured store."""
    return engine_for(database_url())


def data_version() -> str:
    """A stamp that changes whenever data is loaded, so cached results are refreshed."""
    with engine().connect() as conn:
        return get_setting(conn, "data_version", "0") or "0"


@st.cache_data(ttl=3600, show_spinner=False, max_entries=512)
def _cached_call(_fn: Callable, name: str, version: str, url: str, rules: Any, args: tuple, kwargs: tuple) -> Any:
    with engine_for(url).connect() as conn:
        return _fn(conn, *args, **dict(kwargs))


def query(fn: Callable, *args, **kwargs) -> Any:
    """Call a data_access query function fn(conn, *args, **kwargs), cached per data version and disclosure policy
    (small counts are hidden in the queries)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    return _cached_call(fn, name, data_version(), database_url(), policy(), args, tuple(sorted(kwargs.items())))


@st.cache_resource(ttl=3600, show_spinner=False, max_entries=16)
def _kept(_build: Callable, name: str, version: str, url: str, key: tuple) -> Any:
    return _build()


def kept(name: str, build: Callable[[], Any], *key) -> Any:
    """build() run once per data version and key (the inputs it depends on), and the same object handed back
    on later runs without copying: for charts too big to rebuild on every rerun (the map with every outline).
    The object must be treated as read-only."""
    return _kept(build, name, data_version(), database_url(), key)


def _frame_key(frame: pd.DataFrame) -> tuple:
    """What a DataFrame argument of a cached build is told apart by: its columns, types, index, values and attrs
    (Streamlit's own hash leaves out attrs, which carry shown totals)."""
    try:
        values = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # cells that pandas cannot hash (lists): compare their text instead
        values = frame.to_csv().encode()
    return (tuple(map(str, frame.columns)), tuple(map(str, frame.dtypes)), frame.shape, values,
            repr(sorted(frame.attrs.items())))


@st.cache_resource(ttl=3600, show_spinner=False, max_entries=768,
                   hash_funcs={pd.DataFrame: _frame_key})
def _built(_build: Callable, name: str, version: str, url: str, rules: Any, args: tuple, kwargs: tuple) -> Any:
    return _build(*args, **dict(kwargs))


def built(build: Callable, *args, **kwargs) -> Any:
    """build(*args, **kwargs) (a chart from query results, or pandas work on them) worked out once per data
    version, disclosure policy and inputs (DataFrames compared by value), and the same object handed back on
    later runs without copying, so a rerun does not rebuild every plotly figure. The result must be treated as
    read-only."""
    name = f"{build.__module__}.{build.__qualname__}"
    return _built(build, name, data_version(), database_url(), policy(), args, tuple(sorted(kwargs.items())))


@st.cache_data(ttl=3600, show_spinner=False)
def _date_bounds(version: str, url: str) -> tuple[dt.date, dt.date]:
    from data_access.filters import data_bounds

    with engine_for(url).connect() as conn:
        return data_bounds(conn)


def date_bounds() -> tuple[dt.date, dt.date]:
    """The first and last dates with engagement data (the last is the default period end)."""
    return _date_bounds(data_version(), database_url())
