"""Settings: toml, environment and overrides, in that order; one clear error for no data."""

from __future__ import annotations

from pathlib import Path

import pytest

from trygghetskarta.config import load_settings
from trygghetskarta.errors import ConfigError, DataNotFoundError


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "checkout"
    (project / "data" / "raw").mkdir(parents=True)
    (project / "data" / "raw" / "README.md").write_text("readme only")
    return project


def test_defaults_put_everything_under_data_processed(tmp_path):
    project = _project(tmp_path)
    s = load_settings(project, env={})
    assert s.processed_dir == project / "data" / "processed"
    assert s.db_path == project / "data" / "processed" / "trygghetskarta.duckdb"
    assert (s.municipality, s.profile) == ("Stockholm", "public")


def test_shared_data_beside_the_checkout_is_found(tmp_path):
    project = _project(tmp_path)
    shared = tmp_path / "shared" / "data"
    (shared / "police_events").mkdir(parents=True)
    assert load_settings(project, env={}).data_dir == shared


def test_data_raw_is_the_fallback_once_it_holds_more_than_its_readme(tmp_path):
    project = _project(tmp_path)
    assert load_settings(project, env={}).data_dir is None
    (project / "data" / "raw" / "police_events").mkdir()
    assert load_settings(project, env={}).data_dir == project / "data" / "raw"


def test_no_data_anywhere_is_one_sentence_naming_where_we_looked(tmp_path):
    project = _project(tmp_path)
    settings = load_settings(project, env={})
    with pytest.raises(DataNotFoundError) as info:
        settings.require_data()
    message = str(info.value)
    assert str(tmp_path / "shared" / "data") in message
    assert "--data" in message
    assert "TRYGGHETSKARTA_DATA" in message


@pytest.mark.parametrize(
    ("toml", "env", "override", "expected"),
    [
        pytest.param(None, {}, None, 100.0, id="default"),
        pytest.param("[analysis]\ncell_size_m = 50", {}, None, 50.0, id="toml"),
        pytest.param(
            "[analysis]\ncell_size_m = 50",
            {"TRYGGHETSKARTA_CELL_SIZE_M": "25"},
            None,
            25.0,
            id="env-beats-toml",
        ),
        pytest.param(
            "[analysis]\ncell_size_m = 50",
            {"TRYGGHETSKARTA_CELL_SIZE_M": "25"},
            10,
            10.0,
            id="cli-beats-env",
        ),
    ],
)
def test_precedence(tmp_path, toml, env, override, expected):
    project = _project(tmp_path)
    if toml:
        (project / "trygghetskarta.toml").write_text(toml)
    settings = load_settings(project, env=env, analysis={"cell_size_m": override})
    assert settings.analysis.cell_size_m == expected


def test_explicit_data_dir_is_relative_to_the_project(tmp_path):
    project = _project(tmp_path)
    (project / "mydata" / "police_events").mkdir(parents=True)
    s = load_settings(project, env={"TRYGGHETSKARTA_DATA": "mydata"})
    assert s.data_dir == project / "mydata"


@pytest.mark.parametrize(
    ("kwargs", "env", "match"),
    [
        pytest.param({"profile": "secret"}, {}, "profile must be one of", id="profile"),
        pytest.param({}, {"TRYGGHETSKARTA_SEED": "many"}, "must be int", id="env-type"),
        pytest.param({"colour": "red"}, {}, "unknown setting", id="unknown"),
        pytest.param(
            {}, {"TRYGGHETSKARTA_DB_MEMORY_LIMIT": "lots"}, "such as '1GB'", id="memory-limit"
        ),
    ],
)
def test_bad_settings_are_one_clear_error(tmp_path, kwargs, env, match):
    with pytest.raises(ConfigError, match=match):
        load_settings(_project(tmp_path), env=env, **kwargs)


def test_broken_toml_names_the_file(tmp_path):
    project = _project(tmp_path)
    (project / "trygghetskarta.toml").write_text("cell_size_m = ")
    with pytest.raises(ConfigError, match=r"trygghetskarta\.toml is not valid TOML"):
        load_settings(project, env={})


def test_settings_are_frozen(tmp_path):
    s = load_settings(_project(tmp_path), env={})
    with pytest.raises(AttributeError):
        s.seed = 1  # type: ignore[misc]


def test_live_fetches_alone_do_not_make_data_raw_a_data_directory(tmp_path):
    project = _project(tmp_path)
    (project / "data" / "raw" / "polisen").mkdir()
    (project / "data" / "raw" / ".http").mkdir()
    assert load_settings(project, env={}).data_dir is None


def test_the_batch_bounds_duckdbs_memory_and_a_setting_changes_the_bound(tmp_path):
    project = _project(tmp_path)
    assert load_settings(project, env={}).db_memory_limit == "512MB"
    s = load_settings(project, env={"TRYGGHETSKARTA_DB_MEMORY_LIMIT": "2GiB"})
    assert s.db_memory_limit == "2GiB"
