"""Checks of the published site as a reader meets it (``make report-check``).

:func:`page_problems` reads every HTML page under ``reports/`` (hidden build
folders and screenshots aside) and lists what a reader must never meet: a
relative link or image that leads nowhere, an image without alt text, ``NaN``,
``<NA>``, a ``...`` truncation or an ``In [`` prompt in the text.
:func:`browse` opens the site, a national report and a fiche in headless
Chromium, writes screenshots to ``reports/_screenshots/`` and types in the
territory search box. :func:`pdf_problems` reads every printed fiche back
(one or two A4 pages). Only ``python -m analysis.reports.check [REPORTS_DIR]``
(``make report-check``) imports this module.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pypdf
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from analysis import paths
from analysis.reports.config import HIDDEN_PREFIX, HTML_FILE, INDEX_FILE, PDF_FILE

SCREENSHOTS_DIR = "_screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW_SIZE = (1300, 2400)
A4_POINTS = (595.3, 841.9)
MAX_FICHE_PAGES = 2
"""A fiche handed out at a seminar prints on one sheet, both sides."""
SEARCH_PROBES = ("Calvados", "14")
"""What the territory search box must find (a name and a code)."""

FORBIDDEN_TEXT = {
    "NaN": re.compile(r"\bNaN\b"),
    "<NA>": re.compile(r"<NA>"),
    "... (truncation)": re.compile(r"(?<!\.)\.\.\.(?!\.)"),
    "In [ (prompt)": re.compile(r"\bIn[\s\u00a0]*\[\s*\d*\s*\]"),
    "Out[ (prompt)": re.compile(r"\bOut[\s\u00a0]*\[\s*\d*\s*\]"),
}
NBCONVERT_DEFAULT_ALT = "No description has been provided"
"""nbconvert's alt text for an image that has none: as good as none."""
EXTERNAL = ("http:", "https:", "mailto:", "data:", "javascript:")


class _Page(HTMLParser):
    """Collects a page's visible text, links, images and alt texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.images: list[tuple[str, str | None]] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        elif tag == "img":
            self.images.append((str(values.get("src") or ""), values.get("alt")))
        elif tag in ("link", "source") and values.get("href"):
            self.links.append(str(values["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.text.append(data)


def published_pages(reports_dir: Path) -> list[Path]:
    """Every HTML page under ``reports/`` a reader can reach (no hidden folder, no screenshot)."""
    reports_dir = Path(reports_dir)
    return sorted(
        page
        for page in reports_dir.rglob("*.html")
        if not any(
            part.startswith(HIDDEN_PREFIX) or part == SCREENSHOTS_DIR
            for part in page.relative_to(reports_dir).parts
        )
    )


def _target(page: Path, reference: str) -> Path | None:
    """The file a relative reference points to, or ``None`` for external/in-page ones."""
    if not reference or reference.startswith(("#", *EXTERNAL)):
        return None
    path = urllib.parse.unquote(urllib.parse.urlsplit(reference).path)
    if not path:
        return None
    return (page.parent / path).resolve()


def page_problems(reports_dir: Path) -> list[str]:
    """What a reader must never meet on any published page, one line per problem."""
    problems = []
    for page in published_pages(reports_dir):
        parser = _Page()
        parser.feed(page.read_text(encoding="utf-8"))
        name = page.relative_to(reports_dir).as_posix()
        text = "".join(parser.text)
        for what, pattern in FORBIDDEN_TEXT.items():
            found = pattern.search(text)
            if found:
                start = max(0, found.start() - 60)
                context = " ".join(text[start : found.end() + 60].split())
                problems.append(f"{name}: {what} in the text: …{context}…")
        for src, alt in parser.images:
            if not (alt or "").strip() or alt.startswith(NBCONVERT_DEFAULT_ALT):
                problems.append(f"{name}: an image without alt text ({src[:80]})")
            target = _target(page, src)
            if not src.strip():
                problems.append(f"{name}: an image without source")
            elif target is not None and not target.is_file():
                problems.append(f"{name}: missing image {src}")
        for href in parser.links:
            target = _target(page, href)
            if target is not None and not target.exists():
                problems.append(f"{name}: broken link {href}")
    return problems


def pdf_problems(reports_dir: Path) -> list[str]:
    """Every printed fiche: one or two A4 pages (an overflow prints a third, often blank)."""
    problems = []
    for pdf in sorted(Path(reports_dir).glob(f"*/{PDF_FILE}")):
        name = pdf.relative_to(reports_dir).as_posix()
        try:
            sheets = pypdf.PdfReader(pdf).pages
        except (OSError, pypdf.errors.PyPdfError) as error:
            problems.append(f"{name}: unreadable PDF ({error})")
            continue
        if not 1 <= len(sheets) <= MAX_FICHE_PAGES:
            problems.append(f"{name}: {len(sheets)} pages (one or two expected)")
        for sheet in sheets:
            size = (float(sheet.mediabox.width), float(sheet.mediabox.height))
            if any(abs(a - b) > 2 for a, b in zip(size, A4_POINTS, strict=True)):
                problems.append(f"{name}: a page of {size[0]:.0f} x {size[1]:.0f} pt, not A4")
                break
    return problems


def _driver(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}",
        f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


def _first_report(reports_dir: Path, fiche: bool) -> Path | None:
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir()):
        if folder.name.startswith((HIDDEN_PREFIX, "_")) or not (folder / HTML_FILE).is_file():
            continue
        if folder.name.startswith(("fiche-", "profil-")) == fiche:
            return folder / HTML_FILE
    return None


def browse(reports_dir: Path) -> dict[str, object]:
    """Open the site, a national report and a fiche in headless Chromium; screenshot each.

    Returns:
        ``screenshots`` (paths written), ``search`` (probe → the visible
        entries after typing it), ``broken_images`` (page → sources of images
        the browser could not draw).
    """
    reports_dir = Path(reports_dir).resolve()
    out = reports_dir / SCREENSHOTS_DIR
    out.mkdir(exist_ok=True)
    pages = {"site": reports_dir / INDEX_FILE}
    for label, fiche in (("national-report", False), ("fiche", True)):
        found = _first_report(reports_dir, fiche)
        if found is not None:
            pages[label] = found
    profile = reports_dir / f"{HIDDEN_PREFIX}chromium-profile"
    driver = _driver(profile)
    result: dict[str, object] = {"screenshots": [], "search": {}, "broken_images": {}}
    try:
        for label, page in pages.items():
            driver.get(page.as_uri())
            broken = driver.execute_script(
                "return Array.from(document.images).filter(i => !(i.complete && "
                "i.naturalWidth > 0)).map(i => i.getAttribute('src').slice(0, 80));"
            )
            if broken:
                result["broken_images"][label] = broken
            shot = out / f"{label}.png"
            driver.save_screenshot(str(shot))
            result["screenshots"].append(shot)
        driver.get(pages["site"].as_uri())
        boxes = driver.find_elements(By.ID, "territory-search")
        for probe in SEARCH_PROBES if boxes else ():
            boxes[0].clear()
            boxes[0].send_keys(probe)
            time.sleep(0.2)
            result["search"][probe] = driver.execute_script(
                "return Array.from(document.querySelectorAll('#territory-list li'))"
                ".filter(li => !li.hidden).map(li => li.textContent.trim());"
            )
        if boxes:
            driver.save_screenshot(str(out / "site-search.png"))
            result["screenshots"].append(out / "site-search.png")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return result


def main(argv: list[str]) -> int:
    """Check the pages under ``reports/`` (or ``argv[0]``), then browse; 1 on any problem."""
    reports_dir = Path(argv[0]) if argv else paths.reports_dir()
    problems = page_problems(reports_dir) + pdf_problems(reports_dir)
    seen = browse(reports_dir)
    for probe, found in seen["search"].items():
        print(f"search {probe!r}: {len(found)} fiche(s): {'; '.join(found[:3])}")
        if not found:
            problems.append(f"the territory search finds nothing for {probe!r}")
    for page, broken in seen["broken_images"].items():
        problems.append(f"{page}: images the browser cannot draw: {', '.join(broken)}")
    for shot in seen["screenshots"]:
        print(f"screenshot: {shot}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s) in {reports_dir}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
