"""Several dashboard processes behind a reverse proxy (`engagement serve --workers N`), to use more than one core.

One Streamlit process runs Python on about one core at a time. N processes on consecutive ports, each serving
from the same store (PostgreSQL, or one SQLite file in WAL mode), behind nginx, use N. A reader's browser must
stay with one process for its whole visit (its websocket, and the images and uploads that belong to its session),
so the proxy routes by the browser's Streamlit cookie (or, without one, its address). Each process caches query
results by the store's data version, so a load made through any of them is seen by all on their next page run.
See deploy/README.md.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def nginx_site(ports: list[int], listen: int = 8501, upstream: str = "engagement") -> str:
    """The nginx configuration (for the http block: upstream, maps and a server) that spreads readers over the
    dashboard processes on ports, keeping each browser with one process, with the websocket passed through."""
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in ports)
    return f"""# Dashboard processes on {', '.join(map(str, ports))}; readers connect to port {listen}.
# Each browser stays with one process: by Streamlit's _streamlit_xsrf cookie (set on the first page load), or by
# its address until it has one. (ip_hash alone would send everyone behind one NAT address to one process.)
map $cookie__streamlit_xsrf ${upstream}_sticky {{
    ""      $remote_addr;
    default $cookie__streamlit_xsrf;
}}

map $http_upgrade ${upstream}_connection {{
    default upgrade;
    ""      close;
}}

upstream {upstream} {{
    hash ${upstream}_sticky consistent;
{servers}
}}

server {{
    listen {listen};

    location / {{
        proxy_pass http://{upstream};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;           # Streamlit's websocket: /_stcore/stream
        proxy_set_header Connection ${upstream}_connection;
        proxy_set_header Host $http_host;                 # with the port: Streamlit checks Origin against it
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 1d;                            # a reader may leave a page open all day
        proxy_send_timeout 1d;
        proxy_buffering off;
        client_max_body_size 200m;                        # Streamlit's own upload limit (server.maxUploadSize)
    }}
}}
"""


def prepare_store() -> str:
    """Create or upgrade the configured store, and fill an empty one (the shipped Kent and Medway reference data,
    then demo engagement data, as on a single process's first start), once, before the processes start (so they
    do not all try at the same moment); returns the store's address with any password hidden."""
    from data_access.cli import _safe_url
    from data_access.db import database_url
    from ui.launch import prepare_store as prepare_one

    prepare_one()
    return _safe_url(database_url())


def worker_command(port: int, options: list[str] | None = None) -> list[str]:
    """The command for one dashboard process on 127.0.0.1:port (only the proxy should reach it)."""
    return [sys.executable, "-m", "ui.launch", "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false", *(options or [])]


def worker_env() -> dict[str, str]:
    """The environment for the processes: one cookie secret shared by all (so a sign-in cookie made by one
    process is accepted by the others), unless one is configured."""
    env = os.environ.copy()
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
    return env


def start_workers(ports: list[int], options: list[str] | None = None, env: dict[str, str] | None = None,
                  log_dir: Path | None = None) -> list[subprocess.Popen]:
    """Start one dashboard process per port."""
    env = env or worker_env()
    procs = []
    for port in ports:
        out = open(log_dir / f"worker-{port}.log", "ab") if log_dir else None
        procs.append(subprocess.Popen(worker_command(port, options), cwd=ROOT, env=env, stdout=out, stderr=out))
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    """Stop the processes started here: terminate, then kill any still running after 30 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 30
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def serve(workers: int, port: int, options: list[str] | None = None) -> int:
    """Start `workers` dashboard processes on the ports after `port`, print the nginx configuration that serves
    them on `port`, and keep them running until stopped (Ctrl-C) or one of them ends."""
    store = prepare_store()
    ports = [port + 1 + i for i in range(workers)]
    print(f"# Store: {store}\n# Starting {workers} dashboard processes on 127.0.0.1 ports {ports[0]}-{ports[-1]}; "
          f"put this in nginx's http block (e.g. /etc/nginx/conf.d/engagement.conf) and reload nginx:\n")
    print(nginx_site(ports, listen=port), flush=True)
    procs = start_workers(ports, options)
    stopping = False

    def _stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    code = 0
    try:
        while not stopping:
            ended = [p for p in procs if p.poll() is not None]
            if ended:
                code = ended[0].returncode or 1
                print(f"A dashboard process ended (status {ended[0].returncode}); stopping the others.",
                      file=sys.stderr)
                break
            time.sleep(1)
    finally:
        stop_workers(procs)
    return code
