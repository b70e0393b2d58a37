"""Report pages printed to A4 PDF by headless Chromium (the fiches handed out at seminars).

The fiche notebook carries its own print stylesheet (``@page`` A4, margins,
figure heights); :func:`print_pdf` only drives the browser. Debian's
``chromium`` package is the one used (``apt-get install chromium``);
``PTCE_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PDF_NOTEBOOKS = frozenset({"territory_fiche"})
"""Notebooks whose report page is also printed to PDF after its HTML export."""

PDF_FILE = "fiche.pdf"
"""File name of the printed page in a run's folder."""

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executables looked for on ``PATH`` (after ``PTCE_CHROMIUM``)."""

PRINT_TIMEOUT_S = 120


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
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    if not html_path.is_file():
        raise FileNotFoundError(f"{html_path}: no HTML page to print")
    chromium = find_chromium()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pdf-", dir=pdf_path.parent) as scratch:
        target = Path(scratch) / pdf_path.name
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
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
