"""One territory's fiche on demand (``ptce fiche``): the batch's notebook, its page and its PDF."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

import papermill

from analysis import paths, territories
from analysis.keys import FICHE_LEVELS
from analysis.reports.config import FIGURES_DIR, HTML_FILE, PDF_FILE
from analysis.reports.execute import install_kernelspec
from analysis.reports.pages import export_html
from analysis.reports.pdf import print_pdf

FICHE_NOTEBOOK = "territory_fiche"
"""The notebook of a fiche (the one ``config/reports.yml``'s ``fiches`` rule runs)."""


def check_territory(level: str, code: str) -> str:
    """The territory's name; a clear error for a level or code that is not one.

    Raises:
        ValueError: the level is not a fiche level, or the code is not a
            territory of that level (with examples of valid codes).
    """
    if level not in FICHE_LEVELS:
        raise ValueError(f"level {level!r}: a fiche is made for {', '.join(FICHE_LEVELS)}")
    layer = territories.load_territories(level, with_geometry=False)
    names = dict(zip(layer["territory_code"].astype(str), layer["territory_name"], strict=True))
    if code not in names:
        sample = ", ".join(sorted(names)[:6])
        raise ValueError(
            f"{code!r} is not a {level} code in data/processed/territories/{level}.parquet "
            f"(e.g. {sample}); `ptce territories show <commune>` gives a commune's codes"
        )
    return str(names[code])


def make_fiche(
    level: str,
    code: str,
    out_dir: Path | str | None = None,
    *,
    lang: str = "fr",
    registry_path: str = "",
    pdf: bool = True,
) -> dict[str, Path | float]:
    """Make one fiche outside the batch: the executed notebook, its HTML page and its PDF.

    Args:
        level: ``reg``, ``dep``, ``ze2020`` or ``epci``.
        code: The territory's code at that level.
        out_dir: Folder of the fiche (default ``reports/interactive/fiche-<level>-<code>``);
            figures and tables go in its ``figures/``.
        lang: ``fr`` or ``en``.
        registry_path: A custom registry CSV (empty: the project's).
        pdf: Also print ``fiche.pdf``.

    Returns:
        ``notebook``, ``html``, ``pdf`` (when printed) paths and ``seconds``
        spent in each step (``execute_s``, ``html_s``, ``pdf_s``).
    """
    name = check_territory(level, code)
    folder = Path(out_dir or paths.reports_dir() / "interactive" / f"fiche-{level}-{code.lower()}")
    (folder / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    executed = folder / f"{FICHE_NOTEBOOK}.ipynb"
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="ptce-kernel-") as kernel_folder,
        # the batch's kernel: this interpreter, byte-stable figures, no tqdm warning
        mock.patch.dict(os.environ, install_kernelspec(Path(kernel_folder))),
    ):
        try:
            papermill.execute_notebook(
                str(paths.NOTEBOOKS_DIR / f"{FICHE_NOTEBOOK}.ipynb"),
                str(executed),
                parameters={
                    "level": level,
                    "territory_code": code,
                    "lang": lang,
                    "registry_path": registry_path,
                    "output_dir": FIGURES_DIR,
                },
                kernel_name="python3",
                cwd=str(folder),
                progress_bar=False,
                log_output=False,
            )
        except papermill.PapermillExecutionError as error:
            raise RuntimeError(
                f"the fiche's notebook failed: {error.ename}: {error.evalue} "
                f"(the executed notebook, with the full traceback: {executed})"
            ) from None
    executed_at = time.perf_counter()
    page = folder / HTML_FILE
    export_html(executed, page, title=f"{name} ({code})", site_index="")  # not in the site
    made: dict[str, Path | float] = {"notebook": executed, "html": page}
    exported_at = time.perf_counter()
    if pdf:
        made["pdf"] = print_pdf(page, folder / PDF_FILE)
    made.update(
        execute_s=executed_at - started,
        html_s=exported_at - executed_at,
        pdf_s=time.perf_counter() - exported_at,
    )
    return made
