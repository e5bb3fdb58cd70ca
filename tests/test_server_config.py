"""The server's settings that matter for many readers at once, as Streamlit reads them from the project's
.streamlit/config.toml (scripts/start.sh, engagement serve and the load tests all start it from the project)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def streamlit_option(name: str) -> str:
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); "
            f"print(config.get_option({name!r}))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_no_full_garbage_collection_after_every_page_run():
    # Streamlit's default is True: a full gc.collect(2) after each script run, which blocks every other reader
    # (bench/LOAD.md). Python's own generational collection still runs.
    assert streamlit_option("runner.postScriptGC") == "False"
