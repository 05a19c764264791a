"""Kernel density of events on a grid: Gaussian kernel, linear binning, FFT convolution.

:func:`kde` is what analysts call. It returns a :class:`~trygghetskarta.analysis.grid.Grid`
of events per km² in EPSG:3006, north-up, with the parameters that made it in
``Grid.params``.

Method
------
1. **Linear binning.** Each event's weight is split over the four cell centres around
   it in proportion to its distance to them (bilinear weights), not put in the nearest
   cell. Splitting spreads an event by 1/6 cell² per axis on average, so the kernel's
   variance is reduced by that much (sigma² - cell²/6), which removes the binning's
   smoothing bias. The largest remaining error, at the peak of an isolated event lying
   on a cell centre, is about ``(cell / sigma)² / 6`` of that peak (0.2 % at sigma = 10
   cells, 0.02 % at 30 cells); over many events the errors mostly cancel.
2. **FFT convolution.** The binned counts are convolved with a Gaussian truncated at
   :data:`TRUNCATE` sigma and normalised so that its cells sum to 1 (so mass is
   conserved exactly). The kernel is separable, so its spectrum is the outer product of
   two 1-D spectra: one forward and one inverse 2-D real FFT per bandwidth. The arrays
   are zero-padded so that the circular convolution does not wrap around.
3. **Uncertainty.** An event whose position is only known to within ``u`` metres gets a
   wider kernel, sigma² = h² + u² (the convolution of the bandwidth kernel with a
   Gaussian of the position's uncertainty). Events are grouped by their ``u`` (rounded
   to :data:`UNCERTAINTY_STEP_M` when there are more than :data:`MAX_EXACT_GROUPS`
   distinct values); each group is binned and convolved with its own kernel and the
   results are summed.

Events outside the grid still count for the cells their kernel reaches. Events with a
non-finite coordinate or uncertainty are left out and counted in ``params``.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike

from trygghetskarta.analysis.bandwidth import (
    CV_MAX_POINTS,
    DensityWarning,
    bandwidth_cv,
    bandwidth_scott,
    bandwidth_silverman,
    default_cv_candidates,
)
from trygghetskarta.analysis.grid import (
    Bounds,
    Grid,
    _check_cell_size,
    area_bounds,
    area_mask,
    as_area,
    grid_from_bounds,
)
from trygghetskarta.analysis.points import Points, as_xy, event_values
from trygghetskarta.errors import AnalysisError

#: The Gaussian kernel is cut off at this many sigma (the tail beyond holds 6e-5 of the
#: mass per axis; it is given back by normalising the truncated kernel).
TRUNCATE = 4.0
#: Per-event uncertainty radii are rounded to this many metres to group events.
UNCERTAINTY_STEP_M = 10.0
#: Up to this many distinct uncertainty radii are kept exactly (one kernel each); with
#: more, radii are rounded half up to :data:`UNCERTAINTY_STEP_M`.
MAX_EXACT_GROUPS = 32
#: Square metres per square kilometre: values are events per km².
M2_PER_KM2 = 1e6
#: Bandwidth rules :func:`kde` accepts by name.
BANDWIDTH_RULES = ("scott", "silverman", "cv")

_WORKERS = max(1, min(os.cpu_count() or 1, 4))
UNITS = "events per km²"

__all__ = [
    "BANDWIDTH_RULES",
    "DensityWarning",
    "bandwidth_cv",
    "bandwidth_scott",
    "bandwidth_silverman",
    "kde",
]


# --------------------------------------------------------------------------------------
# Bandwidths (the rules live in :mod:`~trygghetskarta.analysis.bandwidth`)


def _resolve_bandwidth(
    bandwidth: float | str, x: np.ndarray, y: np.ndarray, cell: float
) -> tuple[float, str, dict[str, Any]]:
    if isinstance(bandwidth, str):
        rule = bandwidth.strip().lower()
        if rule not in BANDWIDTH_RULES:
            raise AnalysisError(
                f"bandwidth must be metres or one of {BANDWIDTH_RULES}, got {bandwidth!r}"
            )
        if x.size == 0:
            return math.nan, rule, {}
        if rule == "scott":
            return bandwidth_scott(x, y), rule, {}
        if rule == "silverman":
            return bandwidth_silverman(x, y), rule, {}
        cand = default_cv_candidates(x, y, cell)
        h = bandwidth_cv(x, y, cand, max_points=CV_MAX_POINTS)
        extra = {"bandwidth_candidates_m": ", ".join(f"{c:.0f}" for c in cand)}
        scored = int(np.count_nonzero(np.isfinite(x) & np.isfinite(y)))
        if scored > CV_MAX_POINTS:
            # bandwidth_cv scores a seeded subsample: said in the raster's tags
            extra["bandwidth_cv_sample"] = f"{CV_MAX_POINTS} of {scored}"
        return h, rule, extra
    if isinstance(bandwidth, bool):
        raise AnalysisError(f"bandwidth must be metres or a rule name, got {bandwidth!r}")
    try:
        h = float(bandwidth)
    except (TypeError, ValueError) as e:
        raise AnalysisError(
            f"bandwidth must be metres or one of {BANDWIDTH_RULES}, got {bandwidth!r}"
        ) from e
    if not math.isfinite(h) or h <= 0:
        raise AnalysisError(f"bandwidth must be a positive number of metres, got {bandwidth!r}")
    return h, "fixed", {}


# --------------------------------------------------------------------------------------
# Binning and convolution


def _kernel_1d(sigma_cells: float) -> np.ndarray:
    """Gaussian weights at integer offsets -R..R, R = ceil(TRUNCATE · sigma), summing to 1.

    The kernel's variance is reduced by the variance that linear binning adds on average,
    1/6 cell² per axis (see :func:`_binning_corrected`).
    """
    s = _binning_corrected(sigma_cells)
    r = max(1, math.ceil(TRUNCATE * sigma_cells))
    d = np.arange(-r, r + 1, dtype=float)
    k = np.exp(-0.5 * (d / s) ** 2)
    return k / k.sum()


def _binning_corrected(sigma_cells: float) -> float:
    """The kernel sigma (cells) that, after linear binning, gives ``sigma_cells`` overall.

    Splitting an event over the two centres around it spreads it by ``t (1 - t)`` cell²
    (``t`` its offset), 1/6 cell² on average over offsets. Taking that out of the
    kernel's variance removes the binning's smoothing bias: on clustered test data the
    largest error at 50 m cells and sigma = 300 m drops from 2.4e-3 to 1e-4 of the peak.
    Below sigma² = 1/3 cell² the kernel keeps half the variance instead, so the
    correction is continuous and never shrinks the kernel to nothing.
    """
    v = sigma_cells * sigma_cells
    return math.sqrt(max(v - 1.0 / 6.0, v / 2.0))


def _kernel_spectrum(k: np.ndarray, length: int, reach: int, *, real: bool) -> np.ndarray:
    """Spectrum of a symmetric kernel laid out circularly (centre at index 0).

    Only offsets up to ``reach`` are kept: larger ones never occur between a binned cell
    and an output cell. ``length`` must be at least ``2 * reach + 1``.
    """
    r = (k.size - 1) // 2
    reach = min(r, reach)
    kc = np.zeros(length)
    kc[: reach + 1] = k[r : r + reach + 1]
    if reach:
        kc[-reach:] = k[r - reach : r]
    spec = np.fft.rfft(kc) if real else np.fft.fft(kc)
    return spec.real  # symmetric kernel: the imaginary part is rounding noise


def _bin_linear(
    fx: np.ndarray,
    fy: np.ndarray,
    w: np.ndarray | None,
    shape: tuple[int, int],
    left: int,
    top: int,
) -> np.ndarray:
    """Split each weight over the four cell centres around it (bilinear weights).

    ``fx, fy`` are fractional column and row indices of the output grid (0 at a centre);
    ``left, top`` the margins of the binned frame, chosen by :func:`_margins` so that
    every index is inside ``shape`` (a corner can only fall outside with zero weight).
    ``w=None`` means weight 1.
    """
    rows, cols = shape
    width = cols + 2  # one spare cell each side keeps every index non-negative
    bx = fx + (left + 1.0)
    by = fy + (top + 1.0)
    ix = bx.astype(np.intp)  # bx, by > 0, so truncation is floor
    idx = by.astype(np.intp)
    bx -= ix  # now the offsets from the lower corner
    by -= idx
    idx *= width
    idx += ix
    del ix
    if w is None:
        w1 = bx
        w0 = 1.0 - bx
    else:
        w1 = w * bx
        w0 = w - w1
    ty0 = 1.0 - by
    # np.add.at into one array: numpy ≥ 2 makes it as fast as bincount, without
    # allocating (and page-faulting) a full-size array per corner
    out = np.zeros((rows + 2) * width)
    np.add.at(out, idx, w0 * ty0)
    idx += 1
    np.add.at(out, idx, w1 * ty0)
    idx += width
    np.add.at(out, idx, w1 * by)
    idx -= 1
    np.add.at(out, idx, w0 * by)
    return out.reshape(rows + 2, width)[1:-1, 1:-1]


def _margins(f: np.ndarray, n: int, r: int) -> tuple[int, int]:
    """Cells to add before and after an axis of ``n`` cells so that events within the
    kernel radius ``r`` of the grid are binned."""
    if f.size == 0:
        return 0, 0
    before = int(np.clip(math.ceil(-float(f.min())), 0, r + 1))
    after = int(np.clip(math.ceil(float(f.max()) - (n - 1)), 0, r + 1))
    return before, after


_Spec = tuple[np.ndarray | None, np.ndarray, int, tuple[int, int, int, int]]
_Plans = dict[tuple[int, int, int, int, int, int], list[tuple[np.ndarray | None, np.ndarray]]]


def _fft_lengths(my: int, mx: int, r: int) -> tuple[int, int]:
    """FFT lengths that make circular convolution linear over an ``my`` × ``mx`` frame.

    An axis of ``m`` binned cells and kernel radius ``r`` needs ``m + min(r, m - 1)``
    points: offsets beyond ``m - 1`` never occur, so the kernel is cut there.
    """
    ly = scipy.fft.next_fast_len(my + min(r, my - 1))
    lx = scipy.fft.next_fast_len(mx + min(r, mx - 1), real=True)
    return ly, lx


def _plan(specs: list[_Spec], shape: tuple[int, int]) -> _Plans:
    """Group kernels into FFT plans: each its own frame, or one frame for all.

    Each spec is (selection, kernel, radius, (top, bottom, left, right) margins). Own
    frames cost one forward FFT per kernel plus one inverse per distinct frame; one
    common frame (the widest margins and FFT size) costs one forward FFT per kernel and
    a single inverse, but at the largest size. The cheaper, by FFT area, is used.
    """
    rows, cols = shape
    own: _Plans = {}
    for sel, k, r, (top, bottom, left, right) in specs:
        ly, lx = _fft_lengths(rows + top + bottom, cols + left + right, r)
        own.setdefault((top, bottom, left, right, ly, lx), []).append((sel, k))
    if len(own) <= 1:
        return own
    margins = tuple(max(m[i] for *_, m in specs) for i in range(4))
    my, mx = rows + margins[0] + margins[1], cols + margins[2] + margins[3]
    ly = max(_fft_lengths(my, mx, r)[0] for _, _, r, _ in specs)
    lx = max(_fft_lengths(my, mx, r)[1] for _, _, r, _ in specs)
    cost_own = sum((len(m) + 1) * key[4] * key[5] for key, m in own.items())
    cost_common = (len(specs) + 1) * ly * lx
    if cost_common < cost_own:
        return {(*margins, ly, lx): [(sel, k) for sel, k, _, _ in specs]}
    return own


def _convolve_groups(
    fx: np.ndarray,
    fy: np.ndarray,
    w: np.ndarray | None,
    group: np.ndarray | None,
    sigmas_cells: np.ndarray,
    shape: tuple[int, int],
    *,
    scale: float,
    all_inside: bool,
) -> np.ndarray:
    """``scale`` × the sum over groups of (binned weights ⊛ the group's Gaussian).

    ``group`` gives each event's index into ``sigmas_cells`` (``None``: one group).
    Groups sharing a binned frame and FFT size (see :func:`_plan`) share one inverse
    FFT: their spectra are summed first.
    """
    rows, cols = shape
    specs: list[tuple[np.ndarray | None, np.ndarray, int, tuple[int, int, int, int]]] = []
    for g, s in enumerate(sigmas_cells):
        k = _kernel_1d(float(s))
        r = (k.size - 1) // 2
        sel = None if group is None else np.flatnonzero(group == g)
        gx = fx if sel is None else fx[sel]
        gy = fy if sel is None else fy[sel]
        if not all_inside:  # events farther out than the kernel reaches are skipped
            near = (gx > -r - 1) & (gx < cols + r) & (gy > -r - 1) & (gy < rows + r)
            if not near.all():
                sel = np.flatnonzero(near) if sel is None else sel[near]
                gx, gy = gx[near], gy[near]
        if gx.size:
            specs.append((sel, k, r, (*_margins(gy, rows, r), *_margins(gx, cols, r))))
    plans = _plan(specs, shape)

    out: np.ndarray | None = None
    for (top, bottom, left, right, ly, lx), members in plans.items():
        my, mx = rows + top + bottom, cols + left + right
        spec_sum: np.ndarray | None = None
        for sel, k in members:
            gx = fx if sel is None else fx[sel]
            gy = fy if sel is None else fy[sel]
            gw = w if (sel is None or w is None) else w[sel]
            binned = _bin_linear(gx, gy, gw, (my, mx), left, top)
            spec = scipy.fft.rfft2(binned, s=(ly, lx), workers=_WORKERS)
            del binned
            spec *= (scale * _kernel_spectrum(k, ly, my - 1, real=False))[:, None]
            spec *= _kernel_spectrum(k, lx, mx - 1, real=True)[None, :]
            if spec_sum is None:
                spec_sum = spec
            else:
                spec_sum += spec
        assert spec_sum is not None
        full = scipy.fft.irfft2(spec_sum, s=(ly, lx), workers=_WORKERS, overwrite_x=True)
        del spec_sum
        part = full[top : top + rows, left : left + cols]
        if out is None:
            out = np.ascontiguousarray(part)
        else:
            out += part
    if out is None:
        return np.zeros(shape)
    np.maximum(out, 0.0, out=out)  # FFT rounding leaves tiny negatives far from events
    return out


# --------------------------------------------------------------------------------------
# The public estimator


def _as_optional(name: str, values: ArrayLike | None, n: int) -> np.ndarray | None:
    if values is None:
        return None
    a = np.asarray(values, dtype=float)
    if a.ndim == 0:
        return np.full(n, float(a))
    a = a.ravel()
    if a.size != n:
        raise AnalysisError(f"{name} must have one value per event ({n}), got {a.size}")
    return a


def kde(
    x: Points,
    y: ArrayLike | None = None,
    *,
    cell_size: float,
    bandwidth: float | str,
    bounds: Bounds | None = None,
    weights: ArrayLike | str | None = None,
    uncertainty: ArrayLike | str | None = None,
    mask: ArrayLike | object | None = None,
    crs: object | None = None,
) -> Grid:
    """Gaussian kernel density of events on a north-up grid, in events per km².

    Parameters
    ----------
    x, y
        Event coordinates in EPSG:3006, metres; or the events as ``x`` alone: a
        GeoSeries or GeoDataFrame of points in any CRS (reprojected to EPSG:3006) or a
        frame with ``x`` and ``y`` columns (see
        :func:`~trygghetskarta.analysis.points.as_xy`). Events with a non-finite
        coordinate or no geometry are left out and counted in ``params["n_left_out"]``.
        Degrees with no CRS are refused.
    cell_size
        Cell width and height, metres.
    bandwidth
        The kernel's standard deviation in metres, or a rule: ``"scott"``
        (:func:`bandwidth_scott`), ``"silverman"`` (:func:`bandwidth_silverman`) or
        ``"cv"`` (:func:`bandwidth_cv` over 12 candidates from the cell size to twice
        Scott's bandwidth). Rules ignore ``weights`` and ``uncertainty``.
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the grid, metres, snapped outward to multiples of
        ``cell_size``. Default: the events' extent plus 3 × bandwidth on every side
        (the bandwidth, not the widened sigma of uncertain events, so part of their mass
        may fall outside). Required when there are no events (the result is then all
        zeros).
    weights
        Non-negative weight per event (default 1): a weight of 2 counts as two events;
        or the name of a column of the events frame.
    uncertainty
        Radius in metres within which each event's position is known (a scalar or one
        per event, e.g. ``uncertainty_m`` from the events table). Each event's kernel is
        widened to sigma² = h² + u² (``u`` rounded to :data:`UNCERTAINTY_STEP_M` when there
        are more than :data:`MAX_EXACT_GROUPS` distinct values).
        Events with a NaN uncertainty (position unknown) are left out and counted.
        Or the name of a column of the events frame (``"uncertainty_m"``).
    mask
        The area analysed: a district's polygon (a shapely geometry in EPSG:3006, or a
        GeoSeries/GeoDataFrame in any CRS), whose bounding box then is the default
        ``bounds``; or a boolean array of the grid's shape, True inside the area (build
        it for the grid of :func:`grid_from_bounds` with the same ``bounds`` and
        ``cell_size``). Cells whose centre lies outside are set to NaN (nodata in a
        GeoTIFF), not 0, so that a map does not show a false "no events here".
    crs
        The CRS of x and y when they are not EPSG:3006 (e.g. ``"EPSG:4326"``).

    Returns
    -------
    Grid
        Events per km² at the cell centres; ``values.sum() × cell area in km²`` is the
        (weighted) number of events within the grid. ``params`` records
        ``bandwidth_m``, ``bandwidth_rule``, ``cell_size_m``, ``n_events``,
        ``n_left_out`` (and why), ``n_outside_bounds``, ``kernel``, ``method``,
        ``truncate_sigma`` and, with uncertainty, the number of kernel groups.

    Raises
    ------
    AnalysisError
        No events and no bounds; a rule on fewer than two distinct positions; arguments
        of the wrong length, sign or shape; a grid over the size limit.
    CRSError
        Coordinates with no CRS that look like longitude/latitude degrees.

    Warns
    -----
    DensityWarning
        When the bandwidth is smaller than the cell size.

    Examples
    --------
    >>> box = (672_000, 6_578_000, 676_000, 6_582_000)
    >>> g = kde([674_000.0], [6_580_000.0], cell_size=50, bandwidth=300, bounds=box)
    >>> g.shape, round(float(g.values.sum()) * (50 / 1000) ** 2, 6)
    ((80, 80), 1.0)

    A GeoDataFrame in longitude/latitude is reprojected; column names pick per-event
    values:

    >>> import geopandas as gpd
    >>> events = gpd.GeoDataFrame(
    ...     {"uncertainty_m": [25.0, 250.0]},
    ...     geometry=gpd.points_from_xy([18.0686, 18.0710], [59.3293, 59.3300]),
    ...     crs="EPSG:4326",
    ... )
    >>> g = kde(events, cell_size=50, bandwidth=200, uncertainty="uncertainty_m")
    >>> g.crs, int(g.params["n_events"]), round(float(g.values.sum()) * 0.05**2, 2)
    ('EPSG:3006', 2, 1.93)
    """
    cell = _check_cell_size(cell_size)
    xa, ya = as_xy(x, y, crs=crs)
    n_in = xa.size
    w = _as_optional("weights", event_values(x, weights, "weights"), n_in)
    u = _as_optional("uncertainty", event_values(x, uncertainty, "uncertainty"), n_in)
    if w is not None and (not np.all(np.isfinite(w)) or np.any(w < 0)):
        raise AnalysisError(
            "weights must be finite and non-negative, got "
            f"{int(np.sum(~np.isfinite(w)))} non-finite and {int(np.sum(w < 0))} negative"
        )
    if u is not None and np.any(u < 0):
        raise AnalysisError(
            f"uncertainty must be a non-negative radius in metres, got {int(np.sum(u < 0))} "
            "negative values"
        )
    has_xy = np.isfinite(xa) & np.isfinite(ya)
    has_u = np.isfinite(u) if u is not None else np.ones(n_in, dtype=bool)
    keep = has_xy & has_u
    n_no_xy = int(n_in - has_xy.sum())
    n_no_u = int((has_xy & ~has_u).sum())
    if not keep.all():
        xa, ya = xa[keep], ya[keep]
        w = None if w is None else w[keep]
        u = None if u is None else u[keep]
    n = xa.size

    h, rule, extra = _resolve_bandwidth(bandwidth, xa, ya, cell)
    if math.isfinite(h) and h < cell:
        warnings.warn(
            f"the bandwidth ({h:g} m) is smaller than the cell size ({cell:g} m), so the "
            "map shows the grid more than the kernel — use a cell size of at most "
            f"{h / 2:g} m or a larger bandwidth",
            DensityWarning,
            stacklevel=2,
        )
    area = as_area(mask)
    if area is not None and bounds is None:
        bounds = area_bounds(area)
    if bounds is None:
        if n == 0:
            raise AnalysisError(
                f"no events with a position to estimate a density from ({n_in} given, "
                f"{n_in - n} without coordinates or uncertainty) — pass bounds= to get an "
                "all-zero grid"
            )
        pad = 3 * h
        bounds = (xa.min() - pad, ya.min() - pad, xa.max() + pad, ya.max() + pad)
    transform, shape = grid_from_bounds(bounds, cell)
    rows, cols = shape

    mask_arr: np.ndarray | None = None
    if area is not None:
        mask_arr = area_mask(area, transform, shape)
    elif mask is not None:
        mask_arr = np.asarray(mask)
        if mask_arr.shape != shape:
            raise AnalysisError(
                f"mask must have the grid's shape {shape} (rows, cols), got "
                f"{mask_arr.shape} — build it for grid_from_bounds(bounds, cell_size)"
            )
        if mask_arr.dtype != bool:
            if not np.isin(mask_arr, (0, 1)).all():
                raise AnalysisError("mask must be boolean (True inside the area analysed)")
            mask_arr = mask_arr.astype(bool)

    # Fractional cell indices: column from the west, row from the north, 0 at a centre.
    fx = (xa - transform.c) / cell - 0.5
    fy = (transform.f - ya) / cell - 0.5
    all_inside = n == 0 or (
        fx.min() >= -0.5 and fx.max() <= cols - 0.5 and fy.min() >= -0.5 and fy.max() <= rows - 0.5
    )
    n_outside = 0
    if not all_inside:
        outside = (fx < -0.5) | (fx > cols - 0.5) | (fy < -0.5) | (fy > rows - 0.5)
        n_outside = int(outside.sum())

    params: dict[str, str | float] = {
        "bandwidth_m": float(h),
        "bandwidth_rule": rule,
        "cell_size_m": cell,
        "n_events": n,
        "n_left_out": n_in - n,
        "n_left_out_no_coordinates": n_no_xy,
        "n_left_out_no_uncertainty": n_no_u,
        "n_outside_bounds": n_outside,
        "kernel": "gaussian",
        "method": "linear binning + FFT",
        "binning_correction": "kernel variance less cell²/6",
        "truncate_sigma": TRUNCATE,
        **extra,
    }
    if w is not None:
        params["weight_total"] = float(w.sum())

    if n == 0:
        values = np.zeros(shape)
    else:
        group: np.ndarray | None = None
        if u is None:
            sigmas = np.array([h])
        else:
            levels, group = np.unique(u, return_inverse=True)
            step = 0.0
            if levels.size > MAX_EXACT_GROUPS:
                step = UNCERTAINTY_STEP_M
                u_round = np.floor(u / step + 0.5) * step
                levels, group = np.unique(u_round, return_inverse=True)
            sigmas = np.sqrt(h * h + levels * levels)
            params["uncertainty_rounding_m"] = step
            params["uncertainty_groups"] = int(levels.size)
            params["uncertainty_max_m"] = float(levels.max())
        values = _convolve_groups(
            fx,
            fy,
            w,
            group,
            sigmas / cell,
            shape,
            scale=M2_PER_KM2 / (cell * cell),
            all_inside=bool(all_inside),
        )
    if mask_arr is not None:
        values[~mask_arr] = np.nan
        params["mask"] = "cells outside the mask are NaN"
        params["n_cells_masked"] = int((~mask_arr).sum())
    return Grid(values=values, transform=transform, params=params, units=UNITS)
