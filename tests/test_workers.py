"""Several dashboard processes behind nginx (ui/workers.py, `engagement serve --workers N`): the configuration nginx
is given is valid and sticky, readers' sessions reach every process through it, and the command starts and stops
the processes."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import urllib.request

import pytest

from bench.load import drive
from bench.server import start_nginx, stop, wait_healthy
from data_access.cli import main
from tests.conftest import seeded_store
from ui.workers import ROOT, nginx_site, start_workers, stop_workers, worker_env

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install -y nginx)")


def test_site_lists_every_process_and_keeps_each_browser_with_one():
    site = nginx_site([8536, 8537, 8538], listen=8535)
    assert [line.strip() for line in site.splitlines() if line.strip().startswith("server 127.0.0.1")] == [
        "server 127.0.0.1:8536 max_fails=0;", "server 127.0.0.1:8537 max_fails=0;",
        "server 127.0.0.1:8538 max_fails=0;"]
    assert "hash $engagement_sticky consistent;" in site and "default $cookie__streamlit_xsrf;" in site
    assert "proxy_set_header Upgrade $http_upgrade;" in site and "listen 8535;" in site


@needs_nginx
def test_nginx_accepts_the_site(tmp_path):
    (tmp_path / "site.conf").write_text(nginx_site([8536, 8537], listen=8535), encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include {tmp_path}/site.conf; }}\n", encoding="utf-8")
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_committed_recipe_matches_the_generator():
    assert (ROOT / "deploy" / "engagement-nginx.conf").read_text(encoding="utf-8") == nginx_site(
        [8502, 8503], listen=8501)


@needs_nginx
def test_sessions_through_nginx_reach_both_processes(tmp_path):
    url = seeded_store(tmp_path, seed=2)
    ports = [8538, 8539]
    workers = start_workers(ports, ["--server.fileWatcherType", "none"], env=dict(worker_env(), DATABASE_URL=url))
    proxy = None
    try:
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}")
        proxy, base = start_nginx(ports, tmp_path / "nginx")
        result = asyncio.run(drive(base, [w.pid for w in workers], sessions=6, seconds=3, areas=[""], warm=False,
                                   timeout=120, sample_every=None))
    finally:
        if proxy is not None:
            stop(proxy)
        stop_workers(workers)
    assert [v.error for v in result.visits if v.error] == []
    assert len(result.visits) >= 6
    # Each process ran page scripts for some of the sessions: a cold first visit takes well over 0.1 s of CPU.
    assert len(result.per_process) == 2 and all(cores * result.seconds > 0.1 for cores, _ in result.per_process)


def test_serve_refuses_no_workers(capsys):
    assert main(["serve", "--workers", "0"]) == 1
    assert capsys.readouterr().err.strip() == "Error: --workers must be 1 or more."


def test_serve_with_workers_starts_them_and_prints_the_proxy_configuration(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}")
    proc = subprocess.Popen([sys.executable, "-m", "data_access.cli", "serve", "--workers", "2", "--port", "8535"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for port in (8536, 8537):
            wait_healthy(f"http://127.0.0.1:{port}", seconds=180)
            assert urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5).status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "server 127.0.0.1:8536 max_fails=0;" in out and "server 127.0.0.1:8537 max_fails=0;" in out
    assert "listen 8535;" in out
