"""Report pages printed to A4 PDF by headless Chromium (the fiches handed out at seminars).

The fiche notebook carries its own print stylesheet (``@page`` A4, margins,
figure heights); :func:`print_pdf` only drives the browser. Debian's
``chromium`` package is the one used (``apt-get install chromium``);
``PTCE_CHROMIUM`` names another binary.

One page is printed by :func:`print_pdf` (``chromium --print-to-pdf``: a
browser started for it, about a second). A batch prints its 119 fiches with a
:class:`PagePrinter`: one browser per worker, kept open and driven through
Selenium and ChromeDriver (Debian's ``chromium-driver``), each page printed by
DevTools' ``Page.printToPDF`` with the same settings as the command line (the
page's own paper size, backgrounds, no header or footer) in about 0.6 s.
Without ChromeDriver the printer falls back to :func:`print_pdf`.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

from analysis.atomic import write_bytes_atomically

PDF_NOTEBOOKS = frozenset({"territory_fiche"})
"""Notebooks whose report page is also printed to PDF after its HTML export."""

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executables looked for on ``PATH`` (after ``PTCE_CHROMIUM``)."""

PRINT_TIMEOUT_S = 120

CHROMEDRIVER_NAMES = ("chromedriver",)
"""ChromeDriver executables looked for on ``PATH`` (after ``PTCE_CHROMEDRIVER``)."""

BROWSER_ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-extensions",
    "--no-first-run",
)
"""Chromium's switches, for the command line and the kept browser alike."""

PRINT_SETTINGS = {"preferCSSPageSize": True, "printBackground": True, "displayHeaderFooter": False}
"""DevTools ``Page.printToPDF`` settings: what ``--print-to-pdf --no-pdf-header-footer`` does."""


class ChromiumMissing(RuntimeError):
    """No headless Chromium to print with."""


def find_chromium() -> str:
    """The Chromium executable: ``PTCE_CHROMIUM``, else the first of :data:`CHROMIUM_NAMES`.

    Raises:
        ChromiumMissing: none found (says how to install one).
    """
    chosen = os.environ.get("PTCE_CHROMIUM", "")
    if chosen:
        if shutil.which(chosen) is None:
            raise ChromiumMissing(
                f"PTCE_CHROMIUM={chosen!r} is not an executable; point it at a Chromium "
                "binary or unset it."
            )
        return chosen
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumMissing(
        "printing a fiche to PDF needs headless Chromium, and none was found on PATH "
        f"(looked for {', '.join(CHROMIUM_NAMES)}). Install it (Debian/Ubuntu: "
        "`sudo apt-get install chromium`) or set PTCE_CHROMIUM to its path."
    )


def _page_to_print(html_path: Path | str) -> Path:
    """The page's absolute path (a browser opens it by URI).

    Raises:
        FileNotFoundError: the page does not exist.
    """
    page = Path(html_path).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: no HTML page to print")
    return page


def print_pdf(
    html_path: Path | str, pdf_path: Path | str, *, timeout: float = PRINT_TIMEOUT_S
) -> Path:
    """Print an HTML page to PDF with headless Chromium, atomically.

    The page's own print stylesheet sets the paper (``@page { size: A4 }``) and
    margins; no header or footer is added.

    Raises:
        ChromiumMissing: no Chromium.
        FileNotFoundError: ``html_path`` does not exist.
        RuntimeError: Chromium failed or wrote no PDF (with its last output lines).
    """
    html_path, pdf_path = _page_to_print(html_path), Path(pdf_path)
    chromium = find_chromium()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pdf-", dir=pdf_path.parent) as scratch:
        target = Path(scratch) / pdf_path.name
        command = [
            chromium,
            *BROWSER_ARGUMENTS,
            f"--user-data-dir={Path(scratch) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            html_path.as_uri(),
        ]
        try:
            finished = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"Chromium did not print {html_path} within {timeout:.0f} s"
            ) from None
        if not target.is_file() or target.read_bytes()[:5] != b"%PDF-":
            tail = "\n".join((finished.stderr or finished.stdout).strip().splitlines()[-5:])
            raise RuntimeError(
                f"Chromium (exit {finished.returncode}) wrote no PDF for {html_path}:\n{tail}"
            )
        os.replace(target, pdf_path)
    return pdf_path


def find_chromedriver() -> str | None:
    """ChromeDriver: ``PTCE_CHROMEDRIVER``, else one of :data:`CHROMEDRIVER_NAMES`, else None."""
    chosen = os.environ.get("PTCE_CHROMEDRIVER", "")
    if chosen:
        return shutil.which(chosen)
    for name in CHROMEDRIVER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class PagePrinter:
    """A headless Chromium kept open to print many pages to PDF (a worker's fiches).

    The browser starts on the first page; :meth:`close` (or leaving a ``with``
    block) stops it. Without ChromeDriver, or when the kept browser fails to
    start, every page goes through :func:`print_pdf` (a browser per page): the
    batch is slower, never wrong.
    """

    def __init__(self) -> None:
        self.driver: webdriver.Chrome | None = None
        self.fallback = False
        self.pages = 0

    def __enter__(self) -> PagePrinter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> webdriver.Chrome | None:
        driver_path = find_chromedriver()
        if driver_path is None:
            return None
        options = webdriver.ChromeOptions()
        options.binary_location = find_chromium()
        for argument in BROWSER_ARGUMENTS:
            options.add_argument(argument)
        try:
            # an explicit driver path: Selenium Manager must not try to download one
            return webdriver.Chrome(service=Service(driver_path), options=options)
        except WebDriverException:
            return None

    def print_pdf(self, html_path: Path | str, pdf_path: Path | str) -> Path:
        """Print ``html_path`` to ``pdf_path`` (atomically); same errors as :func:`print_pdf`."""
        html_path, pdf_path = _page_to_print(html_path), Path(pdf_path)
        if self.driver is None and not self.fallback:
            self.driver = self._start()
            self.fallback = self.driver is None
        if self.fallback:
            return print_pdf(html_path, pdf_path)
        try:
            self.driver.get(html_path.as_uri())
            printed = self.driver.execute_cdp_cmd("Page.printToPDF", dict(PRINT_SETTINGS))
        except WebDriverException as error:
            self.close()  # a broken browser: the next page starts a new one
            raise RuntimeError(f"Chromium could not print {html_path}: {error.msg}") from None
        content = base64.b64decode(printed["data"])
        if content[:5] != b"%PDF-":
            raise RuntimeError(f"Chromium wrote no PDF for {html_path}")
        write_bytes_atomically(content, pdf_path)
        self.pages += 1
        return pdf_path

    def close(self) -> None:
        """Stop the browser (if one was started)."""
        if self.driver is not None:
            try:
                self.driver.quit()
            except WebDriverException:
                pass
            self.driver = None
