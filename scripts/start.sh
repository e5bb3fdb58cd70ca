#!/usr/bin/env bash
# Install what the dashboard needs (into .venv) and start it on http://localhost:8501.
# With no DATABASE_URL, it uses data/engagement.db and fills it with demo data on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python -m ui.launch --server.headless true --browser.gatherUsageStats false "$@"
