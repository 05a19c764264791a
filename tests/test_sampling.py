"""No silent sampling (issue 16): Knox counts every event exactly, a cap that bites is a
setting and is stated in the warnings, the tables, the step's counts and on the map."""

from __future__ import annotations

import dataclasses
import html
import itertools
import json
import shutil
import warnings
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from shapely.geometry import box

from test_analyse_step import event, frame, tiny_areas, tiny_population, town_events
from trygghetskarta import render, store
from trygghetskarta.analysis import clusters as clusters_mod
from trygghetskarta.analysis._knox_pairs import (
    band_totals,
    close_pairs,
    comparable_times,
    space_time_table,
)
from trygghetskarta.analysis.nearrepeat import knox_table
from trygghetskarta.config import AnalysisParameters, Settings
from trygghetskarta.errors import TrygghetskartaWarning
from trygghetskarta.periods import Period
from trygghetskarta.pipeline.analyse import analyse_prepared, parts, tables
from trygghetskarta.pipeline.analyse.inputs import prepare_inputs
from trygghetskarta.render import layers as al
from trygghetskarta.render.profile import INTERNAL, PUBLIC
from trygghetskarta.schema import TIMEZONE

NBSP = "\u00a0"


def brute_table(xy: np.ndarray, t: np.ndarray, d_edges, t_edges) -> np.ndarray:
    """Every pair, banded with the same predicates (``d² <= e²``, ``|dt| <= e``)."""
    d_edges, t_edges = np.asarray(d_edges, float), np.asarray(t_edges, float)
    out = np.zeros((d_edges.size + 1, t_edges.size + 1), dtype=np.int64)
    for i, j in itertools.combinations(range(len(t)), 2):
        d2 = float(((xy[i] - xy[j]) ** 2).sum())
        out[int((d2 > d_edges**2).sum()), int((abs(t[i] - t[j]) > t_edges).sum())] += 1
    return out


# --------------------------------------------------------------------------------------
# Knox: the observed table is exact without listing every spatial pair

# Five events on a line: hand-counted pairs (rows 0 m, 0–100 m, 100–300 m, > 300 m;
# columns 0–2, 2–10, > 10 days). Pairs (distance, days): (0,1)=(0,1) (0,2)=(100,9)
# (0,3)=(300,2) (0,4)=(1000,30) (1,2)=(100,8) (1,3)=(300,1) (1,4)=(1000,29)
# (2,3)=(200,7) (2,4)=(900,21) (3,4)=(700,28).
FIVE_XY = np.array([[0, 0], [0, 0], [100, 0], [300, 0], [1000, 0]], dtype=float)
FIVE_T = np.array([0, 1, 9, 2, 30], dtype=float)
FIVE_TABLE = [[1, 0, 0], [0, 2, 0], [2, 1, 0], [0, 0, 4]]


def test_knox_table_of_five_events_matches_the_hand_count():
    tab = knox_table(
        FIVE_XY[:, 0],
        FIVE_XY[:, 1],
        FIVE_T,
        distance_bands=[100, 300],
        time_bands=[2, 10],
        same_location=True,
        permutations=0,
    )
    assert tab.observed.tolist() == FIVE_TABLE
    assert tab.pairs == 10
    # expected = row total × column total / pairs
    assert tab.expected[1, 1] == pytest.approx(2 * 3 / 10)


@pytest.mark.parametrize(
    ("n", "side", "span", "seed"),
    [(2, 100, 10, 0), (60, 400, 30, 1), (300, 2000, 400, 2), (500, 1500, 60, 3)],
    ids=["two-events", "dense", "sparse-long", "many-ties"],
)
def test_space_time_table_equals_the_listed_pairs_and_a_brute_force(n, side, span, seed):
    rng = np.random.default_rng(seed)
    # a 50 m lattice and whole days: many pairs exactly on a band edge and on a tie
    xy = (rng.integers(0, side // 50 + 1, size=(n, 2)) * 50).astype(float)
    t = rng.integers(0, span, size=n).astype(float)
    d_edges, t_edges = np.array([0.0, 250.0, 500.0, 1000.0]), np.array([7.0, 14.0, 28.0])
    fast = space_time_table(xy, t, d_edges, t_edges)
    listed = close_pairs(xy, d_edges, 10**9).table(t, t_edges)
    assert np.array_equal(fast, listed)
    assert np.array_equal(fast, brute_table(xy, t, d_edges, t_edges)[:-1])


@pytest.mark.parametrize(
    "step", [0.1, 0.7, 1 / 3, 7.0], ids=["tenth", "seven-tenths", "third", "whole-band"]
)
def test_space_time_table_is_exact_for_float_times_on_band_multiples(step):
    # times at exact multiples of the largest band (0.7): rounding must not split a pair
    # 0.7 apart into blocks two apart
    rng = np.random.default_rng(5)
    n = 200
    t = rng.integers(0, 40, size=n) * step
    xy = (rng.integers(0, 6, size=(n, 2)) * 100).astype(float)
    d_edges, t_edges = np.array([0.0, 200.0]), np.array([0.35, 0.7])
    fast = space_time_table(xy, t, d_edges, t_edges)
    assert np.array_equal(fast, brute_table(xy, t, d_edges, t_edges)[:-1])


def test_space_time_table_counts_datetimes_to_the_second():
    # 7 days apart exactly, and one second more: the first pair is within 7 d, the second not
    start = pd.Timestamp("2025-03-01 00:00", tz=TIMEZONE)
    when = pd.Series([start, start + pd.Timedelta(days=7), start + pd.Timedelta(days=7, seconds=1)])
    secs = when.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[s]").astype("int64")
    times, t_cmp = comparable_times(secs.to_numpy(float), np.array([7.0]), True)
    xy = np.zeros((3, 2))
    table = space_time_table(xy, times, np.array([10.0]), t_cmp)
    assert table.tolist() == [[2, 1]]


def test_band_totals_count_pairs_on_the_edge_inclusive():
    # a 3-4-5 triangle scaled to 50-40-30 m: distances exactly on the edges
    xy = np.array([[0, 0], [30, 0], [0, 40]], dtype=float)
    assert band_totals(cKDTree(xy), np.array([30.0, 40.0, 50.0])).tolist() == [1, 1, 1]


def test_knox_with_permutations_keeps_its_reference_values():
    # the docstring's reference: pointpats' table with the same RandomState
    x, y = [674_000, 674_005, 674_100, 674_105], [6_580_000] * 4
    a = knox_table(x, y, [0, 1, 10, 11], distance_bands=[10], time_bands=[2], permutations=0)
    b = knox_table(
        x, y, [0, 1, 10, 11], distance_bands=[10], time_bands=[2], permutations=9, seed=1
    )
    assert a.observed.tolist() == b.observed.tolist() == [[2, 0], [0, 4]]
    assert b.simulated.shape == (9, 2, 2)
    assert (b.simulated.sum(axis=(1, 2)) == 6).all()


# --------------------------------------------------------------------------------------
# the step: nothing sampled below a cap; a cap that bites is stated


@pytest.fixture
def town():
    return prepare_inputs(
        town_events(),
        tiny_areas(),
        tiny_population(),
        period=Period.months("2025-01", "2025-12"),
        parameters=AnalysisParameters(cell_size_m=100.0, bandwidth=200.0),
        seed=7,
    )


def _no_warning_of_ours():
    catcher = warnings.catch_warnings()
    catcher.__enter__()
    warnings.simplefilter("error", TrygghetskartaWarning)
    return catcher


@pytest.mark.parametrize("cap", [14, 15, 5_000], ids=["exactly-n", "n-plus-one", "default"])
def test_near_repeat_below_the_cap_samples_nothing(town, cap):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrygghetskartaWarning)
        table = tables.near_repeat(town, "police_event", permutations=19, max_events=cap)
    assert (table["sampled"] == "").all()
    assert (table["sampled_n"] == 14).all() and (table["sampled_of"] == 14).all()
    assert json.loads(table["params"].iloc[0])["p_values_from"] == "every event"
    assert table["p_value"].notna().all()


def test_near_repeat_over_the_cap_counts_every_event_and_samples_only_the_p_values(town):
    full = tables.near_repeat(town, "police_event", permutations=19)
    with pytest.warns(TrygghetskartaWarning, match=r"seeded random sample of 6 of 14") as rec:
        capped = tables.near_repeat(town, "police_event", permutations=19, max_events=6)
    assert "knox_max_events" in str(rec[0].message)
    for column in ("observed", "expected", "n_events", "pairs"):
        assert capped[column].tolist() == full[column].tolist(), column
    assert capped["sampled"].iloc[0] == "6 of 14"
    assert (capped["sampled_n"] == 6).all() and (capped["sampled_of"] == 14).all()
    assert capped["permutations"].iloc[0] == 19 and capped["p_value"].notna().all()
    # the p-values are those of the same seeded sample tested on its own
    ev = town.events
    placed = ev[
        town.period.contains(ev["occurred_at"]).to_numpy()
        & (ev["layer"] == "police_event").to_numpy()
        & ev["precision"].isin(["exact", "address", "street", "place"]).to_numpy()
        & ev["x"].notna().to_numpy()
    ]
    sample = placed.sample(n=6, random_state=town.seed)
    alone = knox_table(
        sample["x"].to_numpy(float),
        sample["y"].to_numpy(float),
        sample["occurred_at"],
        distance_bands=town.parameters.knox_distance_bands_m,
        time_bands=town.parameters.knox_time_bands_d,
        same_location=True,
        permutations=19,
        seed=town.seed,
    )
    assert np.allclose(capped["p_value"].to_numpy(), alone.p_value.ravel())


def _clustered(seed: int = 3):
    grid = [(dx, dy) for dx in (0, 20, 40) for dy in (0, 20, 40, 60)]
    rows = [event(1510 + dx, 510 + dy, "2025-04-01 10:00") for dx, dy in grid]
    rows += [event(3510 + dx, 1510, "2025-04-01 10:00") for dx in range(0, 240, 20)]
    return prepare_inputs(
        frame(rows), tiny_areas(), None, period=Period.months("2025-01", "2025-12"), seed=seed
    )


def test_clusters_below_the_cap_sample_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrygghetskartaWarning)
        found = parts.clusters(_clustered(), "police_event", min_cluster_size=5, max_events=24)
    assert (found["sampled"] == "").all() and (found["sampled_n"] == 24).all()
    assert (found["n_events"] == found["n_events_in_sample"]).all()


def test_clusters_over_the_cap_warn_and_say_so_in_the_table():
    with pytest.warns(
        TrygghetskartaWarning, match=r"clusters police_event/all: ran on .* 16 of 24"
    ):
        found = parts.clusters(_clustered(), "police_event", min_cluster_size=5, max_events=16)
    assert (found["sampled"] == "16 of 24").all()
    assert (found["sampled_n"] == 16).all() and (found["sampled_of"] == 24).all()


@pytest.mark.parametrize(
    ("budget", "sampled"), [(None, ""), (10, "16 of 24")], ids=["fits", "too-many-neighbours"]
)
def test_dbscan_runs_on_every_event_when_its_neighbourhoods_fit(monkeypatch, budget, sampled):
    inputs = _clustered()
    inputs = dataclasses.replace(
        inputs,
        parameters=dataclasses.replace(
            inputs.parameters, cluster_method="dbscan", cluster_eps_m=45.0
        ),
    )
    if budget is not None:
        monkeypatch.setattr(clusters_mod, "DBSCAN_MAX_NEIGHBOURS", budget)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = parts.clusters(inputs, "police_event", min_cluster_size=5, max_events=16)
    ours = [w for w in caught if issubclass(w.category, TrygghetskartaWarning)]
    assert len(ours) == (1 if sampled else 0)
    assert (found["sampled"] == sampled).all()
    if not sampled:  # within 45 m: the 3 × 4 grid and the row of 12, every event
        assert sorted(found["n_events"]) == [12, 12]


def test_dbscan_neighbours_counts_each_event_itself_and_its_neighbours():
    # 0–10–20 on a line within 15 m: 2 + 3 + 2 entries, and the lone event 1
    assert clusters_mod.dbscan_neighbours([0, 10, 20, 5000], [0, 0, 0, 0], eps=15) == 8.0
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10_000, size=(20_000, 2))
    exact = float(
        cKDTree(xy).query_ball_point(xy, 100.0, return_length=True).sum()
    )  # about 20 000 × (1 + π 100² × 2·10⁻⁴)
    estimate = clusters_mod.dbscan_neighbours(xy[:, 0], xy[:, 1], eps=100.0)
    assert estimate == pytest.approx(exact, rel=0.05)


def _settings(tmp_path: Path, parameters: AnalysisParameters) -> Settings:
    return Settings(
        project_dir=tmp_path,
        data_dir=None,
        processed_dir=tmp_path / "processed",
        raw_dir=tmp_path / "raw",
        db_path=tmp_path / "t.duckdb",
        seed=7,
        analysis=parameters,
    )


def _town_inputs(parameters: AnalysisParameters):
    """The analyse step's inputs for the tiny town of 2025 with ``parameters``."""
    return prepare_inputs(
        town_events(),
        tiny_areas(),
        tiny_population(),
        period=Period.months("2025-01", "2025-12"),
        parameters=parameters,
        seed=7,
    )


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        ({}, []),
        (
            {"knox_max_events": 6, "cluster_max_events": 10},
            [
                ("clusters", "police_event", "all", 10, 14),
                ("near_repeat", "police_event", "all", 6, 14),
            ],
        ),
    ],
    ids=["defaults-nothing-sampled", "caps-bite"],
)
def test_the_step_lists_every_sample_in_its_counts_and_warnings(tmp_path, caps, expected):
    parameters = AnalysisParameters(
        cell_size_m=100.0, bandwidth=200.0, knox_permutations=19, cluster_min_size=5, **caps
    )
    settings = _settings(tmp_path, parameters)
    inputs = _town_inputs(parameters)
    con = store.connect(settings.db_path)
    try:
        result = analyse_prepared(inputs, settings, con)
        stored = con.execute(
            "SELECT DISTINCT layer, category, sampled FROM near_repeat ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    got = [
        (s["analysis"], s["layer"], s["category"], s["n"], s["of"])
        for s in result.counts["sampled"]
    ]
    police_all = [g for g in got if g[1:3] == ("police_event", "all")]
    assert sorted(police_all) == expected
    for entry in result.counts["sampled"]:
        assert entry["sampled"] == f"{entry['n']} of {entry['of']}"
        assert entry["setting"] in ("knox_max_events", "cluster_max_events")
    sampled_warnings = [w for w in result.warnings if "seeded random sample" in w]
    assert len(sampled_warnings) == len(got)
    json.dumps(result.counts["sampled"])  # the manifest takes it as it is
    near_all = [s for layer, cat, s in stored if (layer, cat) == ("police_event", "all")]
    assert near_all == (["6 of 14"] if caps else [""])


def test_a_cross_validated_bandwidth_on_a_sample_is_stated(tmp_path, monkeypatch):
    from trygghetskarta.analysis import density as density_mod

    monkeypatch.setattr(density_mod, "CV_MAX_POINTS", 10)  # below the town's placed events
    parameters = AnalysisParameters(cell_size_m=100.0, bandwidth="cv", knox_permutations=19)
    settings = _settings(tmp_path, parameters)
    inputs = _town_inputs(parameters)
    con = store.connect(settings.db_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the chosen h is at an end
            result = analyse_prepared(inputs, settings, con)
    finally:
        con.close()
    cv = [s for s in result.counts["sampled"] if s["analysis"] == "bandwidth_cv"]
    first = cv[0]
    assert (first["layer"], first["category"], first["n"]) == ("police_event", "all", 10)
    assert first["of"] > 10 and first["sampled"] == f"10 of {first['of']}"
    assert first["setting"] == "bandwidth"
    assert any("cross-validated bandwidth was scored on a seeded random sample" in w
               for w in result.warnings)  # fmt: skip


# --------------------------------------------------------------------------------------
# the map states a sample


def _outlines(**cols) -> gpd.GeoDataFrame:
    data = {"cluster": [0, 1], "n_events": [29, 12], "area_km2": [0.05, 0.02], **cols}
    geoms = [
        box(673_000, 6_580_000, 673_300, 6_580_300),
        box(674_000, 6_580_000, 674_200, 6_580_200),
    ]
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:3006")


def _page(m: folium.Map) -> str:
    return html.unescape(render.to_html(m)).replace(NBSP, " ").replace("\\u00a0", " ")


def test_sample_note_reads_in_swedish():
    note = al.sample_note(20_000, 184_134)
    assert note.replace(NBSP, " ") == (
        "Beräknat på ett slumpmässigt urval av 20 000 av 184 134 händelser."
    )


@pytest.mark.parametrize(
    ("cols", "noted"),
    [
        ({"sampled_n": [20_000] * 2, "sampled_of": [184_134] * 2}, True),
        ({"sampled_n": [41] * 2, "sampled_of": [41] * 2}, False),
        ({}, False),
    ],
    ids=["sampled", "every-event", "old-table"],
)
def test_the_cluster_layer_states_a_sample_in_legend_and_tooltips(cols, noted):
    m = al.add_clusters(
        folium.Map(location=[59.33, 18.06], zoom_start=12, tiles=None),
        _outlines(**cols),
        profile=INTERNAL,
    )
    note = "Beräknat på ett slumpmässigt urval av 20 000 av 184 134 händelser."
    # in the legend of the page, and in every outline's tooltip
    assert (note in _page(m)) is noted
    (layer,) = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    (gj,) = [c for c in layer._children.values() if isinstance(c, folium.GeoJson)]
    tips = [f["properties"]["tk_tip"].replace(NBSP, " ") for f in gj.data["features"]]
    assert [note in tip for tip in tips] == [noted, noted]


def test_public_maps_draw_no_cluster_outlines_so_no_note():
    m = al.add_clusters(
        folium.Map(location=[59.33, 18.06], zoom_start=12, tiles=None),
        _outlines(sampled_n=[20_000] * 2, sampled_of=[184_134] * 2),
        profile=PUBLIC,
    )
    assert "slumpmässigt urval" not in _page(m)


# --------------------------------------------------------------------------------------
# the whole run: the manifest and the internal map (real data)


@pytest.mark.realdata
def test_default_caps_sample_nothing_in_the_real_run(real_run):
    settings, _ = real_run
    manifest = json.loads((settings.processed_dir / "manifest.json").read_text("utf-8"))
    (analyse,) = [s for s in manifest["steps"] if s["step"] == "analyse"]
    assert analyse["counts"]["sampled"] == []
    assert not [w for w in analyse["warnings"] if "seeded random sample" in w]


@pytest.mark.realdata
def test_a_cap_that_bites_reaches_the_manifest_and_the_internal_map(real_run, tmp_path):
    from trygghetskarta import pipeline

    settings, _ = real_run
    processed = tmp_path / "processed"
    processed.mkdir()
    db = processed / settings.db_path.name
    shutil.copyfile(settings.db_path, db)
    db.chmod(0o644)  # the published snapshot is read-only
    capped = dataclasses.replace(
        settings,
        processed_dir=processed,
        db_path=db,
        profile="internal",
        analysis=dataclasses.replace(
            settings.analysis, knox_max_events=40, cluster_max_events=100, knox_permutations=9
        ),
    )
    pipeline.run(capped, steps=("analyse", "maps"))
    manifest = json.loads((processed / "manifest.json").read_text("utf-8"))
    (analyse,) = [s for s in manifest["steps"] if s["step"] == "analyse"]
    sampled = {(s["analysis"], s["layer"], s["category"]): s for s in analyse["counts"]["sampled"]}
    knox = sampled[("near_repeat", "police_event", "all")]
    assert knox["n"] == 40 and knox["of"] > 40 and knox["setting"] == "knox_max_events"
    hd = sampled[("clusters", "police_event", "all")]
    assert hd["n"] == 100 and hd["of"] > 100 and hd["setting"] == "cluster_max_events"
    assert any(f"100 of {hd['of']:,}" in w for w in analyse["warnings"])
    page = (processed / "internal" / "maps" / "stockholm.html").read_text("utf-8")
    page = html.unescape(page).replace(NBSP, " ")
    note = f"Beräknat på ett slumpmässigt urval av 100 av {hd['of']:,} händelser.".replace(",", " ")
    assert note in page
