"""Start dashboard servers on loopback for the load tests, and read their CPU time and memory from /proc (Linux)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, seconds: float = 90) -> None:
    """Wait until the server at base answers its health check; RuntimeError if it does not in time."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            urllib.request.urlopen(base + "/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the dashboard at {base} did not answer within {seconds:.0f} seconds")


def start_server(url: str, port: int | None = None, options: dict[str, str] | None = None,
                 log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The dashboard (python -m ui.launch) on 127.0.0.1, with DATABASE_URL=url and extra Streamlit options
    (e.g. {"runner.postScriptGC": "false"}), once it answers its health check: (process, base address)."""
    port = port or free_port()
    args = [sys.executable, "-m", "ui.launch", "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    for key, value in (options or {}).items():
        args += [f"--{key}", value]
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, cwd=ROOT, env=dict(os.environ, DATABASE_URL=url), stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
    except RuntimeError:
        proc.kill()
        raise
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started here (terminate, then kill if it has not ended in 30 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class ProcessSample:
    """CPU seconds used so far, resident memory now and its peak so far (MB), for one process."""

    cpu_seconds: float
    rss_mb: float
    peak_rss_mb: float


def sample(pid: int) -> ProcessSample | None:
    """CPU time and memory of a running process, from /proc; None if it is not there (ended, or not Linux)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
          if line.startswith(("VmRSS:", "VmHWM:"))}
    return ProcessSample(cpu, kb.get("VmRSS", 0) / 1024, kb.get("VmHWM", 0) / 1024)


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, as `uptime` shows them."""
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def start_nginx(ports: list[int], folder: Path, listen: int | None = None) -> tuple[subprocess.Popen, str]:
    """nginx in the foreground on 127.0.0.1, with the dashboard's site configuration (ui.workers.nginx_site) in
    front of the processes on ports, its files under folder: (process, base address)."""
    import shutil

    from ui.workers import nginx_site

    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
    listen = listen or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    site = nginx_site(ports, listen=listen).replace(f"listen {listen};", f"listen 127.0.0.1:{listen};")
    conf = folder / "nginx.conf"
    conf.write_text(f"""worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site}
}}
""", encoding="utf-8")
    proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.log", "ab"))
    base = f"http://127.0.0.1:{listen}"
    try:
        wait_healthy(base, 60)
    except RuntimeError:
        proc.kill()
        raise
    return proc, base
