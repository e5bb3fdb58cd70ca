"""The websocket load client (bench/load.py) against a real dashboard server on a demo store: it completes visits
to every page without errors, notices a page that is not there, and connects only to loopback."""

import asyncio

import pytest

from bench.load import PAGES, drive, loopback_only, percentile, report
from bench.server import start_server, stop
from tests.conftest import seeded_store


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, base = start_server(seeded_store(tmp_path_factory.mktemp("load"), seed=5))
    yield proc, base
    stop(proc)


def test_sessions_complete_visits_without_errors(server):
    proc, base = server
    result = asyncio.run(drive(base, [proc.pid], sessions=2, seconds=10, areas=["", "East Kent"], warm=True,
                               timeout=120, sample_every=5))
    # The warm-up visits each of the 10 views once, without errors.
    assert sorted((v.page, v.area) for v in result.warm) == sorted(
        (p, a) for p in PAGES for a in ("", "East Kent"))
    assert not [v.error for v in result.warm if v.error]
    assert [v.error for v in result.visits if v.error] == []
    assert len(result.visits) >= 4  # warm pages take well under a second each; 2 sessions for 10 s
    assert {v.session for v in result.visits} == {0, 1}
    assert all(v.seconds > 0 for v in result.visits)
    assert result.start.cpu_seconds <= result.end.cpu_seconds and result.end.peak_rss_mb > 50
    text = report(result, "Test", [], sample_every=5)
    assert f"| {len(result.visits)} | 0 |" in text


def test_a_missing_page_is_an_error(server, monkeypatch):
    proc, base = server
    monkeypatch.setattr("bench.load.PAGES", ["no-such-page"])
    result = asyncio.run(drive(base, [proc.pid], sessions=1, seconds=1, areas=[""], warm=False, timeout=60,
                               sample_every=None))
    assert result.visits and all(v.error.startswith("page not found") for v in result.visits)


def test_connects_only_to_loopback():
    assert loopback_only("http://127.0.0.1:8531") == "ws://127.0.0.1:8531/_stcore/stream"
    assert loopback_only("http://localhost:8531/dash/") == "ws://127.0.0.1:8531/dash/_stcore/stream"
    with pytest.raises(SystemExit, match="only to 127.0.0.1"):
        loopback_only("http://example.org:8501")


def test_percentile_interpolates_between_ranks():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(list(range(11)), 95) == pytest.approx(9.5)
    assert percentile([7.0], 95) == 7.0
