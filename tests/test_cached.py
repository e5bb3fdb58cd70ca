"""data_access.cached: the one cache. A query or a chart (or pandas work) is kept between runs and worked out again
exactly when its inputs, the store, the data version or the disclosure policy change; a run's context reads the
data version once and opens no connection for what is kept."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import event, select, update

from data_access import cached
from data_access import models as m
from data_access.cached import QueryContext
from data_access.disclosure import policy
from data_access.filters import Filters
from data_access.settings import set_setting
from tests.factories import build_tiny_store


@pytest.fixture
def tiny(sqlite_engine, monkeypatch):
    """The tiny store (4 ICP areas) with a data version, and a fresh cache."""
    monkeypatch.delenv("SMALL_NUMBER_THRESHOLD", raising=False)
    monkeypatch.delenv("DISCLOSURE_RULE", raising=False)
    build_tiny_store(sqlite_engine)
    with sqlite_engine.begin() as conn:
        set_setting(conn, "data_version", "v1")
    cached.clear()
    yield sqlite_engine
    cached.clear()


@pytest.fixture
def calls(tiny):
    """A context on the tiny store and a build function that counts its calls."""
    seen = []

    def total(frame: pd.DataFrame, label: str) -> str:
        seen.append(label)
        return f"{label}: {int(frame['n'].sum())} {frame.attrs.get('note', '')}".strip()

    return QueryContext(tiny, "v1", policy()), total, seen


def checkouts(engine) -> list:
    """A list that grows by one each time a connection is taken from the engine's pool."""
    taken = []
    event.listen(engine, "checkout", lambda *a: taken.append(1))
    return taken


def west_kent_short(conn) -> str:
    """West Kent's short name as stored."""
    return conn.execute(select(m.IcpArea.short_name).where(m.IcpArea.name == "West Kent")).scalar_one()


def rename_west_kent(engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(m.IcpArea).where(m.IcpArea.name == "West Kent").values(short_name="WK"))


def test_the_same_inputs_are_built_once(calls):
    ctx, total, seen = calls
    a = ctx.built(total, pd.DataFrame({"n": [1, 2]}), "x")
    b = ctx.built(total, pd.DataFrame({"n": [1, 2]}), "x")  # an equal frame, not the same object
    assert a == b == "x: 3" and seen == ["x"]


def test_other_values_columns_or_attrs_are_built_again(calls):
    ctx, total, seen = calls
    assert ctx.built(total, pd.DataFrame({"n": [1, 2]}), "x") == "x: 3"
    assert ctx.built(total, pd.DataFrame({"n": [1, 3]}), "x") == "x: 4"
    assert ctx.built(total, pd.DataFrame({"n": [1, 2]}), "y") == "y: 3"
    noted = pd.DataFrame({"n": [1, 2]})
    noted.attrs["note"] = "(12 joined)"
    assert ctx.built(total, noted, "x") == "x: 3 (12 joined)"
    assert len(seen) == 4


def test_a_new_data_version_or_policy_builds_again(calls, monkeypatch):
    ctx, total, seen = calls
    frame = pd.DataFrame({"n": [5]})
    ctx.built(total, frame, "x")
    monkeypatch.setenv("SMALL_NUMBER_THRESHOLD", "1")
    QueryContext(ctx.engine, "v1", policy()).built(total, frame, "x")
    QueryContext(ctx.engine, "v2", policy()).built(total, frame, "x")
    QueryContext(ctx.engine, "v2", policy()).built(total, frame, "x")
    assert len(seen) == 3


def test_frames_pandas_cannot_hash_are_told_apart(calls):
    ctx, total, seen = calls

    def first(frame: pd.DataFrame) -> list:
        seen.append("first")
        return frame["options"].iloc[0]

    assert ctx.built(first, pd.DataFrame({"options": [["a", "b"]]})) == ["a", "b"]
    assert ctx.built(first, pd.DataFrame({"options": [["a", "c"]]})) == ["a", "c"]
    assert ctx.built(first, pd.DataFrame({"options": [["a", "c"]]})) == ["a", "c"]
    assert seen == ["first", "first"]


def test_a_kept_result_is_told_apart_by_its_key_not_its_values(calls, monkeypatch):
    ctx, total, seen = calls

    def numbers(conn, rows: int) -> pd.DataFrame:
        return pd.DataFrame({"n": range(rows)})

    three = ctx.query(numbers, 3)
    monkeypatch.setattr(cached, "_frame_key", lambda frame: pytest.fail("a kept frame was hashed by value"))
    assert ctx.built(total, three, "x") == "x: 3"  # 0 + 1 + 2
    assert ctx.built(total, ctx.query(numbers, 3), "x") == "x: 3"
    assert ctx.built(total, ctx.query(numbers, 4), "x") == "x: 6"  # 0 + 1 + 2 + 3
    assert seen == ["x", "x"]


def test_a_warm_run_reads_the_version_once_and_opens_no_connection_for_kept_results(tiny):
    taken = checkouts(tiny)
    ctx = QueryContext.open(tiny, Filters("East Kent"))
    assert len(taken) == 1  # the data version (and, the first time, the ICP area's id)
    assert ctx.query(west_kent_short) == "West Kent"
    assert len(taken) == 2
    again = QueryContext.open(tiny, Filters("East Kent"))
    assert again.query(west_kent_short) == "West Kent"
    assert len(taken) == 3  # the second run: the version only


def test_a_kept_result_is_handed_back_itself_not_a_copy(calls):
    ctx, total, seen = calls

    def areas(conn) -> pd.DataFrame:
        return pd.read_sql(select(m.IcpArea.name).order_by(m.IcpArea.name), conn)

    first = ctx.query(areas)
    assert first is ctx.query(areas) and first["name"].iloc[0] == "Dartford, Gravesham and Swanley"


def test_the_icp_area_is_resolved_once_to_its_id(tiny):
    with tiny.connect() as conn:
        expected = conn.execute(select(m.IcpArea.id).where(m.IcpArea.name == "Medway and Swale")).scalar_one()
    ctx = QueryContext.open(tiny, Filters("Medway and Swale"))
    assert ctx.icp_id == expected and ctx.filters.icp == "Medway and Swale"
    assert QueryContext.open(tiny).icp_id is None
    with pytest.raises(ValueError, match="no ICP area called 'Atlantis'"):
        QueryContext.open(tiny, Filters("Atlantis"))


def test_a_new_data_version_reads_the_store_again(tiny):
    assert QueryContext.open(tiny).query(west_kent_short) == "West Kent"
    rename_west_kent(tiny)
    assert QueryContext.open(tiny).query(west_kent_short) == "West Kent"  # changed behind the version's back
    with tiny.begin() as conn:
        set_setting(conn, "data_version", "v2")
    assert QueryContext.open(tiny).query(west_kent_short) == "WK"


def test_a_store_without_a_data_version_is_always_read_afresh(sqlite_engine):
    cached.clear()
    build_tiny_store(sqlite_engine)
    ctx = QueryContext.open(sqlite_engine)
    assert ctx.version is None and ctx.query(west_kent_short) == "West Kent"
    rename_west_kent(sqlite_engine)
    assert ctx.query(west_kent_short) == "WK" and cached.size() == 0


def test_the_oldest_result_is_forgotten_beyond_the_limit(calls, monkeypatch):
    ctx, total, seen = calls
    monkeypatch.setattr(cached, "MAX_ENTRIES", 2)
    for label in ("a", "b", "c"):
        ctx.built(total, pd.DataFrame({"n": [1]}), label)
    assert cached.size() == 2
    ctx.built(total, pd.DataFrame({"n": [1]}), "c")  # still kept
    ctx.built(total, pd.DataFrame({"n": [1]}), "a")  # forgotten: built again
    assert seen == ["a", "b", "c", "a"]


def test_a_helpers_connection_forgets_the_context_when_handed_back(tiny):
    ctx = QueryContext.open(tiny)
    with ctx.connect() as conn:
        assert conn.info[cached.VERSION] == "v1"
    with tiny.connect() as conn:  # the same pooled connection, taken again outside a context
        assert cached.VERSION not in conn.info and cached.RULES not in conn.info


def test_a_kept_none_or_number_passed_on_is_told_apart_by_its_value(calls):
    ctx, total, seen = calls

    def label(value) -> str:
        seen.append(value)
        return repr(value)

    def nothing(conn) -> None:
        return None

    def nothing_either(conn) -> None:
        return None

    def five(conn) -> int:
        return 5

    assert ctx.query(nothing) is None and ctx.built(label, None) == "None"
    assert ctx.query(nothing_either) is None and ctx.built(label, None) == "None"  # None is None, wherever from
    assert ctx.query(five) == 5 and ctx.built(label, 5) == ctx.built(label, 5) == "5"
    assert seen == [None, 5]


def test_what_the_screen_makes_of_a_kept_result_is_worked_out_once(calls):
    ctx, total, seen = calls

    def numbers(conn) -> pd.DataFrame:
        return pd.DataFrame({"n": [1, 2, 3]})

    def doubled(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append("doubled")
        return frame * 2

    def unchanged(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append("unchanged")
        return frame

    kept = ctx.query(numbers)
    assert cached.derived(doubled, kept)["n"].tolist() == [2, 4, 6]
    assert cached.derived(doubled, ctx.query(numbers)) is cached.derived(doubled, kept)
    assert cached.derived(doubled, pd.DataFrame({"n": [1]}))["n"].tolist() == [2]  # not kept: worked out each time
    assert cached.derived(doubled, pd.DataFrame({"n": [1]}))["n"].tolist() == [2]
    assert ctx.built(total, kept, "x") == "x: 6"
    assert cached.derived(unchanged, kept) is kept  # kept again under another key, still known by its own
    assert ctx.built(total, ctx.query(numbers), "x") == "x: 6"
    assert seen == ["doubled", "doubled", "doubled", "x", "unchanged"]


def test_a_function_with_big_results_keeps_only_a_few(calls, monkeypatch):
    ctx, total, seen = calls
    monkeypatch.setattr(cached, "FEW", {f"{total.__module__}.{total.__qualname__}": 2})
    for label in ("a", "b", "c"):
        ctx.built(total, pd.DataFrame({"n": [1]}), label)
    ctx.built(total, pd.DataFrame({"n": [1]}), "c")  # still kept
    ctx.built(total, pd.DataFrame({"n": [1]}), "a")  # forgotten: built again
    assert seen == ["a", "b", "c", "a"] and cached.size() == 2


def test_readers_asking_at_once_wait_for_one_result(calls):
    import threading
    import time

    ctx, total, seen = calls

    def slow(conn) -> pd.DataFrame:
        seen.append("slow")
        time.sleep(0.3)
        return pd.DataFrame({"n": [7]})

    results = []
    readers = [threading.Thread(target=lambda: results.append(ctx.query(slow))) for _ in range(5)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert seen == ["slow"] and len(results) == 5 and all(r is results[0] for r in results)
    assert cached._making == {}
