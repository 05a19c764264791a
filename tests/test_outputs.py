"""GeoTIFF output: reopened with rasterio, as QGIS would."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.errors import RasterioIOError

from trygghetskarta.analysis.density import kde
from trygghetskarta.analysis.grid import Grid
from trygghetskarta.errors import AnalysisError, SourceError
from trygghetskarta.pipeline.outputs import OutputError, read_geotiff, write_geotiff


@pytest.fixture
def grid() -> Grid:
    values = np.arange(12, dtype=float).reshape(3, 4) / 7
    values[0, 0] = np.nan
    return Grid(
        values=values,
        transform=Affine(100.0, 0.0, 670_000.0, 0.0, -100.0, 6_581_000.0),
        params={"bandwidth_m": 300.0, "bandwidth_rule": "fixed", "n_events": 12},
        units="events per km²",
    )


def test_geotiff_round_trips_crs_transform_values_and_tags(grid: Grid, tmp_path: Path) -> None:
    path = write_geotiff(grid, tmp_path / "density.tif", extra_tags={"run_id": "r1"})
    with rasterio.open(path) as src:
        assert src.driver == "GTiff"
        assert src.crs.to_epsg() == 3006
        assert src.transform == grid.transform
        assert (src.height, src.width, src.count) == (3, 4, 1)
        assert src.dtypes == ("float32",)
        assert np.isnan(src.nodata)
        assert src.compression.name.lower() == "deflate"
        got = src.read(1)
        tags = src.tags()
        assert src.units == ("events per km²",)
        assert src.descriptions == ("events per km²",)
    np.testing.assert_allclose(got, grid.values.astype(np.float32), equal_nan=True)
    assert np.isnan(got[0, 0])
    assert tags["bandwidth_m"] == "300"
    assert tags["bandwidth_rule"] == "fixed"
    assert tags["n_events"] == "12"
    assert tags["run_id"] == "r1"
    assert tags["units"] == "events per km²"


def test_kde_grid_writes_with_its_params(tmp_path: Path) -> None:
    g = kde([674_000.0, 674_400.0], [6_580_000.0, 6_580_300.0], cell_size=50.0, bandwidth=200.0)
    with rasterio.open(write_geotiff(g, tmp_path / "kde.tif")) as src:
        tags = src.tags()
        assert src.bounds == pytest.approx(g.bounds)
        values = src.read(1)
    assert tags["method"] == "linear binning + FFT"
    assert float(tags["cell_size_m"]) == 50.0
    np.testing.assert_allclose(values, g.values, rtol=1e-6)


def test_large_raster_is_tiled(tmp_path: Path) -> None:
    g = Grid(values=np.ones((300, 520)), transform=Affine(10, 0, 0, 0, -10, 3000), units="x")
    with rasterio.open(write_geotiff(g, tmp_path / "big.tif")) as src:
        assert src.profile["tiled"]
        assert src.block_shapes == [(256, 256)]


def test_overwrites_and_leaves_no_temporary_file(grid: Grid, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "density.tif"
    write_geotiff(grid, target)
    other = Grid(values=np.zeros((3, 4)), transform=grid.transform, units="events per km²")
    write_geotiff(other, target)
    with rasterio.open(target) as src:
        assert not src.read(1).any()
    assert [p.name for p in target.parent.iterdir()] == ["density.tif"]


def test_unwritable_target_raises_output_error(grid: Grid, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(OutputError, match="could not write the GeoTIFF") as info:
        write_geotiff(grid, blocker / "density.tif")
    assert isinstance(info.value, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir"]


def test_mask_writes_nodata_outside(grid: Grid, tmp_path: Path) -> None:
    inside = np.ones(grid.shape, dtype=bool)
    inside[:, 2:] = False
    with rasterio.open(write_geotiff(grid, tmp_path / "m.tif", mask=inside)) as src:
        values = src.read(1)
        masked = src.read_masks(1)
    assert np.isnan(values[:, 2:]).all()
    np.testing.assert_allclose(values[1:, :2], grid.values[1:, :2].astype(np.float32))
    assert (masked[:, 2:] == 0).all() and (masked[1:, :2] == 255).all()


def test_mask_of_the_wrong_shape_is_refused(grid: Grid, tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match=r"mask must have the grid's shape \(3, 4\)"):
        write_geotiff(grid, tmp_path / "m.tif", mask=np.ones((4, 3), bool))
    assert not list(tmp_path.iterdir())


def test_read_geotiff_gives_back_the_grid(grid: Grid, tmp_path: Path) -> None:
    back = read_geotiff(write_geotiff(grid, tmp_path / "density.tif"))
    assert back.transform == grid.transform
    assert back.crs == "EPSG:3006"
    np.testing.assert_allclose(back.values, grid.values.astype(np.float32), equal_nan=True)
    assert float(back.params["bandwidth_m"]) == 300.0


def test_read_geotiff_of_a_missing_file_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="trygghetskarta analyse"):
        read_geotiff(tmp_path / "absent.tif")


@pytest.mark.parametrize(
    ("free", "says_full"),
    [pytest.param(10, True, id="full-disk"), pytest.param(10**12, False, id="space-left")],
)
def test_a_geotiff_that_gdal_cannot_write_names_a_full_disk(tmp_path, monkeypatch, free, says_full):
    """GDAL says only "Write failed" when the disk is full; the sentence names the cause."""

    def failing(*args, **kwargs):
        raise RasterioIOError("Write failed. See previous exception for details.")

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(rasterio, "open", failing)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(free, 0, free))
    grid = Grid(np.ones((20, 20)), Affine(100, 0, 0, 0, -100, 2000), "EPSG:3006", {})
    with pytest.raises(OutputError) as info:
        write_geotiff(grid, tmp_path / "x.tif")
    assert ("no space left on device: 10 bytes free" in str(info.value)) is says_full
    assert "Write failed" in str(info.value)
    assert not list(tmp_path.iterdir())
