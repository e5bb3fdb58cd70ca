#!/usr/bin/env bash
# Install what the tests need (into .venv) and run the whole test suite.
# PostgreSQL tests run against TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432/test) and
# skip if it is unreachable, unless REQUIRE_POSTGRES=1 (as in CI), when they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
exec .venv/bin/python -m pytest "$@"
