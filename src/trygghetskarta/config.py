"""Settings, read once and passed down.

:func:`load_settings` reads ``trygghetskarta.toml`` in the project directory (if it exists),
then ``TRYGGHETSKARTA_*`` environment variables, then explicit overrides (the CLI's options),
and returns a frozen :class:`Settings`. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from trygghetskarta.errors import ConfigError, DataNotFoundError

#: The reference system every position is stored and analysed in (SWEREF99 TM, metres).
STORE_CRS = "EPSG:3006"
#: Stockholm city's own files come in SWEREF99 18 00.
CITY_CRS = "EPSG:3011"
#: What the web wants; used by ``render`` only.
WEB_CRS = "EPSG:4326"

ENV_PREFIX = "TRYGGHETSKARTA_"
CONFIG_FILE = "trygghetskarta.toml"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, fixed for its duration.

    Attributes
    ----------
    project_dir
        The directory holding ``data/`` (normally the checkout).
    data_dir
        The input data directory, or ``None`` when none was found (see :meth:`require_data`).
    data_dir_tried
        Where the data directory was looked for, in order, for the error message.
    processed_dir
        Where every generated file goes.
    raw_dir
        Where fetched raw files are kept so that a run can be replayed.
    db_path
        The DuckDB file.
    municipality
        The kommun analysed; events elsewhere are quarantined as out of area.
    cell_size_m, bandwidth_m
        Default grid cell and Gaussian kernel bandwidth (sigma) for density rasters, metres.
    seed
        Seed for every random draw (permutations, Monte Carlo).
    profile
        Export profile of maps and reports: ``public`` (default) or ``internal``.
    reingest
        Read every input file again, even those already ingested (``ingest --all``).
    extra
        The toml file's tables for later stages, e.g. ``[polisen]`` for the live client.
    """

    project_dir: Path
    data_dir: Path | None
    processed_dir: Path
    raw_dir: Path
    db_path: Path
    data_dir_tried: tuple[Path, ...] = ()
    municipality: str = "Stockholm"
    cell_size_m: float = 100.0
    bandwidth_m: float = 300.0
    seed: int = 20_240_101
    profile: str = "public"
    reingest: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def require_data(self) -> Path:
        """Return the data directory or raise one clear error saying where we looked."""
        if self.data_dir is None:
            tried = ", ".join(str(p) for p in self.data_dir_tried) or "nowhere"
            raise DataNotFoundError(
                f"no input data found (looked in {tried}); put the data beside the checkout "
                f"as ../shared/data, or pass --data DIR or set {ENV_PREFIX}DATA=DIR"
            )
        return self.data_dir

    def with_overrides(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed (used by tests and the CLI)."""
        return replace(self, **changes)


_SIMPLE_FIELDS = {
    "municipality": str,
    "cell_size_m": float,
    "bandwidth_m": float,
    "seed": int,
    "profile": str,
}
PROFILES = ("public", "internal")


#: A data directory holds at least one of these folders (live fetches alone are not data).
_DATA_FOLDERS = ("boundaries", "police_events")


def _has_data(path: Path) -> bool:
    return any((path / name).is_dir() for name in _DATA_FOLDERS)


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = _SIMPLE_FIELDS[name]
    try:
        return kind(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(
            f"setting {name!r} from {origin} must be {kind.__name__}, got {value!r} — fix {origin}"
        ) from e


def load_settings(
    project_dir: Path | str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the run's settings.

    Parameters
    ----------
    project_dir
        The project directory; defaults to the current directory.
    env
        Environment variables to read (defaults to ``os.environ``); tests pass a dict.
    **overrides
        Explicit values, e.g. ``data_dir=...`` from ``--data``; ``None`` values are ignored.

    Returns
    -------
    Settings
        Frozen settings. ``data_dir`` is resolved in this order: the ``data_dir`` override,
        ``TRYGGHETSKARTA_DATA``, ``data_dir`` in the toml file, ``../shared/data`` when it
        exists, then ``data/raw``; ``None`` when none of them holds data.

    Raises
    ------
    ConfigError
        A value has the wrong type, an unknown key is given, or the profile is unknown.
    """
    env = os.environ if env is None else env
    project = Path(project_dir or Path.cwd()).resolve()
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}

    toml_path = project / CONFIG_FILE
    toml_data: dict[str, Any] = {}
    if toml_path.is_file():
        try:
            toml_data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{toml_path} is not valid TOML ({e}) — fix the file") from e
    for key, value in toml_data.items():
        if key in _SIMPLE_FIELDS:
            values[key] = _coerce(key, value, str(toml_path))
        elif key not in ("data_dir", "processed_dir", "db_path"):
            extra[key] = value  # sections for later stages (e.g. column mappings)

    for key in _SIMPLE_FIELDS:
        env_key = ENV_PREFIX + key.upper()
        if env_key in env:
            values[key] = _coerce(key, env[env_key], f"the environment variable {env_key}")

    for key, value in overrides.items():
        if value is None or key in ("data_dir", "processed_dir", "db_path"):
            continue
        if key == "reingest":
            values[key] = bool(value)
            continue
        if key not in _SIMPLE_FIELDS:
            raise ConfigError(f"unknown setting {key!r}; expected one of {sorted(_SIMPLE_FIELDS)}")
        values[key] = _coerce(key, value, "the command line")

    if values.get("profile", "public") not in PROFILES:
        raise ConfigError(
            f"profile must be one of {PROFILES}, got {values['profile']!r} — use --profile public"
        )

    def _path(key: str, env_key: str, default: Path) -> Path:
        raw = overrides.get(key) or env.get(env_key) or toml_data.get(key)
        path = Path(raw).expanduser() if raw else default
        return path if path.is_absolute() else (project / path).resolve()

    processed = _path("processed_dir", ENV_PREFIX + "PROCESSED", project / "data" / "processed")
    db_path = _path("db_path", ENV_PREFIX + "DB", processed / "trygghetskarta.duckdb")
    raw_dir = project / "data" / "raw"

    explicit = (
        overrides.get("data_dir") or env.get(ENV_PREFIX + "DATA") or toml_data.get("data_dir")
    )
    if explicit:
        candidate = Path(explicit).expanduser()
        candidate = candidate if candidate.is_absolute() else (project / candidate).resolve()
        tried: tuple[Path, ...] = (candidate,)
        data_dir = candidate if _has_data(candidate) else None
    else:
        tried = ((project.parent / "shared" / "data").resolve(), raw_dir)
        data_dir = next((p for p in tried if _has_data(p)), None)

    known = {f.name for f in fields(Settings)}
    assert set(values) <= known
    return Settings(
        project_dir=project,
        data_dir=data_dir,
        data_dir_tried=tried,
        processed_dir=processed,
        raw_dir=raw_dir,
        db_path=db_path,
        extra=extra,
        **values,
    )
