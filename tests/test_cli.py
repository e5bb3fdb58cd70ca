"""The `engagement` command line: help, init-db, seed-demo, and one-sentence errors."""

import subprocess
import sys

from sqlalchemy import func, select

from data_access import models as m
from data_access.cli import main
from data_access.db import make_engine


def test_help_lists_the_commands(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("init-db", "seed-demo", "import-reference", "serve"):
        assert command in out


def test_init_db_then_seed_demo(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["init-db"]) == 0
    assert main(["init-db"]) == 0  # upgrading an up-to-date store changes nothing
    assert main(["seed-demo", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    with make_engine(url).connect() as conn:
        members = conn.execute(select(func.count()).select_from(m.NetworkMembership)).scalar_one()
    assert f"{members:,} network memberships" in out


def test_an_unreachable_database_is_one_sentence_not_a_traceback(tmp_path):
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "data_access.cli", "init-db"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot use the database at postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
