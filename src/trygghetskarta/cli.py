"""The command line: each command is one call into :mod:`trygghetskarta.pipeline`.

Exit codes: 0 ok, 1 a domain error (bad input, missing data, locked database: one sentence
on stderr, no traceback), 2 a usage error: an unknown option, or a wrong value of one (a
profile, a CRS, a bandwidth …), in one plain line that lists the allowed values. Only this
module parses arguments and configures logging (with the handlers of :mod:`.cli_log`:
``--log-file`` and ``-v``). A run's summary starts with its verdict (``OK: …``, ``OK with
warnings: …``, ``FAILED: …``) and ends with the freshness of each source.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from trygghetskarta import __version__, cli_log, pipeline
from trygghetskarta.config import STORE_CRS, Settings, analysis_parameters, load_settings
from trygghetskarta.errors import ConfigError, TrygghetskartaError
from trygghetskarta.freshness import Freshness
from trygghetskarta.pipeline.housekeeping import human_bytes
from trygghetskarta.schema import quarantine_class

app = typer.Typer(
    name="trygghetskarta",
    help=(
        "Safety data for the City of Stockholm on a map. Reads police events, boundaries and "
        "statistics from a data directory, stores them in DuckDB, places each event in its "
        "district, analyses concentrations and trends, and writes HTML maps and lägesbild "
        "reports to data/processed/.\n\n"
        "Start with `trygghetskarta run` (what `make maps` does), or run one step at a time: "
        "ingest → geocode → analyse → forecast → maps → report."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain usage errors ("Error: Invalid value for '--profile': 'publik' is not one of
    # 'public', 'internal'.", exit 2): one line whatever the terminal's width, unlike
    # rich's boxes, so that a log or a cron mail keeps the sentence whole.
    rich_markup_mode=None,
)
# soft_wrap: rich never inserts line breaks into what it prints, whatever the terminal's
# width (or none, when the output goes to a log): a sentence stays one line. Messages are
# printed as Text, never as markup, since they carry paths and source text ("[sources.x]").
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _print_error(message: object) -> None:
    """One error sentence on stderr (and in the log file), never wrapped or read as markup."""
    err.print(Text.assemble(("error: ", "bold red"), str(message)))
    logging.getLogger(cli_log.SUMMARY_LOGGER).error("%s", message, extra={cli_log.FILE_ONLY: True})


DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Input data directory (default: $TRYGGHETSKARTA_DATA, ../shared/data, data/raw).",
        file_okay=False,
    ),
]
#: The export profiles as a type: typer turns a value outside them into a usage error (exit
#: 2) listing them. ``tests/test_ops.py`` checks that this stays equal to ``config.PROFILES``.
Profile = Literal["public", "internal"]
ProfileOption = Annotated[
    Profile | None,
    typer.Option(
        "--profile",
        help="Export profile: 'public' (default; no single events, small counts hidden) "
        "or 'internal' (events as points, for analysts).",
        show_default=False,
    ),
]


def _show_version(value: bool) -> None:
    if value:
        out.print(Text(f"trygghetskarta {__version__}"))
        raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    data: DataOption = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="The DuckDB file (default data/processed/).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            help="Append every log line (timestamped, with its step) and the summary to "
            "this file; the console keeps warnings and errors (all with -v).",
            dir_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Common options; see each command's --help."""
    try:
        handlers = cli_log.configure(err, verbose=verbose, log_file=log_file)
    except TrygghetskartaError as e:
        _print_error(e)
        raise typer.Exit(1) from None
    logging.getLogger(__name__).info(
        "trygghetskarta %s: %s", __version__, " ".join(sys.argv[1:]) or ctx.invoked_subcommand
    )

    def _close() -> None:  # writes the count of a last repeated line, closes the file
        root = logging.getLogger()
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()

    ctx.call_on_close(_close)
    ctx.obj = {"data_dir": data, "db_path": db}


def _analysis_option(name: str) -> Callable[[Any], Any]:
    """A callback that checks an analysis parameter given on the command line: a bad value
    is a usage error (exit 2) saying what is expected, as for any option."""

    def check(value: Any) -> Any:
        if value is not None:
            try:
                analysis_parameters(({name: value}, "the command line"))
            except ConfigError as e:
                raise typer.BadParameter(str(e).split(" — ")[0]) from None
        return value

    return check


BandwidthOption = Annotated[
    str | None,
    typer.Option(
        "--bandwidth",
        help="Density kernel bandwidth: metres (e.g. 300) or a rule, 'scott', 'silverman' or "
        "'cv' (overrides bandwidth under [analysis] in trygghetskarta.toml).",
        callback=_analysis_option("bandwidth"),
    ),
]
CellSizeOption = Annotated[
    float | None,
    typer.Option(
        "--cell-size",
        help="Density raster cell, metres (overrides cell_size_m under [analysis]).",
        callback=_analysis_option("cell_size_m"),
    ),
]


DataStartOption = Annotated[
    str | None,
    typer.Option(
        "--data-start",
        help="First day of complete data, YYYY-MM-DD or YYYY-MM: trends, baselines and "
        "changes against last year use nothing earlier (overrides data_start under "
        "\\[analysis]; default: the police feed's recorded coverage, else the first month "
        "not far below the median).",
    ),
]


def _analysis(
    bandwidth: str | None, cell_size: float | None, data_start: str | None = None
) -> dict[str, Any]:
    """The analysis parameters given on the command line (validated by ``load_settings``)."""
    return {"bandwidth": bandwidth, "cell_size_m": cell_size, "data_start": data_start}


def _settings(ctx: typer.Context, **overrides: Any) -> Settings:
    return load_settings(**ctx.obj, **overrides)


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Turn a domain error into one sentence on stderr and exit code 1."""
    try:
        yield
    except TrygghetskartaError as e:
        _print_error(e)
        raise typer.Exit(1) from None


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(description: str, done: int, total: int) -> None:
        if description not in tasks:
            tasks[description] = bars.add_task(description, total=max(total, 1))
        bars.update(tasks[description], completed=done, total=max(total, 1))

    with bars:
        yield update


#: Warnings shown per step in the summary; all of them are in the manifest.
_MAX_WARNINGS = 5


def _say(text: Text) -> None:
    """One summary line on stdout, and in the log file (not again on the console)."""
    out.print(text)
    logging.getLogger(cli_log.SUMMARY_LOGGER).info(
        "%s", text.plain, extra={cli_log.FILE_ONLY: True}
    )


def _quarantine_line(counts: dict[str, Any]) -> Text | None:
    """The ingest's quarantine by class: outside the area apart from records that are wrong."""
    split = counts.get("quarantine_classes")
    if not split or not counts.get("quarantined"):
        return None
    reasons = counts.get("quarantine_reasons") or {}
    parts = []
    for kind, label in pipeline.summary.CLASS_LABELS.items():
        n = split.get(kind, 0)
        if not n:
            continue
        mine = [(r, v) for r, v in reasons.items() if quarantine_class(r).value == kind]
        detail = "; ".join(f"{r} {v:,}" for r, v in mine)
        parts.append(f"{label} {n:,}" + (f" ({detail})" if detail and len(mine) > 1 else ""))
    return Text("  quarantine: " + " · ".join(parts))


def _summary(report: pipeline.RunReport, settings: Settings) -> None:
    """The run's verdict first (``OK: …``, ``OK with warnings: …``, ``FAILED: …``), then what
    each step did, one line per fact: what was read and loaded, the quarantine split into
    records outside the area and wrong ones, by precision, the files written, warnings and
    errors; then how fresh each source is.

    Plain lines rather than a table, so that no sentence is ever broken by a column width.
    Every line also goes to the ``--log-file``.
    """
    style = {"OK": "bold green", "OK with warnings": "bold yellow"}
    verdict = report.headline.split(":", 1)[0]
    _say(Text(report.headline, style=style.get(verdict, "bold red")))
    for r in report.steps:
        c = r.counts
        if r.step == "ingest":
            text = (
                f"read {c.get('read', 0):,} = loaded {c.get('loaded', 0):,} + updated "
                f"{c.get('updated', 0):,} + unchanged {c.get('unchanged', 0):,} + quarantined "
                f"{c.get('quarantined', 0):,}"
            )
        elif r.step == "geocode":
            by = c.get("by_precision", {})
            text = f"{c.get('events', 0):,} events placed: " + ", ".join(
                f"{k} {v:,}" for k, v in by.items()
            )
        else:
            text = (
                ", ".join(f"{k} {v}" for k, v in c.items() if not isinstance(v, dict | list)) or "—"
            )
        _say(Text.assemble((f"{r.step}", "bold"), f" ({r.seconds:.1f} s): {text}"))
        quarantine = _quarantine_line(c) if r.step == "ingest" else None
        if quarantine is not None:
            _say(quarantine)
        if r.files:
            _say(Text(f"  {len(r.files)} files"))
        for w in r.warnings[:_MAX_WARNINGS]:
            _say(Text.assemble("  ", ("warning: ", "yellow"), w))
        if len(r.warnings) > _MAX_WARNINGS:
            more = len(r.warnings) - _MAX_WARNINGS
            _say(Text(f"  … and {more} more warnings in manifest.json", style="yellow"))
        for e in r.errors:
            _say(Text.assemble("  ", ("error: ", "red"), e))
    if report.freshness is not None:
        for source in report.freshness.sources:
            stale = ("  stale", "bold yellow") if source.stale else ""
            _say(Text.assemble(f"freshness: {source.sentence()}", stale))
    _say(Text(f"database: {settings.db_path}"))
    _say(Text(f"outputs:  {settings.processed_dir}"))


def _run_steps(
    ctx: typer.Context,
    steps: tuple[str, ...],
    profile: str | None,
    options: dict[str, dict[str, Any]] | None = None,
    **overrides: Any,
) -> None:
    with _domain_errors():
        _run(_settings(ctx, profile=profile, **overrides), steps, options)


def _run(
    settings: Settings,
    steps: tuple[str, ...],
    options: dict[str, dict[str, Any]] | None = None,
    *,
    halt_on_errors: bool = False,
    compress_raw: bool = False,
) -> None:
    with _domain_errors():
        with _progress() as progress:
            report = pipeline.run(
                settings,
                steps=steps,
                progress=progress,
                options=options,
                halt_on_errors=halt_on_errors,
                compress_raw=compress_raw,
            )
        _summary(report, settings)
        if report.compressed is not None and report.compressed.files:
            done = report.compressed
            out.print(
                Text(
                    f"raw: {len(done.files):,} old file{'s' * (len(done.files) != 1)} compressed, "
                    f"{human_bytes(done.bytes_before)} → {human_bytes(done.bytes_after)}"
                )
            )
        if report.status != "ok":
            err.print(Text(f"run {report.run_id} ended {report.status}", style="yellow"))
            raise typer.Exit(1)


@app.command()
def ingest(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(
            help="Only this source: polisen, brott (Brå's statistics or the police's crime "
            "lists), skjutningar, brander or befolkning. Default: every source in the data "
            "directory.",
            show_default=False,
        ),
    ] = None,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files to read for SOURCE (default: the data directory's own).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    all_files: Annotated[
        bool,
        typer.Option("--all", help="Read every input file again, even those already ingested."),
    ] = False,
) -> None:
    """Load boundaries, population, statistics and events into the database.

    Every input record ends up in `events` or `statistics`, or, with its reason, in
    `quarantine`; re-running the same input changes nothing. Police files already
    ingested by this version of the tool are skipped (see the table `ingested_files`).
    Shootings and fires are then derived again from every stored police event.

    Examples: `trygghetskarta ingest brott leverans_2025.xlsx`,
    `trygghetskarta ingest befolkning folkmangd.xlsx`.
    """
    if source is not None and source not in pipeline.SOURCES:
        raise typer.BadParameter(
            f"expected one of {', '.join(pipeline.SOURCES)}, got {source!r}", param_hint="SOURCE"
        )
    if paths and source is None:
        raise typer.BadParameter("name the SOURCE the files belong to", param_hint="PATHS")
    options = {"ingest": {"source": source, "paths": list(paths) if paths else None}}
    _run_steps(ctx, ("ingest",), None, options, reingest=all_files or None)


#: The systems an address register may use (``sources._coords.KNOWN_CRS``).
RegisterCrs = Literal["EPSG:3006", "EPSG:3011", "EPSG:4326"]

gazetteer_app = typer.Typer(
    help="Address registers used to place listed events.", no_args_is_help=True
)
app.add_typer(gazetteer_app, name="gazetteer")


@gazetteer_app.command("load")
def gazetteer_load(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="CSV or XLSX: street, number, postcode, x, y.", exists=True, dir_okay=False
        ),
    ],
    crs: Annotated[
        RegisterCrs, typer.Option("--crs", help="CRS of x, y.", case_sensitive=False)
    ] = STORE_CRS,
) -> None:
    """Load an address register (Lantmäteriet's open addresses or the city's address layer).

    Listed events with an address are then placed at `address` precision by
    `trygghetskarta geocode`.
    """
    with _domain_errors():
        settings = _settings(ctx)
        counts = pipeline.load_address_register(settings, path, crs=crs)
    out.print(
        f"{counts['read']:,} rows read: {counts['loaded']:,} addresses loaded, "
        f"{counts['rejected']:,} rejected",
        highlight=False,
    )
    for note in counts["notes"]:
        out.print(Text(f"  {note}"))


@app.command()
def geocode(
    ctx: typer.Context,
    events: Annotated[
        Path | None,
        typer.Argument(
            help="A file of police events (API JSON, the archive's JSON with page text, "
            "JSON lines or parquet) to geocode without the database.",
            dir_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV to write (with EVENTS; default stdout).")
    ] = None,
) -> None:
    """Place events from their text: point, precision class and uncertainty radius.

    Without EVENTS, geocodes every event in the database (a pipeline step). With EVENTS,
    writes one row per event of that file (id, x, y in EPSG:3006, precision,
    uncertainty_m, place_name, stadsdel, stadsdelsomrade) and touches no database.
    """
    if events is None:
        if out is not None:
            raise typer.BadParameter("--out goes with an EVENTS file", param_hint="--out")
        _run_steps(ctx, ("geocode",), None)
        return
    with _domain_errors():
        settings = _settings(ctx)
        placed = pipeline.geocode_file(
            events, settings.require_data(), municipality=settings.municipality
        )
    if out is None:
        placed.to_csv(sys.stdout, index=False)
    else:
        placed.to_csv(out, index=False)
        counts = placed["precision"].value_counts().to_dict()
        err.print(Text(f"{len(placed):,} events → {out} ({counts})"))


@app.command()
def analyse(
    ctx: typer.Context,
    bandwidth: BandwidthOption = None,
    cell_size: CellSizeOption = None,
    data_start: DataStartOption = None,
) -> None:
    """Every analysis of the period, per layer and police category.

    Density (GeoTIFF, events per km²), Gi* hot spots on 250 m cells and on stadsdelar
    (FDR-corrected), local Moran on RegSO rates, emerging hot spots over 24 months, Knox
    near-repeat, HDBSCAN clusters, hour × weekday, and trends in both district schemes:
    rasters in data/processed/rasters, GeoParquet in data/processed/tables, tables in the
    database.
    """
    _run_steps(ctx, ("analyse",), None, analysis=_analysis(bandwidth, cell_size, data_start))


@app.command()
def maps(
    ctx: typer.Context, profile: ProfileOption = None, data_start: DataStartOption = None
) -> None:
    """Write the city map and one map per stadsdelsområde (HTML) to
    data/processed/<profile>/maps (public or internal)."""
    _run_steps(ctx, ("maps",), profile, analysis=_analysis(None, None, data_start))


@app.command()
def report(
    ctx: typer.Context,
    profile: ProfileOption = None,
    data_start: DataStartOption = None,
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf",
            help="Also print each lägesbild to <slug>.pdf beside its HTML (A4, static maps) "
            "through a headless Chromium (Debian's chromium package).",
        ),
    ] = False,
    chromium: Annotated[
        str | None,
        typer.Option(
            help="The Chromium program for --pdf (default: chromium in the [report] table of "
            "trygghetskarta.toml, else chromium, chromium-browser or google-chrome on PATH).",
        ),
    ] = None,
) -> None:
    """Write one lägesbild page per stadsdelsområde (HTML, and with --pdf a PDF) to
    data/processed/<profile>/reports (public or internal)."""
    with _domain_errors():
        settings = _settings(ctx, profile=profile, analysis=_analysis(None, None, data_start))
        if pdf:  # before any work: one sentence on what to install when none is found
            pipeline.find_chromium(settings, chromium)
    options = {"report": {"pdf": True, "chromium": chromium}} if pdf else None
    _run(settings, ("report",), options)


@app.command()
def run(
    ctx: typer.Context,
    profile: ProfileOption = None,
    bandwidth: BandwidthOption = None,
    cell_size: CellSizeOption = None,
    data_start: DataStartOption = None,
) -> None:
    """The nightly job: (fetch,) ingest, geocode, analyse, forecast, maps and report, in order.

    Fetches the live police events first when `fetch = true` in the [polisen] table of
    trygghetskarta.toml. When it goes well it publishes the database for readers and
    compresses raw files older than compress_after_days (30, in the raw table of
    trygghetskarta.toml). One run at a time: a second one exits 1 at once, naming the
    running one.
    """
    with _domain_errors():  # the settings are built once, then passed down
        settings = _settings(
            ctx, profile=profile, analysis=_analysis(bandwidth, cell_size, data_start)
        )
        fetching = pipeline.polisen_settings(settings).fetch
    steps = ("ingest", "geocode", "analyse", "forecast", "maps", "report")
    _run(settings, (("fetch",) if fetching else ()) + steps, compress_raw=True)


def _iso_date(value: str | None) -> str | None:
    """``--origin``: a date YYYY-MM-DD, else a usage error (exit 2)."""
    import datetime as _dt

    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from None


@app.command()
def forecast(
    ctx: typer.Context,
    origin: Annotated[
        str,
        typer.Option(
            "--origin",
            help="First day of the period forecast, YYYY-MM-DD; only events before it are used.",
            callback=_iso_date,
        ),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="CSV to write.", dir_okay=False)],
    horizon: Annotated[
        Literal["week", "month", "quarter"],
        typer.Option("--horizon", help="Length of the period forecast."),
    ] = "month",
    unit: Annotated[
        Literal["stadsdel", "stadsdelsomrade", "regso", "cell"],
        typer.Option(
            "--unit",
            help="Units: stadsdel, stadsdelsomrade (the scheme at the origin), regso (events "
            "placed at a place or better) or 250 m cell (events placed at an address or "
            "better only).",
        ),
    ] = "stadsdel",
    layer: Annotated[
        Literal["police_event", "reported_crime", "shooting", "fire"],
        typer.Option("--layer", help="The source layer forecast."),
    ] = "police_event",
    category: Annotated[
        str | None, typer.Option("--category", help="Only this category (e.g. violence).")
    ] = None,
) -> None:
    """Forecast the events per unit in the period starting at --origin, from the published
    database and only the events before --origin.

    Writes unit, period_start, period_end, expected, lower, upper (a 90 % prediction
    interval) and method: the method a rolling-origin back-test on the 12 periods before
    --origin ranks best (PAI on 2.3 % of the area).
    """
    with _domain_errors():
        settings = _settings(ctx)
        run = pipeline.write_forecast(
            settings,
            origin=origin,
            out=out_path,
            horizon=horizon,
            unit=unit,
            layer=layer,
            category=category,
        )
    v = run.verdict
    beats = "beats" if v["beats"] else "does not beat"
    err.print(
        Text(
            f"{len(run.table):,} units → {out_path} (method {v['best_method']}; back-test over "
            f"{v['origins']} periods: PAI {v['pai']:.2f} at {v['coverage']:.1%} of the area, "
            f"{v['ratio']:.2f}× the best baseline {v['baseline']} "
            f"[{v['ratio_low']:.2f}–{v['ratio_high']:.2f}], so it {beats} counting)"
        )
    )
    if run.note:
        err.print(Text(f"note: {run.note}"))


@app.command()
def uppfoljning(
    ctx: typer.Context,
    measures: Annotated[
        Path | None,
        typer.Option(
            "--measures",
            help="The measures file (default data/raw/atgarder/åtgärder.csv; see "
            "docs/measures.md).",
            dir_okay=False,
        ),
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="CSV of every measure's follow-up.")
    ] = None,
) -> None:
    """Follow up each registered measure (åtgärd) against comparison areas chosen by their
    months before its start: the change relative to them, a 95 % interval, a check of the
    trend before the start, and one Swedish conclusion ("kan inte avgöras" when the data
    cannot tell). Reads the published database."""
    with _domain_errors():
        table = pipeline.follow_up_measures(_settings(ctx), path=measures, out=out_path)
    if table.empty:
        out.print(Text("no measures in the file"))
        return
    for row in table.itertuples():
        out.print(Text(f"{row.id} {row.namn} ({row.omrade}, from {row.start}):"))
        out.print(Text(f"  {row.conclusion}"))
    if out_path is not None:
        err.print(Text(f"{len(table)} measures → {out_path}"))


fetch_app = typer.Typer(
    help="Fetch live data into data/raw/ (the only commands that use the network), then ingest.",
    no_args_is_help=True,
)
app.add_typer(fetch_app, name="fetch")


@fetch_app.command("polisen")
def fetch_polisen(
    ctx: typer.Context,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API root (default https://polisen.se).")
    ] = None,
    min_interval: Annotated[
        float | None,
        typer.Option(
            "--min-interval",
            help="Seconds between calls (default 10, the API's limit; 0 only for a local test "
            "server).",
        ),
    ] = None,
    max_per_hour: Annotated[
        int | None, typer.Option("--max-per-hour", help="Calls per hour (default 60).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds for each request as a whole: connecting, headers and body (30).",
        ),
    ] = None,
    location: Annotated[
        list[str] | None, typer.Option("--location", help="locationname filter (repeatable).")
    ] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="type filter (repeatable).")
    ] = None,
    backfill_max_days: Annotated[
        int | None,
        typer.Option(
            "--backfill-max-days",
            help="How far back (days) uncovered days are fetched one by one; 0: off (365).",
        ),
    ] = None,
    ingest: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="Ingest after fetching (default).")
    ] = True,
    pages: Annotated[
        bool | None,
        typer.Option(
            "--pages/--no-pages",
            help="Fetch the pages of new and changed events for their text (default: the "
            "pages setting in trygghetskarta.toml, true).",
        ),
    ] = None,
) -> None:
    """Poll polisen.se's events API, keep every answer in data/raw/polisen/, then ingest.

    Keeps to the API's limits (10 s between calls, 60 an hour), retries 5xx, 429 and
    timeouts, and sets aside answers that are not events under data/raw/polisen/rejected/.
    Then fetches the page of each new or changed event of the municipality, through the
    same client and limits, into data/raw/polisen/pages/ (pages the hourly limit leaves no
    room for wait for the next run).
    """
    with _domain_errors():
        settings = _settings(ctx)
        given = {
            "base_url": base_url,
            "min_interval_s": min_interval,
            "max_per_hour": max_per_hour,
            "timeout_s": timeout,
            "location": location or None,
            "types": event_type or None,
            "backfill_max_days": backfill_max_days,
            "pages": pages,
        }
        section = dict(settings.extra.get("polisen", {}))
        section.update({k: v for k, v in given.items() if v is not None})
        settings = settings.with_overrides(extra={**settings.extra, "polisen": section})
    # Nothing new to ingest after a failed fetch: the command stops there, exit 1.
    _run(settings, ("fetch", "ingest") if ingest else ("fetch",), halt_on_errors=True)


raw_app = typer.Typer(
    help="Housekeeping of data/raw/, where every fetched answer is kept for replay.",
    no_args_is_help=True,
)
app.add_typer(raw_app, name="raw")


@raw_app.command("compress")
def raw_compress(
    ctx: typer.Context,
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=0,
            help="Days since a file was written (default: compress_after_days in the raw "
            "table of trygghetskarta.toml, 30); 0 compresses every raw file.",
        ),
    ] = None,
) -> None:
    """Compress old raw answers and pages in place with gzip (name.json → name.json.gz).

    Byte-exact after `gunzip`; every reader and the ingest read them as before, and a
    compressed answer is not ingested again. `trygghetskarta run` does this at its end.
    """
    with _domain_errors():
        settings = _settings(ctx)
        done = pipeline.compress_raw_files(settings, older_than_days=older_than)
    saved = done.bytes_before - done.bytes_after
    out.print(
        Text(
            f"{len(done.files):,} files compressed: {human_bytes(done.bytes_before)} → "
            f"{human_bytes(done.bytes_after)} ({human_bytes(saved)} saved) in {settings.raw_dir}"
        )
    )


_NOT_RECORDED = (
    "the process ended before it could record how the run ended (killed, or the database's "
    "disk full) — see manifest.json and the log; the next run marks it interrupted"
)


@app.command()
def status(ctx: typer.Context) -> None:
    """Show the last runs recorded in the database, with how each ended and why, the run in
    progress if any, and the disk used by data/raw/ and the database.

    Reads the published snapshot, so it works while a run is going and never blocks one.
    """
    with _domain_errors():
        settings = _settings(ctx)
        runs = pipeline.read_runs(
            settings,
            "SELECT run_id, command, status, read, loaded, updated, unchanged, quarantined, "
            "message FROM runs ORDER BY started_at DESC LIMIT 10",
        )
        running = pipeline.current_run(settings)
        freshness = pipeline.read_freshness(settings)
    # Runs come from a snapshot published after they ended (or from the batch's database
    # while no run holds it): a run still 'running' there ended without recording how
    # (killed, or its disk full); the next run marks it so.
    runs = [
        (*r[:2], "interrupted", *r[3:8], r[8] or _NOT_RECORDED) if r[2] == "running" else r
        for r in runs
    ]
    table = Table("run", "steps", "status", "read", "loaded", "updated", "unchanged", "quarantined")
    for row in runs:
        table.add_row(*(Text("" if v is None else str(v)) for v in row[:-1]))
    out.print(table)
    for run_id, _, run_status, *_, message in runs:
        if message and run_status != "ok":
            out.print(Text(f"run {run_id} {run_status}: {message}"))
    missing = None if running else pipeline.unpublished_run(settings, [r[0] for r in runs])
    if missing is not None:
        run_id, run_status, message = missing
        out.print(Text(f"run {run_id} {run_status} (only in manifest.json): {message}"))
    _print_freshness(freshness)
    _disk_lines(settings, running)


def _disk_lines(settings: Settings, running: pipeline.RunHolder | None) -> None:
    """``status``: the run in progress, and the disk used by raw data and the databases."""
    if running is not None:
        out.print(Text(f"in progress: {running.describe()}"))
    for use in pipeline.disk_use(settings):
        size = human_bytes(use.bytes) if use.files else "none"
        files = (
            f" in {use.files:,} files ({use.compressed:,} compressed)"
            if use.label == "raw data"
            else ""
        )
        out.print(Text(f"{use.label}: {size}{files} — {use.path}"))


def _print_freshness(freshness: Freshness | None) -> None:
    """One line per source: its newest event, its age and threshold, and whether it is
    stale (older than its threshold)."""
    if freshness is None:
        return
    for source in freshness.sources:
        verdict = ("stale", "bold yellow") if source.stale else ("ok", "green")
        if source.threshold_days is None:
            verdict = ("no threshold", "dim")
        out.print(Text.assemble("freshness: ", source.sentence(), ": ", verdict))


if __name__ == "__main__":  # pragma: no cover
    app()
