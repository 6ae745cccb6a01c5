"""Open the reproduction report's HTML page in headless Chromium; fail on any console error or any image that
did not load (``naturalWidth == 0``).

Run: ``python benchmarks/check_report_html.py [results/report.html] [--screenshot page.png]`` (written by
``rqbench report``). Exit status 0: every image loaded and the console has no error; 1: the problems are
listed; 2: a tool is missing (the message says how to install it) or there is no such page.

Needs Debian's Chromium and its WebDriver, and the selenium package from PyPI, which is not a dependency of
rqbench (it is not in uv.lock):

    apt-get install -y chromium chromium-driver
    uv pip install --python .venv/bin/python selenium     # or: .venv/bin/python -m pip install selenium

Chromium is driven through chromedriver at the path given (selenium downloads nothing); the page is opened
from its ``file://`` URI, so the check also shows that it needs no network.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

INSTALL = (
    "install them with `apt-get install -y chromium chromium-driver` and "
    "`uv pip install --python .venv/bin/python selenium` (selenium is not in uv.lock)"
)


def find_tools() -> tuple[str, str]:
    """The paths of chromium and chromedriver; :class:`SystemExit` (status 2) naming what is missing."""
    missing = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing += [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if path is None]
    if missing or chromium is None or driver is None:
        raise SystemExit(f"error: missing {', '.join(missing)}; {INSTALL}")
    return chromium, driver


def check_page(page: Path, screenshot: Path | None = None) -> tuple[int, list[str]]:
    """``(images loaded, problems)`` of ``page`` opened in headless Chromium: each console error and each
    image that did not load is one problem line."""
    chromium, driver_path = find_tools()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.get(page.resolve().as_uri())  # returns after the load event: every image has loaded or failed
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
        )
        problems = [f"image did not load: {src}" for src, complete, width in images if not complete or width == 0]
        problems += [
            f"console {e['level']}: {e['message']}" for e in driver.get_log("browser") if e["level"] == "SEVERE"
        ]
        if screenshot is not None:
            height = int(driver.execute_script("return document.documentElement.scrollHeight;"))
            driver.set_window_size(1300, min(height, 16000))
            driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    return len(images) - sum(p.startswith("image") for p in problems), problems


def main(argv: list[str] | None = None) -> int:
    """Check the page; print one line per problem and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", type=Path, default=Path("results/report.html"))
    parser.add_argument("--screenshot", type=Path, default=None, help="Also save a screenshot of the page (PNG).")
    args = parser.parse_args(argv)
    if not args.page.is_file():
        print(f"error: no page {args.page}; write it with `rqbench report`", file=sys.stderr)
        return 2
    try:
        loaded, problems = check_page(args.page, args.screenshot)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    for line in problems:
        print(line)
    print(f"{args.page}: {loaded} images loaded, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
