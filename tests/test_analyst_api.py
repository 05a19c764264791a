"""The analyst's API (issue 15): inputs as geopandas and PySAL users hold them, CRS checked,
libpysal weights accepted with esda's results, results that export and plot."""

from __future__ import annotations

import doctest
import importlib
import io
import sys
import warnings

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer

import trygghetskarta
from trygghetskarta import analysis
from trygghetskarta.analysis import (
    Grid,
    area_mask,
    count_grid,
    dbscan,
    gi_star,
    gi_star_areas,
    grid_from_bounds,
    kde,
    knox,
    local_moran,
    queen_neighbours,
    space_time_cube,
    to_points,
    top_places,
)
from trygghetskarta.errors import AnalysisError, CRSError, MissingDependencyError

matplotlib.use("Agg")
import matplotlib.pyplot  # after choosing the backend

# Six events around Slussen and Gamla stan, as an analyst gets them from a GPS or a web
# map: longitude and latitude.
LON = [18.0686, 18.0700, 18.0710, 18.0650, 18.0600, 18.0720]
LAT = [59.3293, 59.3300, 59.3290, 59.3310, 59.3200, 59.3195]
TO_3006 = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)


@pytest.fixture
def events_4326() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"uncertainty_m": [10.0, 25.0, 250.0, 25.0, 500.0, 10.0]},
        geometry=gpd.points_from_xy(LON, LAT),
        crs="EPSG:4326",
    )


def _lattice(rows: int = 3, cols: int = 3, size: float = 1000.0) -> gpd.GeoDataFrame:
    """A rows × cols lattice of square areas in EPSG:3006, labelled A, B, C …"""
    x0, y0 = 670_000.0, 6_575_000.0
    boxes = [
        shapely.box(x0 + c * size, y0 + r * size, x0 + (c + 1) * size, y0 + (r + 1) * size)
        for r in range(rows)
        for c in range(cols)
    ]
    labels = [chr(ord("A") + i) for i in range(rows * cols)]
    return gpd.GeoDataFrame({"name": labels}, geometry=boxes, crs="EPSG:3006").set_index("name")


COUNTS = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 2.0, 3.0, 0.0, 2.0, 12.0, 14.0, 1.0, 3.0, 13.0, 15.0]


# --------------------------------------------------------------------------------------
# the analyst's path: GeoDataFrame in EPSG:4326 → kde → to_geotiff → plot


def test_geodataframe_in_4326_to_kde_to_geotiff_to_plot(events_4326, tmp_path) -> None:
    grid = kde(events_4326, cell_size=50, bandwidth=200, uncertainty="uncertainty_m")
    # the same as reprojecting by hand and passing arrays
    x, y = TO_3006.transform(LON, LAT)
    by_hand = kde(
        np.asarray(x),
        np.asarray(y),
        cell_size=50,
        bandwidth=200,
        uncertainty=events_4326["uncertainty_m"].to_numpy(),
    )
    assert grid.crs == "EPSG:3006"
    assert grid.transform == by_hand.transform
    np.testing.assert_array_equal(grid.values, by_hand.values)
    # metres, not degrees: 6 events at Slussen spread over ~1.2 km give a grid of ~1.2 km
    # plus 3 bandwidths on each side, not a 19 × 19 grid labelled EPSG:3006
    xmin, ymin, xmax, ymax = grid.bounds
    assert 670_000 < xmin < xmax < 680_000 and 6_575_000 < ymin < ymax < 6_585_000
    assert grid.shape[0] > 30 and grid.shape[1] > 30
    assert grid.params["n_events"] == 6

    path = grid.to_geotiff(tmp_path / "out" / "density.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 3006
        assert src.transform == grid.transform
        assert src.dtypes[0] == "float32"
        np.testing.assert_allclose(src.read(1), grid.values, rtol=1e-6)
        assert float(src.tags()["bandwidth_m"]) == 200.0
        assert src.units[0] == "events per km²"
    assert not list(path.parent.glob(".*.tmp"))  # written whole, no temporary left
    back = Grid.from_geotiff(path)
    assert back.crs == "EPSG:3006" and back.units == "events per km²"
    np.testing.assert_allclose(back.values, grid.values, rtol=1e-6)

    ax = grid.plot(title="Täthet kring Slussen")
    assert ax.get_title() == "Täthet kring Slussen"
    assert list(ax.images[0].get_extent()) == [xmin, xmax, ymin, ymax]
    matplotlib.pyplot.close(ax.figure)


def test_libpysal_queen_w_to_gi_star_on_areas_equals_esda() -> None:
    from esda.getisord import G_Local
    from libpysal.weights import Queen

    areas = _lattice(4, 4)
    areas["count"] = COUNTS
    w = Queen.from_dataframe(areas, use_index=True)
    res = gi_star_areas(areas["count"], w, fdr=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(areas["count"].to_numpy(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(res.z, ref.Zs, rtol=1e-12, atol=1e-12)
    frame = res.to_frame()
    assert frame.index.equals(areas.index)  # indexed like the input, as esda's are
    np.testing.assert_allclose(frame.loc["K", "z"], ref.Zs[10], rtol=1e-12)
    # the block of high counts in the north-east corner is hot at 99 %
    assert frame.loc[["L", "O", "P"], "bin"].tolist() == [3, 3, 3]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda a: __import__("libpysal").weights.Queen.from_dataframe(a, use_index=True),
            id="W",
        ),
        pytest.param(
            lambda a: __import__("libpysal.graph").graph.Graph.build_contiguity(a, rook=False),
            id="Graph",
        ),
        pytest.param(lambda a: a, id="GeoDataFrame"),
        pytest.param(lambda a: a.geometry, id="GeoSeries"),
        pytest.param(lambda a: queen_neighbours(a), id="adjacency"),
    ],
)
def test_every_kind_of_neighbours_gives_esdas_gi_star(build) -> None:
    from esda.getisord import G_Local
    from libpysal.weights import Queen

    areas = _lattice(4, 4)
    values = pd.Series(COUNTS, index=areas.index)
    res = gi_star_areas(values, build(areas), fdr=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = G_Local(values.to_numpy(), Queen.from_dataframe(areas), transform="B", star=True)
    np.testing.assert_allclose(res.z, ref.Zs, rtol=1e-12, atol=1e-12)
    assert list(res.to_frame().index) == list(areas.index)


def _knn(areas: gpd.GeoDataFrame):
    from libpysal.weights import KNN

    return KNN.from_dataframe(areas, k=3, use_index=True)  # not symmetric


def _chain_with_an_island(areas: gpd.GeoDataFrame):
    from libpysal.weights import W

    ids = list(areas.index)
    neighbours = {a: [b for b in (ids[i - 1 : i] + ids[i + 1 : i + 2])] for i, a in enumerate(ids)}
    neighbours[ids[-2]] = [ids[-3]]
    neighbours[ids[-1]] = []  # an island
    return W(neighbours, silence_warnings=True)


@pytest.mark.parametrize(
    "build",
    [pytest.param(_knn, id="knn-asymmetric"), pytest.param(_chain_with_an_island, id="island")],
)
def test_asymmetric_weights_and_islands_give_esdas_results(build) -> None:
    from esda.getisord import G_Local
    from esda.moran import Moran_Local

    areas = _lattice(4, 4)
    values = pd.Series(COUNTS, index=areas.index)
    w = build(areas)
    gi = gi_star_areas(values, w, fdr=False)
    moran = local_moran(values, w, permutations=99, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g_ref = G_Local(values.to_numpy(), w, transform="B", star=True, permutations=0)
        m_ref = Moran_Local(values.to_numpy(), w, transformation="r", permutations=99, seed=1)
    np.testing.assert_allclose(gi.z, g_ref.Zs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(moran.I, m_ref.Is, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(moran.quadrant, m_ref.q)


def test_values_are_matched_to_the_weights_ids_not_their_position() -> None:
    from libpysal.weights import Queen

    areas = _lattice(4, 4)
    w = Queen.from_dataframe(areas, use_index=True)
    values = pd.Series(COUNTS, index=areas.index)
    shuffled = values.sample(frac=1.0, random_state=3)
    assert not shuffled.index.equals(values.index)
    a = gi_star_areas(values, w, fdr=False).to_frame()
    b = gi_star_areas(shuffled, w, fdr=False).to_frame()
    assert list(b.index) == list(shuffled.index)
    pd.testing.assert_series_equal(a["z"], b["z"].loc[a.index])


def test_unmatched_ids_are_refused_with_what_to_do() -> None:
    from libpysal.weights import Queen

    areas = _lattice(3, 3)
    values = pd.Series(COUNTS[:9], index=[f"x{i}" for i in range(9)])
    with pytest.raises(AnalysisError, match="does not match the weights' ids"):
        gi_star_areas(values, Queen.from_dataframe(areas, use_index=True))


def test_gi_star_with_the_areas_frame_is_a_geodataframe_indexed_like_it() -> None:
    areas = _lattice(4, 4)
    res = gi_star_areas(pd.Series(COUNTS, index=areas.index), areas, fdr=False)
    frame = res.to_frame()
    assert isinstance(frame, gpd.GeoDataFrame)
    assert frame.crs == areas.crs and frame.index.equals(areas.index)
    assert frame.geometry.geom_equals(areas.geometry).all()


def test_local_moran_with_a_libpysal_w_equals_esda() -> None:
    from esda.moran import Moran_Local
    from libpysal.weights import Queen

    areas = _lattice(4, 4)
    values = pd.Series(COUNTS, index=areas.index)
    w = Queen.from_dataframe(areas, use_index=True)
    res = local_moran(values, w, permutations=99, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = Moran_Local(values.to_numpy(), w, transformation="r", permutations=99, seed=1)
    np.testing.assert_allclose(res.I, ref.Is, rtol=1e-10)
    np.testing.assert_array_equal(res.quadrant, ref.q)
    frame = res.to_frame()
    assert frame.index.equals(areas.index)
    assert list(frame.columns) == [
        "value",
        "I",
        "z",
        "lag",
        "quadrant",
        "p_sim",
        "p_adjusted",
        "label",
    ]


def test_rates_of_a_series_are_indexed_like_it() -> None:
    events = pd.Series([5.0, 40.0, 12.0], index=["0180R001", "0180R002", "0180R003"])
    population = [100.0, 400.0, 300.0]
    for rates in (
        analysis.eb_rates(events, population),
        analysis.assuncao_reis_rates(events, population),
    ):
        assert isinstance(rates, pd.Series) and list(rates.index) == list(events.index)
    plain = analysis.eb_rates(events.to_numpy(), population)
    np.testing.assert_allclose(plain, analysis.eb_rates(events, population).to_numpy())


def test_queen_neighbours_takes_a_geodataframe_as_well_as_a_geoseries() -> None:
    areas = _lattice(3, 3)
    a = queen_neighbours(areas)
    b = queen_neighbours(areas.geometry)
    assert (a != b).nnz == 0 and a.sum() == 40  # 3 × 3 queen: 20 pairs


# --------------------------------------------------------------------------------------
# CRS: degrees are never metres


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: kde(LON, LAT, cell_size=50, bandwidth=200), id="kde-arrays"),
        pytest.param(
            lambda: kde(gpd.GeoSeries.from_xy(LON, LAT), cell_size=50, bandwidth=200),
            id="kde-geoseries-without-crs",
        ),
        pytest.param(lambda: count_grid(LON, LAT, cell_size=100), id="count-grid"),
        pytest.param(lambda: analysis.bandwidth_scott(LON, LAT), id="scott"),
        pytest.param(
            lambda: knox(LON, LAT, list(range(6)), distance=100, time=2, permutations=0),
            id="knox",
        ),
        pytest.param(lambda: dbscan(LON, LAT, eps=100), id="dbscan"),
        pytest.param(lambda: space_time_cube(LON, LAT, ["2025-01"] * 6, cell_size=100), id="cube"),
        pytest.param(
            lambda: kde(pd.DataFrame({"x": LON, "y": LAT}), cell_size=50, bandwidth=200),
            id="frame-with-x-y",
        ),
    ],
)
def test_degrees_without_a_crs_are_refused_with_one_sentence(call) -> None:
    with pytest.raises(CRSError) as info:
        call()
    message = str(info.value)
    assert "look like longitude/latitude degrees" in message
    assert "EPSG:4326" in message  # says how to set the CRS
    assert "\n" not in message and ". " not in message  # one sentence


def test_arrays_with_a_crs_are_reprojected_like_a_geodataframe(events_4326) -> None:
    a = kde(LON, LAT, crs="EPSG:4326", cell_size=50, bandwidth=200)
    b = kde(events_4326, cell_size=50, bandwidth=200)
    np.testing.assert_array_equal(a.values, b.values)


def test_another_metric_crs_is_reprojected(events_4326) -> None:
    in_3011 = events_4326.to_crs("EPSG:3011")
    a = count_grid(in_3011, cell_size=100)
    b = count_grid(events_4326, cell_size=100)
    assert a.transform == b.transform
    np.testing.assert_array_equal(a.values, b.values)


def test_a_crs_that_disagrees_with_the_frames_is_refused(events_4326) -> None:
    with pytest.raises(CRSError, match="EPSG:4326 but crs="):
        kde(events_4326, cell_size=50, bandwidth=200, crs="EPSG:3006")


def test_polygons_are_not_events(events_4326) -> None:
    with pytest.raises(AnalysisError, match="expected one point per event"):
        kde(events_4326.to_crs(3006).buffer(10), cell_size=50, bandwidth=200)


def test_events_without_geometry_are_left_out_and_counted(events_4326) -> None:
    events = events_4326.copy()
    events.loc[2, "geometry"] = None
    grid = kde(events, cell_size=50, bandwidth=200)
    assert grid.params["n_events"] == 5 and grid.params["n_left_out"] == 1


def test_store_events_become_points_and_keep_unplaced_rows() -> None:
    x, y = TO_3006.transform(LON[:2], LAT[:2])
    events = pd.DataFrame({"x": [*x, None], "y": [*y, None], "place_name": ["a", "b", "c"]})
    gdf = to_points(events)
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 3006
    assert gdf.geometry.is_empty.tolist() == [False, False, True]
    assert count_grid(gdf, cell_size=100).params["n_left_out"] == 1


# --------------------------------------------------------------------------------------
# a district as the mask


def test_a_district_polygon_as_mask_equals_the_array_mask(events_4326) -> None:
    # a triangle over Slussen, handed over in longitude/latitude as an analyst has it
    triangle = shapely.Polygon([(673_500, 6_579_500), (675_500, 6_579_500), (674_500, 6_581_200)])
    district = gpd.GeoDataFrame(geometry=[triangle], crs="EPSG:3006").to_crs(4326)
    by_polygon = kde(events_4326, cell_size=50, bandwidth=200, mask=district)
    in_3006 = district.to_crs(3006)
    bounds = tuple(float(b) for b in in_3006.total_bounds)
    transform, shape = grid_from_bounds(bounds, 50)
    inside = shapely.contains_xy(
        in_3006.geometry.iloc[0], *np.meshgrid(*analysis.cell_centres(transform, shape))
    )
    by_array = kde(events_4326, cell_size=50, bandwidth=200, bounds=bounds, mask=inside)
    assert by_polygon.transform == by_array.transform
    np.testing.assert_array_equal(np.isnan(by_polygon.values), ~inside)
    np.testing.assert_allclose(by_polygon.values, by_array.values, equal_nan=True)
    # about half the triangle's bounding box lies outside it
    assert 0.4 < np.isnan(by_polygon.values).mean() < 0.6
    assert np.array_equal(area_mask(district, transform, shape), inside)


# --------------------------------------------------------------------------------------
# Grid exports


def _small_grid() -> Grid:
    values = np.array([[1.0, 2.0, np.nan], [0.0, 4.0, 5.0]])
    transform, _ = grid_from_bounds((674_000, 6_580_000, 674_300, 6_580_200), 100)
    return Grid(values, transform, params={"bandwidth_m": 300.0}, units="events per km²")


def test_to_geodataframe_one_square_per_cell_with_its_value() -> None:
    cells = _small_grid().to_geodataframe()
    assert len(cells) == 5  # the NaN cell is outside the area
    assert cells.crs.to_epsg() == 3006
    np.testing.assert_allclose(cells.area, 100 * 100)
    first = cells.iloc[0]
    assert (first["row"], first["col"], first["x"], first["y"], first["value"]) == (
        0,
        0,
        674_050.0,
        6_580_150.0,
        1.0,
    )
    assert first.geometry.contains(shapely.Point(674_050, 6_580_150))
    assert len(_small_grid().to_geodataframe(dropna=False)) == 6


def test_to_xarray_is_what_rioxarray_reads() -> None:
    pytest.importorskip("xarray")
    grid = _small_grid()
    da = grid.to_xarray()
    assert da.dims == ("y", "x")
    assert da.x.values.tolist() == [674_050.0, 674_150.0, 674_250.0]
    assert da.y.values.tolist() == [6_580_150.0, 6_580_050.0]
    np.testing.assert_array_equal(da.values, grid.values)
    assert da.attrs["units"] == "events per km²" and da.attrs["bandwidth_m"] == 300.0
    rioxarray = pytest.importorskip("rioxarray")
    assert rioxarray  # the .rio accessor is registered on import
    assert da.rio.crs.to_epsg() == 3006
    assert da.rio.transform() == grid.transform


def test_to_xarray_without_xarray_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'trygghetskarta\[xarray\]'"):
        _small_grid().to_xarray()


def test_plot_without_matplotlib_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'trygghetskarta\[plot\]'"):
        _small_grid().plot()


def test_plot_draws_on_the_axes_it_is_given() -> None:
    fig, axes = matplotlib.pyplot.subplots(1, 2)
    ax = _small_grid().plot(axes[1])
    assert ax is axes[1] and len(axes[0].images) == 0 and len(axes[1].images) == 1
    matplotlib.pyplot.close(fig)


def _boxes_collide(ax) -> list[str]:
    """Which of the title, colour bar and legend overlap (or leave the figure)."""
    fig = ax.figure
    fig.savefig(io.BytesIO(), format="png")  # as a notebook shows it: the layout settles
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = {"title": ax.title.get_window_extent(r)}
    for i, other in enumerate(a for a in fig.axes if a is not ax):
        boxes[f"colourbar{i}"] = other.get_tightbbox(r)
    for i, legend in enumerate([ax.get_legend(), *fig.legends]):
        if legend is not None:
            boxes[f"legend{i}"] = legend.get_window_extent(r)
    out = []
    names = list(boxes)
    for i, a in enumerate(names):
        if not fig.bbox.contains(boxes[a].x0, boxes[a].y0) or not fig.bbox.contains(
            boxes[a].x1, boxes[a].y1
        ):
            out.append(f"{a} outside the figure")
        for b in names[i + 1 :]:
            if boxes[a].overlaps(boxes[b]):
                out.append(f"{a} × {b}")
    return out


LONG_TITLE = "Gi* hot and cold spots, Norra innerstaden, jan 2025 – dec 2025 (250 m)"


def test_gi_star_plot_title_does_not_collide_with_its_colour_bar() -> None:
    counts = np.zeros((12, 16))
    counts[3:6, 4:7] = 6
    counts[8:10, 10:13] = 1
    transform, _ = grid_from_bounds((674_000, 6_580_000, 678_000, 6_583_000), 250)
    res = gi_star(Grid(counts, transform, units="events per cell"))
    ax = res.plot(title=LONG_TITLE)
    assert ax.get_title().replace("\n", " ") == LONG_TITLE
    assert _boxes_collide(ax) == []
    bar = next(a for a in ax.figure.axes if a is not ax)
    labels = [t.get_text() for t in bar.get_xticklabels()]
    assert labels == [
        "kall 99 %",
        "kall 95 %",
        "kall 90 %",
        "ej signifikant",
        "het 90 %",
        "het 95 %",
        "het 99 %",
    ]
    matplotlib.pyplot.close(ax.figure)


def test_area_plots_keep_title_and_legend_apart() -> None:
    areas = _lattice(4, 4)
    res = gi_star_areas(pd.Series(COUNTS, index=areas.index), areas, fdr=False)
    ax = res.plot(title=LONG_TITLE)
    assert _boxes_collide(ax) == []
    matplotlib.pyplot.close(ax.figure)
    moran = local_moran(pd.Series(COUNTS, index=areas.index), areas, permutations=99, seed=1)
    ax = moran.plot(title=LONG_TITLE)
    assert _boxes_collide(ax) == []
    matplotlib.pyplot.close(ax.figure)


def test_areas_without_geometry_cannot_be_plotted() -> None:
    with pytest.raises(AnalysisError, match="pass the areas' GeoDataFrame"):
        gi_star_areas(COUNTS[:4], [[1], [0, 2], [1, 3], [2]]).plot()


# --------------------------------------------------------------------------------------
# places named most often


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        pytest.param("Södermalm", ["Slussen", "Hornstull"], id="district-name"),
        pytest.param(" södermalm ", ["Slussen", "Hornstull"], id="case-and-spaces"),
        # only the event placed to the whole district is dropped; the stadsdel Södermalm stays
        pytest.param((), ["Slussen", "Hornstull", "Södermalm"], id="nothing-excluded"),
        pytest.param(["Södermalm", "Slussen"], ["Hornstull"], id="several"),
    ],
)
def test_top_places_leave_out_the_districts_own_name(exclude, expected) -> None:
    events = pd.DataFrame(
        {
            "place_name": ["Södermalm", "Slussen", "Hornstull", "Slussen", None, "Södermalm"],
            "precision": ["stadsdelsomrade", "place", "street", "place", "kommun", "stadsdel"],
        }
    )
    top = top_places(events, exclude=exclude)
    assert list(top.index) == expected


def test_sensitive_events_stay_at_district_level() -> None:
    x, y = TO_3006.transform(LON[:3], LAT[:3])
    events = pd.DataFrame(
        {
            "x": x,
            "y": y,
            "sensitive": [False, True, None],
            "place_name": ["Slussen", "Hornstull", "Slussen"],
            "stadsdelsomrade": ["Södermalm"] * 3,
        }
    )
    gdf = to_points(events)
    assert gdf.geometry.is_empty.tolist() == [False, True, False]
    assert list(gdf["stadsdelsomrade"]) == ["Södermalm"] * 3  # still counted per district
    assert count_grid(gdf, cell_size=100).params["n_left_out"] == 1
    assert to_points(events, sensitive_points=True).geometry.is_empty.sum() == 0
    top = top_places(events)
    assert list(top.index) == ["Slussen"] and top.attrs["n_excluded"] == 1


def test_top_places_counts_and_shares() -> None:
    events = pd.DataFrame({"place_name": ["Slussen"] * 3 + ["Hornstull"] + ["Farsta"] * 2})
    top = top_places(events, exclude="Farsta", n=1)
    assert top.to_dict("index") == {"Slussen": {"events": 3, "share": 0.75}}
    assert top.attrs == {"n_excluded": 2, "n_unnamed": 0}


# --------------------------------------------------------------------------------------
# one documented public surface


PUBLIC_MODULES = [
    "trygghetskarta",
    *(
        f"trygghetskarta.analysis.{m}"
        for m in (
            "bandwidth",
            "cells",
            "clusters",
            "crime_rates",
            "density",
            "emerging",
            "evaluate",
            "followup",
            "forecast",
            "grid",
            "hotspots",
            "local_moran",
            "mann_kendall",
            "nearrepeat",
            "neighbours",
            "places",
            "points",
            "rates",
            "rhythm",
            "schemes",
            "significance",
            "spacetime",
            "trends",
        )
    ),
]


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.rsplit(".", 1)[-1])
def test_the_docstring_examples_of_the_public_modules_run(module: str) -> None:
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    matplotlib.pyplot.close("all")
    assert result.failed == 0


#: Functions whose docstrings issue 11 rewrites in parallel (like-for-like periods); their
#: worked examples are in docs/api.md until then.
EXAMPLES_ELSEWHERE = {"change_table", "monthly_series", "period_summary"}


@pytest.mark.parametrize("name", sorted(analysis.__all__))
def test_every_public_name_is_documented_with_an_example(name: str) -> None:
    import inspect

    obj = getattr(analysis, name)
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    if inspect.isfunction(obj) and name not in EXAMPLES_ELSEWHERE:
        assert "Parameters\n----------" in doc or "Examples\n--------" in doc
        assert ">>> " in doc, f"{name} has no example that runs as a doctest"
    assert getattr(trygghetskarta, name) is obj  # the top-level package exports it too


def test_importing_the_package_loads_no_analysis_until_asked() -> None:
    import subprocess

    code = (
        "import sys, trygghetskarta; from trygghetskarta import config, periods; "
        "print('trygghetskarta.analysis' in sys.modules, 'scipy' in sys.modules); "
        "trygghetskarta.kde; print('trygghetskarta.analysis' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False", "True"]
