"""Take a full-page screenshot of every page of a running dashboard (Debian's Chromium, via Playwright).

Usage: python scripts/screenshots.py [BASE_URL] [OUT_DIR]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = ["", "network-growth", "survey-responses", "panel-coverage", "deprivation-map"]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def wait_for_run(page) -> None:
    """Wait until Streamlit has finished running the page script."""
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && document.querySelector('h1') !== null", timeout=120_000)
    page.wait_for_timeout(1500)


def grow_to_content(page) -> None:
    """Make the viewport as tall as the page, so one screenshot shows it all and charts render."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], [data-testid=\"stMainBlockContainer\"]')]"
        ".map(e => e.scrollHeight), 1000)")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 80, 12000)})
    page.wait_for_timeout(2500)


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8501"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "test-artifacts/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in PAGES:
            page.goto(f"{base}/{name}")
            wait_for_run(page)
            grow_to_content(page)
            target = out / f"{name or 'overview'}.png"
            page.screenshot(path=str(target), full_page=True)
            page.set_viewport_size({"width": 1400, "height": 1000})
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
