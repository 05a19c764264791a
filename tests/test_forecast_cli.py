"""`trygghetskarta forecast` and `trygghetskarta uppfoljning`, and the nightly forecast step,
on a small database of made-up events in the real stadsdelar (the boundaries are real)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trygghetskarta import areas, pipeline, store
from trygghetskarta.analysis.forecast import BASELINES, METHODS
from trygghetskarta.cli import app
from trygghetskarta.config import load_settings
from trygghetskarta.pipeline.forecast import read_outlook
from trygghetskarta.render import outlook_sections
from trygghetskarta.render.format import fmt_float
from trygghetskarta.schema import PARSED_COLUMNS

pytestmark = pytest.mark.realdata
runner = CliRunner()
TZ = "Europe/Stockholm"
#: The stadsdel whose events halve from July 2024 on (an effect the follow-up should find).
TREATED = "Rinkeby"


def _events(shared_data, *, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Four years of violence per stadsdel: stable gamma-distributed rates, the busiest
    at Rinkeby, which halves from July 2024."""
    layer = areas.load_areas(shared_data).stadsdelar
    rng = np.random.default_rng(0)
    rates = rng.gamma(1.0, 1.0, len(layer))
    names = list(layer["name"])
    rates[names.index(TREATED)] = 16.0
    rows = []
    for month in pd.date_range("2022-01-01", "2025-12-01", freq="MS", tz=TZ):
        for name, district, rate in zip(names, layer["sdo_2024"], rates, strict=True):
            if name == TREATED and month >= pd.Timestamp("2024-07-01", tz=TZ):
                rate = rate / 2
            for _ in range(rng.poisson(rate)):
                at = month + pd.Timedelta(hours=int(rng.integers(0, 24 * 28)))
                rows.append((at, name, district))
    frame = pd.DataFrame(rows, columns=["occurred_at", "stadsdel", "stadsdelsomrade"])
    if extra is not None:
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def _store(path, events: pd.DataFrame) -> None:
    rows = [
        dict.fromkeys(PARSED_COLUMNS)
        | {
            "event_uid": f"polisen:{i}",
            "source": "polisen",
            "source_id": str(i),
            "layer": "police_event",
            "category": "violence",
            "occurred_at": e.occurred_at,
            "published_at": e.occurred_at + pd.Timedelta(hours=1),
            "sensitive": False,
            "raw": "{}",
            "precision": "stadsdel",
            "stadsdel": e.stadsdel,
            "stadsdelsomrade": e.stadsdelsomrade,
        }
        for i, e in enumerate(events.itertuples())
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    con = store.connect(path, read_only=False)
    with store.transaction(con):
        store.merge_events(
            con, pd.DataFrame(rows), batch_id="t", ingested_at=pd.Timestamp("2026-01-02", tz=TZ)
        )
    con.close()


@pytest.fixture(scope="module")
def project(shared_data, tmp_path_factory):
    """A project folder with a published database of the made-up events."""
    root = tmp_path_factory.mktemp("project")
    _store(root / "data" / "processed" / "trygghetskarta.duckdb", _events(shared_data))
    return root


def _invoke(project, shared_data, monkeypatch, *args):
    monkeypatch.chdir(project)
    env = {"TRYGGHETSKARTA_DATA": str(shared_data)}
    return runner.invoke(app, list(args), env=env)


def test_forecast_writes_the_contract_columns_for_every_stadsdel(project, shared_data, monkeypatch):
    result = _invoke(
        project, shared_data, monkeypatch, "forecast", "--origin", "2026-01-01", "--out", "f.csv"
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(project / "f.csv")
    assert list(table.columns) == [
        "unit", "period_start", "period_end", "expected", "lower", "upper", "method",
    ]  # fmt: skip
    assert len(table) == 117
    assert set(table["unit"]) == set(areas.load_areas(shared_data).stadsdelar["name"])
    assert (table["period_start"] == "2026-01-01").all()
    assert (table["period_end"] == "2026-01-31").all()
    assert table["method"].nunique() == 1 and table["method"].iloc[0] in METHODS
    assert (table["lower"] <= table["upper"]).all()
    assert "back-test over 12 periods" in result.output


def test_events_at_or_after_the_origin_change_nothing_in_the_file(
    project, shared_data, monkeypatch, tmp_path
):
    origin = pd.Timestamp("2025-07-01", tz=TZ)
    later = pd.DataFrame(
        {
            "occurred_at": [origin, origin + pd.Timedelta(days=3), origin + pd.Timedelta(days=90)]
            * 20,
            "stadsdel": ["Akalla", "Gamla stan", "Skarpnäck"] * 20,
            "stadsdelsomrade": ["Rinkeby-Kista", "Södermalm", "Skarpnäck"] * 20,
        }
    )
    other = tmp_path / "other"
    _store(
        other / "data" / "processed" / "trygghetskarta.duckdb", _events(shared_data, extra=later)
    )
    args = ("forecast", "--origin", "2025-07-01", "--out", "f.csv")
    assert _invoke(project, shared_data, monkeypatch, *args).exit_code == 0
    assert _invoke(other, shared_data, monkeypatch, *args).exit_code == 0
    assert (project / "f.csv").read_bytes() == (other / "f.csv").read_bytes()


@pytest.mark.parametrize(
    ("args", "rows"),
    [
        (("--unit", "stadsdelsomrade"), 11),
        (("--horizon", "quarter"), 117),
    ],
    ids=["stadsdelsomrade", "quarter"],
)
def test_other_units_and_horizons(project, shared_data, monkeypatch, args, rows):
    result = _invoke(
        project,
        shared_data,
        monkeypatch,
        "forecast",
        "--origin",
        "2026-01-01",
        "--out",
        "g.csv",
        *args,
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(project / "g.csv")) == rows


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--origin", "2026-02-30"), 2, "expected a date YYYY-MM-DD, got '2026-02-30'"),
        (("--origin", "2026-01-01", "--horizon", "year"), 2, "'year' is not one of"),
        (("--origin", "2026-01-01", "--unit", "kvarter"), 2, "'kvarter' is not one of"),
        (("--origin", "2023-01-01"), 1, "error: a monthly forecast needs 19 whole periods"),
        (("--origin", "2026-01-01", "--unit", "cell"), 1, "error: grid cells need events placed"),
        (("--origin", "2026-01-01", "--category", "drugs"), 1, "error: no police_event events of"),
        (("--origin", "2026-01-01", "--unit", "regso"), 1, "error: no events placed at the level"),
    ],
    ids=["date", "horizon", "unit", "short-history", "cells-of-area-events", "category", "regso"],
)
def test_usage_errors_exit_2_and_domain_errors_exit_1_in_one_sentence(
    project, shared_data, monkeypatch, args, code, message
):
    result = _invoke(project, shared_data, monkeypatch, "forecast", "--out", "x.csv", *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
    if code == 1:
        assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def test_forecast_without_a_database_says_to_run_first(shared_data, monkeypatch, tmp_path):
    result = _invoke(
        tmp_path, shared_data, monkeypatch, "forecast", "--origin", "2026-01-01", "--out", "x.csv"
    )
    assert result.exit_code == 1
    assert "no published database at" in result.output
    assert "run `trygghetskarta run` first" in result.output


MEASURES = (
    "id,namn,omradestyp,omrade,start,slut,kategorier,lager,stadsdelsomrade,beskrivning\n"
    f"m1,Trygghetsvandringar <script>x</script>,stadsdel,{TREATED},2024-07-01,,violence,,,\n"
    "m2,Belysning,stadsdel,Farsta,2025-03-01,2025-12-31,,,,\n"
)


def test_uppfoljning_finds_the_halving_and_cannot_tell_where_nothing_changed(
    project, shared_data, monkeypatch
):
    (project / "m.csv").write_text(MEASURES, encoding="utf-8")
    result = _invoke(
        project, shared_data, monkeypatch, "uppfoljning", "--measures", "m.csv", "--out", "u.csv"
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(project / "u.csv", keep_default_na=False).set_index("id")
    assert table.loc["m1", "verdict"] == "minskning"
    assert 0.35 < table.loc["m1", "ratio"] < 0.7
    assert table.loc["m1", "stadsdelsomrade"] == "Järva"  # the scheme at the data's end
    assert table.loc["m2", "verdict"] == "kan inte avgöras"
    assert "Händelserna minskade med" in result.output


def test_uppfoljning_names_the_file_line_and_column_of_a_bad_row(project, shared_data, monkeypatch):
    (project / "bad.csv").write_text(
        "id,namn,omradestyp,omrade,start\nm1,X,stadsdel,Rinkby,2024-01-01\n", encoding="utf-8"
    )
    result = _invoke(project, shared_data, monkeypatch, "uppfoljning", "--measures", "bad.csv")
    assert result.exit_code == 1
    assert "bad.csv, line 2, column omrade: expected a stadsdel" in result.output
    assert "got 'Rinkby'" in result.output


def test_the_nightly_step_writes_the_forecast_records_it_and_the_report_shows_it(
    shared_data, tmp_path
):
    _store(tmp_path / "data" / "processed" / "trygghetskarta.duckdb", _events(shared_data))
    (tmp_path / "data" / "raw" / "atgarder").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "atgarder" / "åtgärder.csv").write_text(MEASURES, encoding="utf-8")
    settings = load_settings(tmp_path, env={"TRYGGHETSKARTA_DATA": str(shared_data)})
    report = pipeline.run(settings, steps=("forecast",), now=pd.Timestamp("2026-01-02", tz=TZ))
    assert report.status == "ok", report.steps
    tables = settings.processed_dir / "tables"
    summary = json.loads((tables / "forecast_summary.json").read_text(encoding="utf-8"))
    # The newest event is on 28 December 2025 and no coverage is recorded: December is
    # not known to be complete, so the month forecast is December, from events before it.
    assert summary["origin"] == "2025-12-01"
    assert summary["forecast"] == "forecast_stadsdel_month_2025-12.csv"
    assert len(pd.read_csv(tables / summary["forecast"])) == 117
    assert len(summary["backtest_origins"]) == 12
    manifest = json.loads((settings.processed_dir / "manifest.json").read_text(encoding="utf-8"))
    (step,) = [s for s in manifest["steps"] if s["step"] == "forecast"]
    assert step["counts"]["forecast"]["method"] == summary["verdict"]["best_method"]
    assert step["counts"]["measures"]["measures"] == 2
    assert any(f.endswith("uppfoljning.csv") for f in step["files"])

    layers = areas.load_areas(shared_data)
    outlook = read_outlook(settings, layers, areas.SCHEME_2024)
    html = outlook_sections(outlook, "Järva")
    assert "Områden där problemen kan växa" in html
    assert "Åtgärder och uppföljning" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "Händelserna minskade med" in html
    if summary["verdict"]["beats"]:
        assert "Efterhandstest över 12 månader" in html
    else:
        assert "Att räkna händelserna är lika bra som prognoserna" in html
    assert "Inga åtgärder är registrerade för Södermalm." in outlook_sections(outlook, "Södermalm")


def test_the_real_run_forecasts_next_month_and_each_lagesbild_says_what_the_back_test_found(
    real_run,
):
    settings, report = real_run
    (step,) = [s for s in report.steps if s.step == "forecast"]
    found = step.counts["forecast"]
    assert found["origin"] == "2026-01-01"  # the archive ends on 31 December 2025
    tables = settings.processed_dir / "tables"
    table = pd.read_csv(tables / "forecast_stadsdel_month_2026-01.csv")
    assert len(table) == 117 and table["method"].iloc[0] == found["method"]
    backtest = pd.read_csv(tables / "backtest_stadsdel_month_2026-01.csv")
    at = backtest[backtest["coverage"] == 0.023].set_index("method")
    # the figures to beat: counting reaches PAI 6.7, hindsight 8.7, last month 4.8
    assert 4.5 < at.loc[found["best_baseline"], "pai"] < 8.5
    assert at.loc["hindsight", "pai"] > at.loc[found["best_baseline"], "pai"]
    page = (settings.processed_dir / "public" / "reports" / "sodermalm.html").read_text("utf-8")
    assert "Områden där problemen kan växa" in page
    if found["beats_counting"]:
        assert "Efterhandstest över 12 månader" in page
    else:
        assert "Att räkna händelserna är lika bra som prognoserna" in page
        assert "Väntat antal" not in page
    if found["method"] in BASELINES:
        # the sentence quotes the best model against counting, never counting against itself
        models = at.drop(index=[*BASELINES, "hindsight"])
        best_model = models["pai"].idxmax()
        assert found["challenger"]["method"] == best_model
        ratio = fmt_float(models.loc[best_model, "ratio"], 2)
        assert f"fångade {ratio} gånger så många" in page


def _placed_events(shared_data, shape) -> pd.DataFrame:
    """Police events placed at a place (points): 12 a month inside ``shape``, halving from
    July 2024, and 2–8 a month at a point inside each stadsdel it does not touch."""
    import shapely

    layer = areas.load_areas(shared_data).stadsdelar
    rng = np.random.default_rng(1)
    level = dict(zip(layer["name"], rng.uniform(2, 9, len(layer)), strict=True))
    rows = []
    inside = shape.representative_point()
    for month in pd.date_range("2022-01-01", "2025-12-01", freq="MS", tz=TZ):
        at = month + pd.Timedelta(days=10)
        rate = 12.0 if month < pd.Timestamp("2024-07-01", tz=TZ) else 6.0
        rows += [(at, inside.x, inside.y, "Rinkeby")] * int(rng.poisson(rate))
        for name, geometry in zip(layer["name"], layer.geometry, strict=True):
            if shapely.intersects(geometry, shape):
                continue
            point = geometry.representative_point()
            n = int(rng.poisson(level[name]))
            rows += [(at, point.x, point.y, name)] * n
    frame = pd.DataFrame(rows, columns=["occurred_at", "x", "y", "stadsdel"])
    return frame.assign(
        layer="police_event", category="violence", precision="place", sensitive=False
    )


def test_a_polygon_measure_counts_the_events_placed_inside_it(shared_data, tmp_path):
    from trygghetskarta.pipeline.analyse.inputs import DataWindow
    from trygghetskarta.pipeline.measures import follow_up_all, load_measures

    layers = areas.load_areas(shared_data)
    rinkeby = layers.stadsdelar.set_index("name").loc["Rinkeby", "geometry"]
    shape = rinkeby.representative_point().buffer(300)
    gdf = gpd.GeoDataFrame(geometry=[shape], crs="EPSG:3006").to_crs(4326)  # as drawn on a web map
    gdf.to_file(tmp_path / "torget.geojson", driver="GeoJSON")
    (tmp_path / "m.csv").write_text(
        "id,namn,omradestyp,omrade,start\np1,Torget,polygon,torget.geojson,2024-07-01\n",
        encoding="utf-8",
    )
    found, shapes = load_measures(tmp_path / "m.csv", layers)
    assert shapes["p1"].area == pytest.approx(shape.area, rel=0.01)  # back in EPSG:3006
    window = DataWindow(
        pd.Timestamp("2022-01-01").date(), "setting", pd.Timestamp("2025-12-31").date()
    )
    table = follow_up_all(_placed_events(shared_data, shape), layers, found, shapes, window)
    row = table.iloc[0]
    assert row["verdict"] == "minskning", row["conclusion"]
    assert 0.35 < row["ratio"] < 0.7
    assert row["stadsdelsomrade"] == "Järva"
    assert "Rinkeby" not in row["comparison"]  # the stadsdel it lies in is no comparison


def test_a_polygon_file_that_is_missing_is_named(shared_data, tmp_path):
    from trygghetskarta.errors import DataNotFoundError
    from trygghetskarta.pipeline.measures import load_measures

    (tmp_path / "m.csv").write_text(
        "id,namn,omradestyp,omrade,start\np1,Torget,polygon,saknas.geojson,2024-07-01\n",
        encoding="utf-8",
    )
    with pytest.raises(
        DataNotFoundError,
        match=r"m.csv, line 2, column omrade: expected a polygon file, got 'saknas.geojson'",
    ):
        load_measures(tmp_path / "m.csv", areas.load_areas(shared_data))


def test_placebo_measures_on_the_real_archive_are_rarely_significant(real_run):
    """Measures that never happened (four start dates, every stadsdel with an event every
    other month or more): at α = 0.05 about 5 % may come out significant by chance; on the
    real police events far fewer do (small counts make the test conservative)."""
    from trygghetskarta.analysis import follow_up, monthly_matrix, queen_neighbours

    settings, _ = real_run
    con = store.connect(settings.db_path, read_only=True)
    events = store.read_events(
        con, layers=["police_event"], columns=["occurred_at", "stadsdel", "sensitive"]
    )
    con.close()
    events = events[~events["sensitive"].fillna(False).astype(bool)]
    layer = areas.load_areas(settings.data_dir).stadsdelar
    names = list(layer["name"])
    adjacency = queen_neighbours(layer.geometry).tocsr()
    monthly = monthly_matrix(
        events, unit="stadsdel", first="2023-04-01", last="2025-12-01", units=names
    )
    p_values = []
    for start in ("2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"):
        for i, name in enumerate(names):
            if monthly.loc[name].mean() < 0.5:
                continue
            near = [
                names[j] for j in adjacency.indices[adjacency.indptr[i] : adjacency.indptr[i + 1]]
            ]
            result = follow_up(monthly.loc[name], monthly.drop(index=[name, *near]), start=start)
            p_values.append(result.p_value)
    assert len(p_values) >= 100
    assert np.mean(np.array(p_values) < 0.05) <= 0.09


def test_an_out_file_that_cannot_be_written_is_one_sentence(project, shared_data, monkeypatch):
    (project / "a-file").write_text("", encoding="utf-8")
    result = _invoke(
        project,
        shared_data,
        monkeypatch,
        "forecast",
        "--origin",
        "2026-01-01",
        "--out",
        "a-file/f.csv",
    )
    assert result.exit_code == 1
    assert "a-file" in result.output
    assert "Traceback" not in result.output
    assert not list(project.glob("a-file*/.f.csv*"))
