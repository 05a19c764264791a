"""Analysis parameters: built once from ``[analysis]`` and the CLI, recorded in every raster,
and the step's outputs for the default parameters equal to the reference values.

The reference values (``tests/data/reference/analyse_town_digest.json``) are the digests
of what the ``analyse`` step of main (commit b79e7ad, before the parameters were gathered
in one object) wrote for the digest town of :mod:`analysis_digest`; a change of the
defaults' outputs fails :func:`test_default_parameters_give_the_reference_outputs`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from analysis_digest import differences, digest, town_events
from test_analyse_step import tiny_areas, tiny_population
from trygghetskarta import store
from trygghetskarta.cli import app
from trygghetskarta.config import AnalysisParameters, Settings, load_settings
from trygghetskarta.errors import ConfigError
from trygghetskarta.periods import Period
from trygghetskarta.pipeline import publish
from trygghetskarta.pipeline.analyse import analyse_prepared, monthly_density_path, parts
from trygghetskarta.pipeline.analyse.inputs import load_inputs, prepare_inputs

REFERENCE = Path(__file__).parent / "data" / "reference" / "analyse_town_digest.json"
SLUG = "2025-01_2025-12"


def _project(tmp_path: Path, toml: str | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    if toml is not None:
        (project / "trygghetskarta.toml").write_text(toml, encoding="utf-8")
    return project


def _analyse(tmp_path: Path, parameters: AnalysisParameters) -> tuple[Settings, dict, list]:
    settings = Settings(
        project_dir=tmp_path,
        data_dir=None,
        processed_dir=tmp_path / "processed",
        raw_dir=tmp_path / "raw",
        db_path=tmp_path / "t.duckdb",
        seed=7,
        analysis=parameters,
    )
    inputs = prepare_inputs(
        town_events(),
        tiny_areas(),
        tiny_population(),
        period=Period.months("2025-01", "2025-12"),
        parameters=settings.analysis,
        seed=settings.seed,
    )
    con = store.connect(settings.db_path)
    try:
        result = analyse_prepared(inputs, settings, con)
        assert result.errors == []
        return settings, digest(settings.processed_dir, con), result.warnings
    finally:
        con.close()


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return _analyse(tmp_path_factory.mktemp("default"), AnalysisParameters())


def _tags(path: Path) -> dict[str, str]:
    with rasterio.open(path) as src:
        return src.tags()


def _band(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


# --------------------------------------------------------------------------------------
# the default parameters give the outputs of before


def test_default_parameters_give_the_reference_outputs(default_run):
    _, now, warnings = default_run
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert differences(reference["digest"], now) == []
    assert sorted(w for w in warnings if "density_monthly" not in w) == reference["warnings"]
    # the outputs of before, and the month slider's rasters beside them
    new = sorted(set(now) - set(reference["digest"]))
    assert new and all(name.startswith("rasters/monthly/") for name in new)


def test_the_digest_sees_a_changed_raster(default_run):
    """The comparison above can fail: a raster changed by a thousandth is a difference."""
    _, now, _ = default_run
    name = f"rasters/density_police_event_{SLUG}.tif"
    changed = {**now, name: {**now[name], "sum": now[name]["sum"] * 1.001}}
    assert differences(now, changed) == [
        f"{name}[sum]: {now[name]['sum']!r} then, {changed[name]['sum']!r} now"
    ]


def test_every_raster_carries_the_parameters_whole(default_run):
    settings, _, _ = default_run
    rasters = sorted((settings.processed_dir / "rasters").rglob("*.tif"))
    assert len(rasters) > 20
    for path in rasters:
        tags = _tags(path)
        assert json.loads(tags["analysis_parameters"]) == AnalysisParameters().as_dict(), path
        assert tags["analysis_seed"] == "7"


def test_monthly_density_is_written_per_month_with_the_period_bandwidth(default_run):
    settings, _, _ = default_run
    period = _tags(settings.processed_dir / "rasters" / f"density_police_event_{SLUG}.tif")
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    paths = [monthly_density_path(settings, "police_event", m, SLUG) for m in months]
    assert all(p.exists() for p in paths)  # the digest town has police events every month
    for month, path in zip(months, paths, strict=True):
        tags = _tags(path)
        assert (tags["kind"], tags["month"]) == ("density_month", month)
        assert tags["bandwidth_m"] == period["bandwidth_m"]
        assert tags["n_selected"] != period["n_selected"]
    # a shooting in August only: one monthly raster
    shootings = sorted((settings.processed_dir / "rasters" / "monthly").glob("density_shooting_*"))
    assert [p.name for p in shootings] == [f"density_shooting_2025-08_{SLUG}.tif"]


# --------------------------------------------------------------------------------------
# a bandwidth rule from [analysis] changes the rasters and is in their tags


def test_bandwidth_cv_from_the_toml_changes_the_rasters_and_is_in_their_tags(default_run, tmp_path):
    value, rule = '"cv"', "cv"
    project = _project(tmp_path, f"[analysis]\nbandwidth = {value}\n")
    parameters = load_settings(project, env={}).analysis
    settings, now, _ = _analyse(tmp_path, parameters)
    default_settings, before, _ = default_run
    name = f"rasters/density_police_event_{SLUG}.tif"
    tags = _tags(settings.processed_dir / name)
    assert tags["bandwidth_rule"] == rule
    assert json.loads(tags["analysis_parameters"])["bandwidth"] == parameters.bandwidth
    assert float(tags["bandwidth_m"]) != 300.0
    assert not np.allclose(
        _band(settings.processed_dir / name),
        _band(default_settings.processed_dir / name),
        equal_nan=True,
    )
    # the Gi* rasters do not depend on the bandwidth
    gi = f"rasters/gi_star_z_police_event_{SLUG}.tif"
    assert differences({gi: before[gi]}, now) == []


@pytest.mark.parametrize(
    ("value", "rule", "metres"),
    [
        pytest.param('"scott"', "scott", None, id="scott"),
        pytest.param('"Silverman"', "silverman", None, id="silverman"),
        pytest.param("150", "fixed", 150.0, id="metres"),
        pytest.param('"300"', "fixed", 300.0, id="metres-as-text"),
    ],
)
def test_every_bandwidth_rule_of_the_toml_reaches_the_density(tmp_path, value, rule, metres):
    project = _project(tmp_path, f"[analysis]\nbandwidth = {value}\n")
    parameters = load_settings(project, env={}).analysis
    inputs = prepare_inputs(
        town_events(), tiny_areas(), tiny_population(), parameters=parameters, seed=7
    )
    grid = parts.density(inputs, "police_event")
    assert grid.params["bandwidth_rule"] == rule
    if metres is not None:
        assert grid.params["bandwidth_m"] == metres
    else:  # a normal-reference rule on the town's spread (~1 km) times n^(-1/6)
        assert 200.0 < grid.params["bandwidth_m"] < 1000.0


# --------------------------------------------------------------------------------------
# built once, from the toml, the environment and the command line


def test_the_defaults_are_those_of_before(tmp_path):
    settings = load_settings(_project(tmp_path), env={})
    p = settings.analysis
    assert (p.bandwidth, p.cell_size_m, p.gi_cell_size_m, p.gi_min_events) == (
        300.0,
        100.0,
        250,
        30,
    )
    assert (p.knox_distance_bands_m, p.knox_permutations, p.cluster_method) == (
        (250.0, 500.0, 1000.0),
        999,
        "hdbscan",
    )


def test_the_command_line_beats_the_environment_and_the_toml(tmp_path):
    project = _project(tmp_path, '[analysis]\nbandwidth = "scott"\nknox_permutations = 99\n')
    env = {"TRYGGHETSKARTA_BANDWIDTH": "silverman"}
    assert load_settings(project, env={}).analysis.bandwidth == "scott"
    assert load_settings(project, env=env).analysis.bandwidth == "silverman"
    cli = load_settings(project, env=env, analysis={"bandwidth": "cv", "cell_size_m": None})
    assert (cli.analysis.bandwidth, cli.analysis.knox_permutations) == ("cv", 99)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        pytest.param('bandwidth = "wide"', ["'bandwidth'", "scott, silverman, cv", "'wide'"],
                     id="unknown-rule"),
        pytest.param("bandwidth = -5", ["positive number of metres", "-5"], id="negative"),
        pytest.param("bandwidth = true", ["'bandwidth'", "True"], id="bool"),
        pytest.param("gi_min_events = 2.5", ["whole number", "2.5"], id="not-int"),
        pytest.param("knox_time_bands_d = [14, 7]", ["increasing order", "[14, 7]"],
                     id="bands-order"),
        pytest.param('cluster_method = "kmeans"', ["hdbscan, dbscan", "'kmeans'"], id="method"),
        pytest.param('period = ["2025-12", "2025-01"]', ["YYYY-MM"], id="period-backwards"),
        pytest.param("emerging_min_share = 2", ["between 0 and 1"], id="share"),
        pytest.param("bandwidht = 300", ["unknown analysis parameter 'bandwidht'"], id="typo"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_one_sentence_saying_what_was_expected_and_where(tmp_path, toml, words):
    project = _project(tmp_path, f"[analysis]\n{toml}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(project, env={})
    message = str(info.value)
    assert "\n" not in message
    assert "[analysis] in" in message and "trygghetskarta.toml" in message
    for word in words:
        assert word in message


def test_a_top_level_bandwidth_of_before_says_to_move_it_under_analysis(tmp_path):
    project = _project(tmp_path, "bandwidth_m = 250\n")
    with pytest.raises(ConfigError, match=r"under \[analysis\].*`bandwidth = 250`"):
        load_settings(project, env={})


def test_the_period_parameter_chooses_the_months_analysed():
    inputs = prepare_inputs(
        town_events(),
        tiny_areas(),
        tiny_population(),
        parameters=AnalysisParameters(period=("2024-04", "2024-09")),
    )
    assert inputs.period == Period.months("2024-04", "2024-09")


def test_the_inputs_hold_their_study_areas_read_only():
    inputs = prepare_inputs(town_events(), tiny_areas(), tiny_population())
    assert sorted(inputs.study_areas) == ["", "A", "B"]
    with pytest.raises(TypeError):
        inputs.study_areas["C"] = inputs.study_areas["A"]  # type: ignore[index]
    kommun = inputs.study_areas[""]
    assert kommun.masks  # the parameters' grids, computed once
    assert all(not m.flags.writeable for m in kommun.masks.values())


def test_a_bad_cli_option_is_a_usage_error_in_one_sentence(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["--data", str(tmp_path / "none"), "analyse", "--bandwidth", "wide"]
    )
    assert result.exit_code == 2  # a wrong option value is a usage error (issue 14)
    assert "'bandwidth' from the command line" in result.output
    assert "'wide'" in result.output


# --------------------------------------------------------------------------------------
# the real data


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore:cross-validation chose:UserWarning")
def test_cv_on_the_real_data_chooses_its_own_bandwidth(real_run):
    settings, _ = real_run
    cv = settings.with_overrides(analysis=AnalysisParameters(bandwidth="cv"))
    con = store.connect(settings.db_path, read_only=True)
    try:
        inputs = load_inputs(cv, con)
    finally:
        con.close()
    grid = parts.density(inputs, "police_event")
    assert grid.params["bandwidth_rule"] == "cv"
    assert grid.params["bandwidth_m"] != 300.0
    candidates = [float(c) for c in grid.params["bandwidth_candidates_m"].split(", ")]
    assert len(candidates) == 12
    assert min(candidates) - 1 <= float(grid.params["bandwidth_m"]) <= max(candidates) + 1
    # every placed event is scored up to 2 000; above, a seeded sample, and the tags say so
    placed = grid.params["n_selected"] - grid.params["n_unplaced"]
    if placed > 2_000:
        assert grid.params["bandwidth_cv_sample"] == f"2000 of {placed}"
    else:
        assert "bandwidth_cv_sample" not in grid.params


def _real_scene(settings):
    """The real run's scene and the layers its store holds."""
    con = store.connect(settings.db_path, read_only=True)
    try:
        stored = {r[0] for r in con.execute("SELECT DISTINCT layer FROM events").fetchall()}
        return publish.build_scene(settings, con), stored
    finally:
        con.close()


@pytest.mark.realdata
def test_the_maps_month_slider_reads_the_monthly_rasters_of_the_step(real_run):
    settings, _ = real_run
    scene, _ = _real_scene(settings)
    assert scene is not None and scene.grid is not None
    expected = [str(m) for m in pd.period_range(scene.period.start.tz_localize(None),
                                                periods=12, freq="M")]  # fmt: skip
    assert sorted(scene.monthly) == expected
    for grid in publish.monthly_grids(scene).values():
        assert grid.transform == scene.grid.transform
        assert grid.params["bandwidth_m"] == scene.grid.params["bandwidth_m"]
        assert grid.params["sensitive"] == "excluded"
        assert json.loads(grid.params["analysis_parameters"]) == settings.analysis.as_dict()


@pytest.mark.realdata
def test_the_scene_carries_every_source_layer_with_its_own_raster(real_run):
    settings, _ = real_run
    scene, stored = _real_scene(settings)
    assert scene is not None
    assert list(scene.layers) == [layer for layer in publish.LAYER_ORDER if layer in stored]
    assert {"police_event", "shooting", "fire"} <= set(scene.layers)
    for name, source in scene.layers.items():
        assert set(source.events["layer"]) == {name}
        assert source.grid is not None and source.grid.params["event_layer"] == name
    police = scene.layers["police_event"]
    assert police.events is scene.events and police.grid is scene.grid
    assert police.label == "Polisens händelser"
