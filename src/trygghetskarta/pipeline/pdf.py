"""The lägesbilder as PDF files, printed by a headless Chromium (``report --pdf``).

Part of the wiring layer: the only code that starts another program. The report's own
print layout (A4, static maps, no controls: see :mod:`trygghetskarta.render.report`)
makes the pages; Chromium only prints them. It runs once per report as a subprocess
with a fresh profile folder, no network services, no sandbox (it runs as the batch's
user, on files the batch wrote) and a timeout, and writes ``<slug>.pdf`` next to
``<slug>.html``.

Which Chromium: the ``chromium`` key of the ``[report]`` table of trygghetskarta.toml
(or the CLI's ``--chromium``), else the first of :data:`CHROMIUM_NAMES` on ``PATH``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from trygghetskarta.config import Settings
from trygghetskarta.errors import MissingDependencyError, OutputError

__all__ = ["CHROMIUM_NAMES", "PDF_TIMEOUT_S", "find_chromium", "print_pdf", "print_pdfs"]

#: Program names tried on PATH, in order (Debian's package is ``chromium``).
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Seconds one report may take to print.
PDF_TIMEOUT_S = 120.0
#: Chromium's options: headless, no GPU, no first-run or background network, no sync.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-pdf-header-footer",
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=10000",
)


def find_chromium(settings: Settings | None = None, explicit: str | None = None) -> Path:
    """The Chromium to print with.

    Parameters
    ----------
    settings
        Its ``extra["report"]["chromium"]`` (the ``[report]`` table) names a program.
    explicit
        A program named on the command line; wins over the settings.

    Raises
    ------
    MissingDependencyError
        None is named or found on PATH (one sentence: what to install).
    """
    named = explicit
    if named is None and settings is not None:
        table = settings.extra.get("report", {})
        named = table.get("chromium") if isinstance(table, dict) else None
    if named:
        found = shutil.which(str(named))
        if found is None:
            raise MissingDependencyError(
                f"expected a Chromium program at {named!r} (from --chromium or chromium in the "
                "[report] table), found none there — install Debian's chromium package "
                "(apt-get install chromium) or name the program's full path"
            )
        return Path(found)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    raise MissingDependencyError(
        f"report --pdf needs a headless Chromium and none of {', '.join(CHROMIUM_NAMES)} is on "
        "PATH — install Debian's chromium package (apt-get install chromium) or set chromium "
        "in the [report] table of trygghetskarta.toml"
    )


def print_pdf(chromium: Path, html: Path, pdf: Path, *, timeout: float = PDF_TIMEOUT_S) -> Path:
    """Print one HTML file to ``pdf`` with Chromium's print layout (the page's ``@page``).

    Raises
    ------
    OutputError
        Chromium failed, timed out or wrote no PDF (its last words in the message).
    """
    pdf.parent.mkdir(parents=True, exist_ok=True)
    tmp_pdf = pdf.with_name(f".{pdf.name}.tmp")
    tmp_pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="tk-chromium-") as profile:
        command = [
            str(chromium),
            *_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp_pdf}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            tmp_pdf.unlink(missing_ok=True)
            raise OutputError(
                f"Chromium did not print {html.name} within {timeout:.0f} s — check that "
                f"{chromium} runs headless on this machine"
            ) from e
        except OSError as e:
            raise OutputError(f"could not start {chromium}: {e} — check the program") from e
    if done.returncode != 0 or not tmp_pdf.exists() or tmp_pdf.stat().st_size == 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        tmp_pdf.unlink(missing_ok=True)
        raise OutputError(
            f"Chromium wrote no PDF of {html.name} (exit {done.returncode}): "
            f"{' / '.join(tail) or 'no message'} — check that {chromium} can print headless"
        )
    tmp_pdf.replace(pdf)
    return pdf


def print_pdfs(
    chromium: Path, pages: Sequence[Path], *, timeout: float = PDF_TIMEOUT_S
) -> list[Path]:
    """One PDF next to each HTML page (``x.html`` → ``x.pdf``), in order."""
    return [print_pdf(chromium, p, p.with_suffix(".pdf"), timeout=timeout) for p in pages]
