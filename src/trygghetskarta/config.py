"""Settings, read once and passed down.

:func:`load_settings` reads ``trygghetskarta.toml`` in the project directory (if it exists),
then ``TRYGGHETSKARTA_*`` environment variables, then explicit overrides (the CLI's options),
and returns a frozen :class:`Settings`. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from trygghetskarta.errors import ConfigError, DataNotFoundError
from trygghetskarta.freshness import FreshnessPolicy

#: The reference system every position is stored and analysed in (SWEREF99 TM, metres).
STORE_CRS = "EPSG:3006"
#: Stockholm city's own files come in SWEREF99 18 00.
CITY_CRS = "EPSG:3011"
#: What the web wants; used by ``render`` only.
WEB_CRS = "EPSG:4326"

ENV_PREFIX = "TRYGGHETSKARTA_"
#: The folder beside the published database where the batch keeps its own copy and lock.
WORK_DIR = ".work"
CONFIG_FILE = "trygghetskarta.toml"

#: Bandwidth rules a user may give instead of metres (see ``analysis.bandwidth``).
BANDWIDTH_RULES = ("scott", "silverman", "cv")
#: Clustering methods of the ``analyse`` step.
CLUSTER_METHODS = ("hdbscan", "dbscan")


@dataclass(frozen=True)
class AnalysisParameters:
    """Every parameter of the ``analyse`` step, built once from the ``[analysis]`` table of
    ``trygghetskarta.toml`` and the CLI, recorded in the manifest and every GeoTIFF's tags.

    Attributes
    ----------
    bandwidth
        The density kernel's sigma: metres, or a rule chosen from the events of each
        selection: ``"scott"``, ``"silverman"`` or ``"cv"`` (likelihood cross-validation).
    cell_size_m
        Cell of the density rasters, metres.
    gi_cell_size_m, gi_neighbourhood, gi_min_events
        Gi* on grid cells: the cell (only events placed within it count), the
        neighbourhood in cells around each cell (1: the 3 × 3 cells), and the fewest
        events Gi* runs on (also on stadsdelar).
    emerging_months, emerging_cell_candidates_m, emerging_min_share
        Emerging hot spots: months in the cube, and its cell: the smallest candidate
        within which at least ``emerging_min_share`` of the located events are placed.
    local_moran_permutations
        Conditional permutations of local Moran's I on RegSO rates.
    cluster_method, cluster_min_size, cluster_eps_m, cluster_max_events
        Clusters: ``"hdbscan"`` or ``"dbscan"``, the smallest cluster (events; DBSCAN's
        ``min_samples``), DBSCAN's radius in metres, and the events HDBSCAN clusters at
        most (a seeded sample above it; DBSCAN uses every event when their neighbourhoods
        fit in memory). A sample is stated in the warnings, the ``sampled`` columns, the
        manifest and on the map.
    knox_distance_bands_m, knox_time_bands_d, knox_permutations, knox_max_events
        The Knox near-repeat test: its bands and permutations, and the events whose
        permutations give the Monte-Carlo p-values at most (a seeded sample above it,
        stated as for clusters; the observed and expected pairs always count every event).
    period
        ``("YYYY-MM", "YYYY-MM")``, the first and last month analysed; ``None``: the last
        12 whole months up to the latest event.
    data_start
        The first day of complete data, ``"YYYY-MM-DD"`` (``"YYYY-MM"`` is its first day):
        trends, seasonal baselines and changes against last year use no month before it,
        and months before it are flagged where shown. ``None`` (default): the first day the
        police feed's recorded coverage shows, or, without recorded coverage, the first
        month whose count is not far below the median month (the archive is sparse before
        April 2023); the ``analyse`` step records the day it used and how in the manifest.
    """

    bandwidth: float | str = 300.0
    cell_size_m: float = 100.0
    gi_cell_size_m: float = 250.0
    gi_neighbourhood: int = 1
    gi_min_events: int = 30
    emerging_months: int = 24
    emerging_cell_candidates_m: tuple[float, ...] = (250.0, 500.0, 1000.0)
    emerging_min_share: float = 0.5
    local_moran_permutations: int = 9999
    cluster_method: Literal["hdbscan", "dbscan"] = "hdbscan"
    cluster_min_size: int = 10
    cluster_eps_m: float = 250.0
    cluster_max_events: int = 20_000
    knox_distance_bands_m: tuple[float, ...] = (250.0, 500.0, 1000.0)
    knox_time_bands_d: tuple[float, ...] = (7.0, 14.0, 28.0)
    knox_permutations: int = 999
    knox_max_events: int = 5_000
    period: tuple[str, str] | None = None
    data_start: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every parameter, JSON-ready (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def to_json(self) -> str:
        """:meth:`as_dict` as one JSON string (the ``analysis_parameters`` tag)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True)


def _bad(name: str, expected: str, value: Any, origin: str) -> ConfigError:
    return ConfigError(
        f"analysis parameter {name!r} from {origin} must be {expected}, got {value!r} — "
        f"fix it in {origin}"
    )


def _positive(name: str, value: Any, origin: str, kind: type = float) -> Any:
    expected = "a positive whole number" if kind is int else "a positive number"
    if isinstance(value, bool) or (kind is int and isinstance(value, float)):
        raise _bad(name, expected, value, origin)
    try:
        out = kind(value)
    except (TypeError, ValueError) as e:
        raise _bad(name, expected, value, origin) from e
    if not (math.isfinite(out) and out > 0):
        raise _bad(name, expected, value, origin)
    return out


def _bandwidth(value: Any, origin: str) -> float | str:
    expected = f"a positive number of metres or one of {', '.join(BANDWIDTH_RULES)}"
    if isinstance(value, str):
        rule = value.strip().lower()
        if rule in BANDWIDTH_RULES:
            return rule
        try:
            value = float(rule)
        except ValueError as e:
            raise _bad("bandwidth", expected, value, origin) from e
    if isinstance(value, bool):
        raise _bad("bandwidth", expected, value, origin)
    try:
        out = float(value)
    except (TypeError, ValueError) as e:
        raise _bad("bandwidth", expected, value, origin) from e
    if not (math.isfinite(out) and out > 0):
        raise _bad("bandwidth", expected, value, origin)
    return out


def _bands(name: str, value: Any, origin: str) -> tuple[float, ...]:
    expected = "a list of positive numbers in increasing order"
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise _bad(name, expected, value, origin)
    out = tuple(_positive(name, v, origin) for v in value)
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise _bad(name, expected, value, origin)
    return out


def _period(value: Any, origin: str) -> tuple[str, str] | None:
    expected = 'two months ["YYYY-MM", "YYYY-MM"], the first and the last'
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise _bad("period", expected, value, origin)
    first, last = (str(v) for v in value)
    if not all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m) for m in (first, last)) or last < first:
        raise _bad("period", expected, value, origin)
    return first, last


def _data_start(value: Any, origin: str) -> str | None:
    expected = 'a day "YYYY-MM-DD" or a month "YYYY-MM" (its first day)'
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        text += "-01"
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as e:
        raise _bad("data_start", expected, value, origin) from e
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or day.year < 2000:
        raise _bad("data_start", expected + " from 2000 on", value, origin)
    return day.isoformat()


def _share(name: str, value: Any, origin: str) -> float:
    out = _positive(name, value, origin)
    if out > 1:
        raise _bad(name, "a share between 0 and 1", value, origin)
    return out


def _method(value: Any, origin: str) -> str:
    rule = str(value).strip().lower()
    if rule not in CLUSTER_METHODS:
        raise _bad("cluster_method", f"one of {', '.join(CLUSTER_METHODS)}", value, origin)
    return rule


def _parameter_readers() -> dict[str, Any]:
    readers: dict[str, Any] = {
        "bandwidth": _bandwidth,
        "cluster_method": _method,
        "emerging_min_share": lambda v, o: _share("emerging_min_share", v, o),
        "period": _period,
        "data_start": _data_start,
    }
    for f in fields(AnalysisParameters):
        if f.name in readers:
            continue
        if f.type.startswith("tuple[float"):
            readers[f.name] = lambda v, o, n=f.name: _bands(n, v, o)
        elif f.type == "int":
            readers[f.name] = lambda v, o, n=f.name: _positive(n, v, o, int)
        else:
            readers[f.name] = lambda v, o, n=f.name: _positive(n, v, o)
    return readers


def analysis_parameters(
    *layers: tuple[Mapping[str, Any], str], base: AnalysisParameters | None = None
) -> AnalysisParameters:
    """Build :class:`AnalysisParameters` from tables of values, later ones winning.

    Parameters
    ----------
    *layers
        ``(values, origin)`` pairs, e.g. the toml's ``[analysis]`` table and its path,
        then the CLI's options and ``"the command line"``; ``None`` values are skipped.
    base
        The parameters the values change (default: the defaults).

    Raises
    ------
    ConfigError
        An unknown name or a bad value (one sentence: expected, got, where to fix it).

    Examples
    --------
    >>> analysis_parameters(({"bandwidth": "CV"}, "test")).bandwidth
    'cv'
    """
    readers = _parameter_readers()
    values: dict[str, Any] = {}
    for table, origin in layers:
        for key, value in table.items():
            if value is None:
                continue
            if key not in readers:
                raise ConfigError(
                    f"unknown analysis parameter {key!r} in {origin}; expected one of "
                    f"{sorted(readers)} — fix {origin}"
                )
            values[key] = readers[key](value, origin)
    return replace(base or AnalysisParameters(), **values)


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
        The DuckDB file readers open: the snapshot the last run published (read-only on
        disk). The batch itself writes :attr:`work_db_path`.
    municipality
        The kommun analysed; events elsewhere are quarantined as out of area.
    analysis
        The parameters of every analysis (the ``[analysis]`` table, the CLI's
        ``--bandwidth``), see :class:`AnalysisParameters`.
    seed
        Seed for every random draw (permutations, Monte Carlo).
    profile
        Export profile of maps and reports: ``public`` (default) or ``internal``.
    reingest
        Read every input file again, even those already ingested (``ingest --all``).
    freshness
        How many days each source's newest event may be old before a run warns (the
        ``[freshness]`` table, see :class:`~trygghetskarta.freshness.FreshnessPolicy`).
    db_memory_limit
        The most memory DuckDB may hold while the batch writes (``db_memory_limit`` in the
        toml file or ``TRYGGHETSKARTA_DB_MEMORY_LIMIT``, e.g. ``"1GB"``, ``"512MiB"``;
        default 512 MB); beyond it DuckDB writes to disk. DuckDB's own default is 80 % of
        the machine's memory, which a million-row list fills with buffers nobody reads
        again; at a million listed rows 512 MB keeps the ingest's peak at 2.5 GiB, 1 GB at
        2.95 GiB, in about the same time.
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
    analysis: AnalysisParameters = field(default_factory=AnalysisParameters)
    seed: int = 20_240_101
    profile: str = "public"
    reingest: bool = False
    freshness: FreshnessPolicy = field(default_factory=FreshnessPolicy)
    db_memory_limit: str = "512MB"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def work_db_path(self) -> Path:
        """The batch's own database, ``.work/<name>`` beside :attr:`db_path`.

        Every command that writes works on this file; readers open :attr:`db_path`, the
        read-only snapshot a run publishes when it ends (see ``docs/architecture.md``).
        """
        return self.db_path.parent / WORK_DIR / self.db_path.name

    @property
    def run_lock_path(self) -> Path:
        """The lock file that lets one run at a time write the database and the outputs."""
        return self.db_path.parent / WORK_DIR / "run.lock"

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
    "seed": int,
    "profile": str,
    "db_memory_limit": str,
}
#: A memory size as DuckDB reads one: a number and a unit.
_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
PROFILES = ("public", "internal")
#: Top-level keys of earlier versions that belong under ``[analysis]`` now (old → new).
_MOVED_TO_ANALYSIS = {"cell_size_m": "cell_size_m", "bandwidth_m": "bandwidth"}
#: Analysis parameters that ``TRYGGHETSKARTA_<NAME>`` may set as well.
_ANALYSIS_ENV = ("bandwidth", "cell_size_m", "data_start")


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
        ``analysis={"bandwidth": "cv"}`` changes analysis parameters (the CLI's options).

    Returns
    -------
    Settings
        Frozen settings. ``data_dir`` is resolved in this order: the ``data_dir`` override,
        ``TRYGGHETSKARTA_DATA``, ``data_dir`` in the toml file, ``../shared/data`` when it
        exists, then ``data/raw``; ``None`` when none of them holds data.

    Raises
    ------
    ConfigError
        A value has the wrong type, an unknown key is given, the profile is unknown, or
        an analysis parameter is out of its range.
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
    analysis_layers: list[tuple[Mapping[str, Any], str]] = []
    for key, value in toml_data.items():
        if key in _SIMPLE_FIELDS:
            values[key] = _coerce(key, value, str(toml_path))
        elif key in _MOVED_TO_ANALYSIS:
            raise ConfigError(
                f"{key!r} at the top of {toml_path} is an analysis parameter now, expected "
                f"under [analysis] — write `[analysis]` then `{_MOVED_TO_ANALYSIS[key]} = "
                f"{value!r}`"
            )
        elif key == "analysis":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"'analysis' in {toml_path} must be a table, got {value!r} — write "
                    "`[analysis]` and the parameters below it"
                )
            analysis_layers.append((value, f"[analysis] in {toml_path}"))
        elif key == "freshness":
            values["freshness"] = FreshnessPolicy.from_table(value, str(toml_path))
        elif key not in ("data_dir", "processed_dir", "db_path"):
            extra[key] = value  # sections for later stages (e.g. column mappings)
    for name in _ANALYSIS_ENV:
        env_key = ENV_PREFIX + name.upper()
        if env_key in env:
            analysis_layers.append(({name: env[env_key]}, f"the environment variable {env_key}"))
    cli_analysis = overrides.pop("analysis", None) or {}
    analysis_layers.append((cli_analysis, "the command line"))
    values["analysis"] = analysis_parameters(*analysis_layers)

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

    limit = values.get("db_memory_limit")
    if limit is not None and not _MEMORY_SIZE.match(limit):
        raise ConfigError(
            f"db_memory_limit must be a size such as '1GB' or '512MiB', got {limit!r} — "
            "give a number and one of KB, MB, GB, TB, KiB, MiB, GiB, TiB"
        )
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
