"""trygghetskarta: safety data for the City of Stockholm on a map.

See ``docs/architecture.md`` for how the package is laid out; the command line is
:mod:`trygghetskarta.cli` and the steps are in :mod:`trygghetskarta.pipeline`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trygghetskarta")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
