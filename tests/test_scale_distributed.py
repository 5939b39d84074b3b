"""The same pipeline on a Dask distributed cluster gives the same outputs as the local scheduler.

A tiny study (the demo's synthetic layers over two 20 × 39 km counties, ~400 × 390 px) runs
once on the threaded scheduler and once through ``geotool run --scheduler ADDRESS`` on a
``distributed.LocalCluster`` of 2 worker processes started by the test: every raster output
must be identical pixel for pixel and every table equal.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from geotool.cli import main
from geotool.demo import build_demo
from geotool.errors import ConfigError
from geotool.grid import Grid
from geotool.io.outputs import write_cog
from geotool.io.rasterize import build_index
from geotool.scheduler import SchedulerSpec, current_client, use_scheduler
from geotool.suitability import load_profile

distributed = pytest.importorskip("distributed")

PROFILES = ("solarfarm",)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    # two counties near Shaoguan (WGS 84): ~40 × 39 km in all
    west = shapely.box(113.40, 24.70, 113.60, 25.05)
    east = shapely.box(113.60, 24.70, 113.80, 25.05)
    regions = gpd.GeoDataFrame({"name": ["West", "East"]}, geometry=[west, east], crs=4326)
    region_file = folder / "counties.geojson"
    regions.to_file(region_file, driver="GeoJSON")
    return build_demo(folder / "inputs", region_file=region_file)


def _run(study, out, *extra):
    args = ["run", str(study), "--out", str(out), "--no-map", "--no-carbon", "--quiet"]
    for p in PROFILES:
        args += ["--profile", p]
    main([*args, *extra])
    return out


def test_cluster_outputs_equal_local_outputs(tmp_path, tiny_study, cluster):
    local = _run(tiny_study, tmp_path / "local")
    remote = _run(tiny_study, tmp_path / "cluster", "--scheduler", cluster.scheduler_address)

    rasters = sorted(p.name for p in local.glob("*.tif"))
    assert {f"score_{p}.tif" for p in PROFILES} <= set(rasters)
    assert rasters == sorted(p.name for p in remote.glob("*.tif"))
    for name in rasters:
        with rasterio.open(local / name) as a, rasterio.open(remote / name) as b:
            assert a.profile["crs"] == b.profile["crs"]
            assert a.transform == b.transform
            x, y = a.read(1), b.read(1)
        assert np.array_equal(x, y, equal_nan=True), name
    for p in PROFILES:
        sa = gpd.read_file(local / f"sites_{p}.gpkg")
        sb = gpd.read_file(remote / f"sites_{p}.gpkg")
        pd.testing.assert_frame_equal(sa.drop(columns="geometry"), sb.drop(columns="geometry"))
        assert sa.geometry.geom_equals(sb.geometry).all()
        ra = pd.read_csv(local / f"regions_{p}.csv")
        pd.testing.assert_frame_equal(ra, pd.read_csv(remote / f"regions_{p}.csv"))
    manifest = json.loads((remote / "manifest.json").read_text())
    assert manifest["options"]["scheduler"].startswith("dask distributed scheduler at tcp://")
    assert json.loads((local / "manifest.json").read_text())["options"]["scheduler"] == (
        "local threaded scheduler"
    )


def test_blocks_are_computed_on_workers_and_written_by_the_client(tmp_path, cluster):
    import dask.array as da

    grid = Grid.from_bounds((0, 0, 11_000, 7_000), 10, "EPSG:32649")  # 700 × 1100 px
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    expected = (rows * 1000 + cols).astype("float32")
    lazy = da.from_array(expected, chunks=(256, 512)) + da.zeros(grid.shape, chunks=(256, 512))
    spec = SchedulerSpec(address=cluster.scheduler_address)
    with use_scheduler(spec) as client:
        assert current_client() is client
        workers = set(client.scheduler_info()["workers"])
        with distributed.get_task_stream(client) as stream:
            path = write_cog(lazy, tmp_path / "blocks.tif", grid)
    assert current_client() is None
    ran = [t for t in stream.data if "block_tuple" in str(t["key"])]
    assert len(ran) == 3 * 3  # one task per output block position (3 row × 3 column chunks)
    assert {t["worker"] for t in ran} <= workers
    with rasterio.open(path) as ds:
        assert ds.overviews(1)  # a real COG
        assert np.array_equal(ds.read(1), expected)


def test_command_line_overrides_the_study_file(tiny_study):
    from geotool.pipeline import scheduler_spec
    from geotool.runner import RunOptions
    from geotool.study import load_study

    study = load_study(tiny_study)
    assert scheduler_spec(study, RunOptions()) == SchedulerSpec()
    remote = replace(study, scheduler="tcp://10.0.0.1:8786")
    assert scheduler_spec(remote, RunOptions()).address == "tcp://10.0.0.1:8786"
    assert scheduler_spec(remote, RunOptions(workers=2)) == SchedulerSpec(workers=2)
    with pytest.raises(ConfigError, match="not both"):
        scheduler_spec(study, RunOptions(workers=2, scheduler="tcp://127.0.0.1:8786"))


def test_threaded_is_the_default():
    with use_scheduler(SchedulerSpec()) as client:
        assert client is None and current_client() is None
    assert SchedulerSpec().describe() == "local threaded scheduler"
    assert not SchedulerSpec().distributed and SchedulerSpec(workers=2).distributed


def test_bad_scheduler_options_are_config_errors(monkeypatch):
    with pytest.raises(ConfigError, match="not both"):
        SchedulerSpec(address="tcp://127.0.0.1:8786", workers=2)
    with pytest.raises(ConfigError, match="at least 1"):
        SchedulerSpec(workers=0)
    import geotool.scheduler as sched

    monkeypatch.setattr(sched, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):  # noqa: SIM117
        with use_scheduler(SchedulerSpec(address="tcp://127.0.0.1:9")):
            pass


def test_unreachable_scheduler_exits_2(tmp_path, tiny_study, monkeypatch, capsys):
    import geotool.scheduler as sched

    monkeypatch.setattr(sched, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(SystemExit) as exit_info:
        args = ["run", str(tiny_study), "--out", str(tmp_path / "x")]
        main([*args, "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_what_workers_receive_pickles(tmp_path):
    # distributed serialises task arguments with cloudpickle
    from distributed.protocol.pickle import dumps, loads

    grid = Grid.from_bounds((0, 0, 5000, 5000), 100, "EPSG:32649")
    gdf = gpd.GeoDataFrame(
        geometry=[shapely.box(1000, 1000, 2000, 3000), shapely.LineString([(0, 0), (4e3, 4e3)])],
        crs=32649,
    )
    index = loads(dumps(build_index(gdf, grid)))
    assert list(index.poly_tree.query(shapely.box(0, 0, 1500, 1500))) == [0]
    assert loads(dumps(grid)) == grid
    profile = load_profile("windfarm")
    assert loads(dumps(profile)).weights == profile.weights
    err = pickle.loads(pickle.dumps(ConfigError("bad", where="w", fix="f")))
    assert isinstance(err, ConfigError) and str(err) == "w: bad — f"
