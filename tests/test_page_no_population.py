"""The deprivation map with IoD2019 File 1 alone: no population is loaded, so the page says so once and leaves
out the figures that need it (no "0 of 0 residents", no "not known of residents")."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_access.demo import seed_demo
from data_access.reference_import import import_reference
from tests.conftest import app_store
from tests.test_reference_import import iod2019_file1_and_file6

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("file1")
    file1, _ = iod2019_file1_and_file6(folder / "iod")

    def fill(engine):
        import_reference(engine, file1)
        seed_demo(engine, seed=5)

    with app_store(folder, fill) as engine:
        yield engine


def test_map_page_without_population_says_so_once(store):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/deprivation_map.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown) + " " + " ".join(i.value for i in at.info)
    notices = [i.value for i in at.info if "population of the small areas is not loaded" in i.value]
    assert len(notices) == 1 and "IoD2019 / LSOA 2011" in notices[0]
    assert "0 of 0 residents" not in text
    assert "not known of residents" not in text
    assert "has the most residents in Core20 areas" not in text
    assert [m.label for m in at.metric if m.label == "Residents in Core20 areas"] == []
    # Kent and Medway still gets its Core20 sentence, without residents: shares of the people reached only.
    assert "Kent and Medway has 1,065 small areas (LSOAs). 169 of them (16%) are among the most deprived 20% in " \
           "England (Core20, national deciles 1 and 2).<" in text
    assert "Kent and Medway: people from Core20 areas are " in text
