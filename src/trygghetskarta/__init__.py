"""trygghetskarta: safety data for the City of Stockholm on a map.

The analyst's API is :mod:`trygghetskarta.analysis`; its functions and types are also
importable from here (``from trygghetskarta import kde, gi_star_areas, Grid``), and so
are the public packages an analyst opens the data with: :mod:`~trygghetskarta.store`
(the DuckDB file), :mod:`~trygghetskarta.areas` (district layers),
:mod:`~trygghetskarta.config` (``load_settings``) and :mod:`~trygghetskarta.render`
(folium maps). ``docs/api.md`` shows each function on the real data.

Everything is loaded on first use, so ``import trygghetskarta`` stays fast. See
``docs/architecture.md`` for how the package is laid out; the command line is
:mod:`trygghetskarta.cli` and the nightly steps are in :mod:`trygghetskarta.pipeline`.

Examples
--------
>>> import trygghetskarta as tk
>>> tk.kde is tk.analysis.kde, tk.load_settings is tk.config.load_settings
(True, True)
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("trygghetskarta")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

#: The public packages, importable as attributes (``trygghetskarta.store``).
PUBLIC_PACKAGES = ("analysis", "areas", "config", "errors", "periods", "render", "store")
#: Names taken from other public modules than :mod:`trygghetskarta.analysis`.
_ALSO = {"load_settings": "trygghetskarta.config"}


def _analysis_names() -> list[str]:
    return list(importlib.import_module("trygghetskarta.analysis").__all__)


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _ALSO:
        return getattr(importlib.import_module(_ALSO[name]), name)
    # a subpackage or module (``from trygghetskarta import pipeline`` asks here first):
    # imported alone, without loading the analyses
    if importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _analysis_names():
        return getattr(importlib.import_module("trygghetskarta.analysis"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *PUBLIC_PACKAGES, *_ALSO, *_analysis_names()})


# The analysis names come lazily through __getattr__ (listed by dir()).
__all__ = [
    "PUBLIC_PACKAGES",
    "__version__",
    "load_settings",
    *PUBLIC_PACKAGES,
]
