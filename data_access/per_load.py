"""Results that change only when data is loaded (the census residents), remembered per store and data version.

Plain Python, no Streamlit: a function decorated with per_data_load is worked out once per store, data version
(the 'data_version' setting, changed by every import, undo and demo load) and arguments, in this process. A store
without a data version (one filled by hand, as in some tests) is always read afresh. clear() forgets everything.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
from collections import OrderedDict
from typing import Any, Callable

from data_access.settings import get_setting

MAX_ENTRIES = 256
_lock = threading.Lock()
_results: OrderedDict = OrderedDict()


def _frozen(value: Any) -> Any:
    """A hashable stand-in for an argument (lists become tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def per_data_load(fn: Callable) -> Callable:
    """Decorator for fn(conn, *args, **kwargs): the result is remembered until the store's data version changes
    (each caller gets its own copy, so changing it does not change the remembered one)."""

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(conn, *args, **kwargs):
        version = get_setting(conn, "data_version")
        if not version:
            return fn(conn, *args, **kwargs)
        bound = signature.bind(conn, *args, **kwargs)  # the same call however its arguments are passed
        bound.apply_defaults()
        arguments = tuple((k, _frozen(v)) for k, v in list(bound.arguments.items())[1:])
        key = (str(conn.engine.url), version, fn.__module__, fn.__qualname__, arguments)
        with _lock:
            if key in _results:
                _results.move_to_end(key)
                return copy.deepcopy(_results[key])
        value = fn(conn, *args, **kwargs)
        with _lock:
            _results[key] = value
            while len(_results) > MAX_ENTRIES:
                _results.popitem(last=False)
        return copy.deepcopy(value)

    return wrapper


def clear() -> None:
    """Forget every remembered result (for timing a cold start)."""
    with _lock:
        _results.clear()
