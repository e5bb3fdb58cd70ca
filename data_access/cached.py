"""The one cache: query results and what is built from them, kept per store, data version and disclosure policy.

Plain Python, used the same way by the pages, the board pack, the CLI and the benchmark. A QueryContext is made
once per page run (or per board pack): it holds the engine, the data version (read once), the disclosure policy
and the filters, with the ICP area resolved to its id. ``context.query(fn, ...)`` calls a data_access query
function fn(conn, ...) and ``context.built(build, ...)`` a chart or pandas step; both results are kept under
(store — its engine, one per database URL in the server —, data version, policy, function, arguments), and the same object is handed back on later calls without
copying, so it must be treated as read-only. A DataFrame argument that is itself a kept result is told apart by
the key it was kept under (no hashing of its values); any other DataFrame by its values and attrs.

Inside data_access, a helper that several query functions share is decorated with ``remembered``: the same cache
and key, the data version read from the connection a QueryContext opened (or from the store), and each caller
given its own copy (callers may change it). A store without a data version (one filled by hand, as in some tests)
is always read afresh. Streamlit's own cache holds only the engine (``engine``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import copy
import dataclasses
import functools
import inspect
import math
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from data_access.disclosure import Policy, policy
from data_access.settings import get_setting

if TYPE_CHECKING:
    from data_access.filters import Filters

MAX_ENTRIES = 4096
# Results too big to keep many of: at most this many of each function's (the map with every outline, one per view
# and chosen area).
FEW = {"charts.maps.deprivation_map_chart": 16}
VERSION = "data_version"  # the setting every import, undo and demo load changes; also the key in conn.info
RULES = "disclosure_policy"  # the policy a QueryContext's connection works under, in conn.info

# Results of these kinds are told apart by their value when passed on (None, numbers and text are shared objects).
_VALUES = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset, dt.date, dt.timedelta, np.generic)

_lock = threading.RLock()
_results: OrderedDict = OrderedDict()
_making: dict[tuple, threading.RLock] = {}  # key -> held while its result is being made
_key_of: dict[int, tuple] = {}  # id(kept result) -> its key, while it is kept (the key holds the result alive)


def _frame_key(frame: pd.DataFrame | pd.Series) -> tuple:
    """What a DataFrame (or Series) that is not a kept result is told apart by: its columns, types, index, values
    and attrs (which carry shown totals)."""
    try:
        values = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # cells that pandas cannot hash (lists): compare their text instead
        values = frame.to_csv().encode()
    columns = frame.columns if isinstance(frame, pd.DataFrame) else [frame.name]
    dtypes = frame.dtypes if isinstance(frame, pd.DataFrame) else [frame.dtype]
    return (type(frame).__name__, tuple(map(str, columns)), tuple(map(str, dtypes)), frame.shape, values,
            repr(sorted(frame.attrs.items())))


def _frozen(value: Any) -> Any:
    """A hashable stand-in for an argument: a kept result by its key, a DataFrame by its values, containers
    element by element."""
    kept = _key_of.get(id(value))
    if kept is not None and _results.get(kept, (None,))[0] is value:
        return ("kept", kept)
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return ("frame", _frame_key(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(value))
    if isinstance(value, float) and math.isnan(value):  # NaN is not equal to itself
        return ("nan",)
    if isinstance(value, np.ndarray):
        return ("array", str(value.dtype), value.shape, value.tobytes())
    try:
        hash(value)
    except TypeError:  # an object of another kind: by its type and its fields
        fields = vars(value) if hasattr(value, "__dict__") else {"state": value.__reduce__()}
        return (type(value).__qualname__, tuple((k, _frozen(v)) for k, v in fields.items()))
    return value


def _name(fn: Callable) -> str:
    """A function's name for the key; a page's own functions (every page runs as __main__) with its file's."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    code = getattr(fn, "__code__", None)
    return f"{name}@{code.co_filename}" if fn.__module__ == "__main__" and code is not None else name


def _kept_or_made(key: tuple, make: Callable[[], Any]) -> Any:
    """The result kept under key, or make()'s result, kept under it (made once when many readers ask at once)."""
    with _lock:
        if key in _results:
            _results.move_to_end(key)
            return _results[key][0]
        making = _making.setdefault(key, threading.RLock())  # re-entered where query(f) calls a @remembered f
    with making:  # readers asking for the same result wait for the first one's
        with _lock:
            if key in _results:
                return _results[key][0]
        try:
            return _kept(key, make())
        finally:
            with _lock:
                _making.pop(key, None)


def _kept(key: tuple, value: Any) -> Any:
    """value kept under key (the oldest results forgotten beyond the limits)."""
    with _lock:
        if key in _results:
            return _results[key][0]
        _results[key] = (value, key)
        if not isinstance(value, _VALUES):  # a frame, a chart...: told apart by its first key when passed on
            _key_of.setdefault(id(value), key)
        while len(_results) > MAX_ENTRIES:
            _forget(next(iter(_results)))
        limit = FEW.get(key[3]) if len(key) > 3 else None
        if limit is not None:
            alike = [k for k in _results if len(k) == len(key) and k[3] == key[3]]
            for old_key in alike[:-limit]:
                _forget(old_key)
    return value


def _forget(key: tuple) -> None:
    """Drop one kept result (the lock is held)."""
    old, _ = _results.pop(key)
    if _key_of.get(id(old)) == key:
        del _key_of[id(old)]


def _arguments(fn: Callable, args: tuple, kwargs: dict, skip: int = 0) -> tuple:
    """The call's arguments by name with defaults filled in (the same call however they are passed), frozen."""
    try:
        bound = inspect.signature(fn).bind(*([None] * skip), *args, **kwargs)
    except (TypeError, ValueError):  # no signature to bind to: positions and names as given
        return tuple(_frozen(a) for a in args) + tuple((k, _frozen(v)) for k, v in sorted(kwargs.items()))
    bound.apply_defaults()
    return tuple((k, _frozen(v)) for k, v in list(bound.arguments.items())[skip:])


@dataclasses.dataclass(frozen=True, eq=False)
class QueryContext:
    """One page run's (or board pack's) store, data version, disclosure policy and filters."""

    engine: Engine
    version: str | None  # None: the store has no data version (filled by hand), so nothing is kept
    rules: Policy
    filters: Filters | None = None
    icp_id: int | None = None
    conn: Connection | None = None  # run every query on this connection (see ``on``)

    @classmethod
    def open(cls, engine: Engine, filters: Filters | None = None) -> QueryContext:
        """A context with the store's data version read once and the ICP area of the filters resolved (an unknown
        area is an error, as in data_access.filters.icp_id), on one connection."""
        with engine.connect() as conn:
            return dataclasses.replace(cls.on(conn, filters), conn=None)

    @classmethod
    def on(cls, conn: Connection, filters: Filters | None = None) -> QueryContext:
        """A context whose queries all run on one open connection (a board pack built inside a caller's
        connection)."""
        from data_access.filters import Filters

        bare = cls(conn.engine, get_setting(conn, VERSION) or None, policy(), conn=conn)
        return bare.with_filters(filters or Filters())

    def with_filters(self, filters: Filters) -> QueryContext:
        """The same store, version and policy for other filters (their ICP area resolved)."""
        from data_access.filters import icp_id

        return dataclasses.replace(self, filters=filters, icp_id=self.query(icp_id, filters.icp))

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection that carries this context's data version and policy while it is in use (for
        ``remembered`` helpers; a pooled connection forgets them when it is handed back)."""
        with contextlib.ExitStack() as stack:
            conn = self.conn if self.conn is not None else stack.enter_context(self.engine.connect())
            kept = {k: conn.info[k] for k in (VERSION, RULES) if k in conn.info}
            conn.info.update({VERSION: self.version, RULES: self.rules})
            try:
                yield conn
            finally:
                conn.info.pop(VERSION, None)
                conn.info.pop(RULES, None)
                conn.info.update(kept)

    def _key(self, fn: Callable, args: tuple, kwargs: dict, skip: int) -> tuple:
        return (self.engine, self.version, self.rules, _name(fn), _arguments(fn, args, kwargs, skip))

    def query(self, fn: Callable, *args, **kwargs) -> Any:
        """fn(conn, *args, **kwargs), a data_access query function, kept per store, data version, policy and
        arguments (small counts are hidden in the queries). Read-only."""
        def make() -> Any:
            with self.connect() as conn:
                return fn(conn, *args, **kwargs)

        return make() if self.version is None else _kept_or_made(self._key(fn, args, kwargs, 1), make)

    def built(self, build: Callable, *args, **kwargs) -> Any:
        """build(*args, **kwargs) (a chart from query results, or pandas work on them), kept the same way, so a
        rerun does not rebuild every figure. Read-only."""
        if self.version is None:
            return build(*args, **kwargs)
        return _kept_or_made(self._key(build, args, kwargs, 0), lambda: build(*args, **kwargs))


def derived(fn: Callable[[Any], Any], value: Any) -> Any:
    """fn(value), kept with value when value is a kept result (under its key and fn's name), else worked out: for
    what the screen makes of a kept chart or table on every run (a table as shown). Read-only."""
    key = _key_of.get(id(value))
    if key is None or _results.get(key, (None,))[0] is not value:
        return fn(value)
    return _kept_or_made(key + ("derived", _name(fn)), lambda: fn(value))


def remembered(fn: Callable) -> Callable:
    """Decorator for a data_access helper fn(conn, *args, **kwargs) that several query functions share: kept in
    the one cache until the store's data version changes; each caller gets its own copy."""

    @functools.wraps(fn)
    def wrapper(conn: Connection, *args, **kwargs):
        version = conn.info.get(VERSION) or get_setting(conn, VERSION)
        if not version:
            return fn(conn, *args, **kwargs)
        rules = conn.info.get(RULES) or policy()
        key = (conn.engine, version, rules, _name(fn),
               _arguments(fn, args, kwargs, 1))
        return copy.deepcopy(_kept_or_made(key, lambda: fn(conn, *args, **kwargs)))

    return wrapper


def clear() -> None:
    """Forget every kept result (for timing a cold start)."""
    with _lock:
        _results.clear()
        _key_of.clear()


def size() -> int:
    """How many results are kept."""
    return len(_results)


def open_store(url: str) -> Engine:
    """The engine for a database URL; on first start an empty store is created and filled with the shipped Kent
    and Medway reference data and demo engagement data on it."""
    from data_access.db import init_db, make_engine
    from data_access.first_start import fill_empty_store

    engine = make_engine(url)
    init_db(engine)
    fill_empty_store(engine)
    return engine


@functools.cache
def _engines() -> Callable[[str], Engine]:
    import streamlit as st  # only the server needs Streamlit's cache (one engine per URL for its lifetime)

    return st.cache_resource(show_spinner="Opening the data store…")(open_store)


def engine() -> Engine:
    """The server's engine for the configured store (DATABASE_URL)."""
    from data_access.db import database_url

    return _engines()(database_url())
