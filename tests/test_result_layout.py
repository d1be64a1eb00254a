"""Self-describing results (docs/RESULTS.md): a sweep written by ``khusheh-run`` reads as one tidy table with
pandas, pyarrow, DuckDB and polars, without parsing paths; markers never break reading it; every Parquet
field carries its unit."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from scenarios import results

CLI = str(Path(sys.executable).parent / "khusheh-run")
KEYS = ["cluster_preset", "policy", "shock", "seed", "cluster.n_firms", "policy.start_month", "sim.months"]
ORDER = ["policy", "seed", "month"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("layout")
    out = root / "sweep"
    proc = subprocess.run([CLI, "-m", "policy=none,standard_cda", "sim.seeds=2", "sim.months=6", "cluster.n_firms=30",
                           "policy.start_month=2", "sim.snapshot_months=[3]", f"hydra.sweep.dir={out}"],
                          cwd=root, capture_output=True, text=True, timeout=900, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    return out


def _files(sweep: Path, table: str) -> list[str]:
    return sorted(glob.glob(f"{sweep}/**/{table}.parquet", recursive=True))


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(ORDER, kind="stable", ignore_index=True)


# ------------------------------------------------------------------------------------------------ units
def test_every_field_of_every_file_carries_its_label_unit_and_role(sweep):
    schema = pq.read_schema(_files(sweep, "series")[0])
    meta = {f.name: {k.decode(): v.decode() for k, v in f.metadata.items()} for f in schema}
    assert meta["employment"] == {"label": "Employment", "unit": "workers", "role": "data"}
    assert meta["output"]["unit"] == "wage-months per month"
    assert meta["mean_trust"]["unit"] == "0-1"
    assert meta["seed"] == {"label": "Seed", "unit": "integer", "role": "identity"}
    assert meta["policy"]["role"] == "identity" and meta["policy"]["unit"] == "name"
    assert meta["cluster.n_firms"] == {"label": "cluster.n_firms", "unit": results.OVERRIDE_UNIT, "role": "identity"}
    summary = {f.name: f.metadata for f in pq.read_schema(_files(sweep, "summary")[0])}
    assert summary["employment_horizon"][b"unit"] == b"workers"
    assert summary["employment_cda_end"][b"label"] == b"Employment at the CDA's end"
    assert summary["budget"][b"unit"] == b"wage-months"
    firms = {f.name: f.metadata for f in pq.read_schema(glob.glob(f"{sweep}/**/snapshots/firms_3.parquet",
                                                                  recursive=True)[0])}
    assert firms["employees"][b"unit"] == b"workers" and firms["cluster"][b"unit"] == b"index of the member cluster"
    # every column of every file the sweep wrote has a unit, from the one table of its kind: only the
    # overridden keys' columns fall back to "the parameter's"
    paths = glob.glob(f"{sweep}/**/*.parquet", recursive=True)
    assert {Path(p).name for p in paths} >= {"series.parquet", "cluster_series.parquet", "demography.parquet",
                                             "summary.parquet", "firms_3.parquet", "ties_3.parquet",
                                             "places_3.parquet"}
    for path in paths:
        for field in pq.read_schema(path):
            assert field.metadata and {b"label", b"unit", b"role"} <= set(field.metadata), (path, field.name)
            if field.metadata[b"unit"] == results.OVERRIDE_UNIT.encode():
                assert field.name in ("cluster.n_firms", "policy.start_month", "sim.months"), (path, field.name)


def test_pandas_still_reads_back_its_dtypes(sweep, tmp_path):
    path = _files(sweep, "demography")[0]
    assert pq.read_schema(path).pandas_metadata is not None
    frame = pd.read_parquet(path)
    assert frame["seed"].dtype == "int64" and frame["month"].dtype == "int64"
    again = tmp_path / "again.parquet"
    results.write_parquet(again, frame, results.field_metadata(frame, "demography", results.IDENTITY))
    pd.testing.assert_frame_equal(pd.read_parquet(again), frame)


# ------------------------------------------------------------------------------------- one glob, one table
def test_pandas_duckdb_and_polars_read_a_sweep_into_the_same_tidy_table(sweep):
    files = _files(sweep, "series")
    assert len(files) == 4
    by_pandas = _tidy(pd.read_parquet(files))
    by_duckdb = _tidy(duckdb.sql(f"SELECT * FROM read_parquet('{sweep}/**/series.parquet')").df())
    by_polars = _tidy(pl.scan_parquet(f"{sweep}/**/series.parquet").collect().to_pandas())
    assert list(by_pandas.columns[:len(KEYS)]) == KEYS
    assert len(by_pandas) == 2 * 2 * 7  # policies x seeds x months 0..6
    assert set(map(tuple, by_pandas[["policy", "seed"]].drop_duplicates().values)) == {
        ("none", 0), ("none", 1), ("standard_cda", 0), ("standard_cda", 1)}
    assert (by_pandas["cluster.n_firms"] == 30).all() and (by_pandas["sim.months"] == 6).all()
    assert (by_pandas["cluster_preset"] == "generic").all() and (by_pandas["shock"] == "none").all()
    for other in (by_duckdb, by_polars):
        assert list(other.columns) == list(by_pandas.columns)
        pd.testing.assert_frame_equal(other, by_pandas, check_dtype=False)
    assert by_duckdb["seed"].dtype == "int64" and by_duckdb["employment"].dtype == "int64"


def test_the_duckdb_line_of_the_docs_runs_as_written(sweep):
    rows = duckdb.sql(f"""SELECT policy, seed, month, employment FROM read_parquet('{sweep}/**/series.parquet')
                          WHERE "cluster.n_firms" = 30 ORDER BY policy, seed, month""").fetchall()
    assert len(rows) == 28 and rows[0][:3] == ("none", 0, 0)


@pytest.mark.parametrize("hive", ["auto", "true", "false"])
def test_duckdb_finds_no_hive_partitions_in_the_folder_names(sweep, hive):
    # folders such as 'cluster.n_firms-30,policy-none,...' hold no '=': DuckDB adds no partition column,
    # whether it detects partitions (the default) or is told to read them
    option = "" if hive == "auto" else f", hive_partitioning={hive}"
    columns = duckdb.sql(f"SELECT * FROM read_parquet('{sweep}/**/series.parquet'{option}) LIMIT 0").columns
    assert columns == pq.read_schema(_files(sweep, "series")[0]).names


def test_polars_finds_no_hive_partitions_in_the_folder_names(sweep):
    names = pl.scan_parquet(f"{sweep}/**/series.parquet", hive_partitioning=True).collect_schema().names()
    assert names == pq.read_schema(_files(sweep, "series")[0]).names


# --------------------------------------------------------------------------------------------- markers
def test_markers_and_leftovers_never_break_reading_a_sweep(sweep, tmp_path):
    import shutil
    copy = tmp_path / "sweep"
    shutil.copytree(sweep, copy)
    run = Path(_files(copy, "series")[0]).parent
    # what an interrupted write leaves, and a marker that could pass for a table
    (run / ".tmp-0123456789ab-series.parquet").write_bytes(b"PAR1 half")
    (run / "_FAILED").write_text("an error\n")
    for name in ("_DONE", "_config.yaml", "_provenance.json"):
        assert (run / name).is_file()
    assert (copy / "_multirun.yaml").is_file() and (run.parent / ".hydra").is_dir()
    assert (run.parent / "_khusheh.log").is_file()
    expected = _tidy(pd.read_parquet(_files(sweep, "series")))
    # one glob per table: markers and '.tmp-*' leftovers have other names
    pd.testing.assert_frame_equal(_tidy(pd.read_parquet(_files(copy, "series"))), expected)
    by_duckdb = duckdb.sql(f"SELECT * FROM read_parquet('{copy}/**/series.parquet')").df()
    pd.testing.assert_frame_equal(_tidy(by_duckdb), expected, check_dtype=False)
    by_polars = pl.scan_parquet(f"{copy}/**/series.parquet").collect().to_pandas()
    pd.testing.assert_frame_equal(_tidy(by_polars), expected, check_dtype=False)
    # the folder as a dataset (pyarrow, and pandas through it): names starting with '_' or '.' are skipped,
    # so the dataset's files are the runs' tables and nothing else (one table: its files, by name)
    dataset = ds.dataset(copy, format="parquet")
    assert {Path(f).name for f in dataset.files} == {"series.parquet", "cluster_series.parquet",
                                                     "demography.parquet", "summary.parquet",
                                                     "firms_3.parquet", "ties_3.parquet", "places_3.parquet"}
    series = ds.dataset([f for f in dataset.files if f.endswith("/series.parquet")])
    pd.testing.assert_frame_equal(_tidy(series.to_table().to_pandas()), expected)
    table = ds.dataset(sorted(copy.glob("**/series.parquet"))).to_table()  # the docs' pyarrow line
    pd.testing.assert_frame_equal(_tidy(table.to_pandas()), expected)
    # the traps the docs name: a whole folder reads, but mixes the tables (the first file's columns) ...
    mixed = pd.read_parquet(copy)
    assert len(mixed) > len(expected) and list(mixed.columns) == pq.read_schema(dataset.files[0]).names
    # ... polars refuses a folder that holds other files ...
    with pytest.raises(pl.exceptions.InvalidOperationError):
        pl.scan_parquet(copy).collect()
    # ... and a glob of every Parquet file matches a '.tmp-*' leftover too (DuckDB's glob skips no hidden name)
    with pytest.raises(duckdb.InvalidInputException, match="tmp-0123456789ab-series.parquet"):
        duckdb.sql(f"SELECT * FROM read_parquet('{copy}/**/*.parquet', union_by_name=true)").fetchall()


def test_a_glob_of_every_parquet_file_needs_a_filter_by_name(sweep):
    # '**/*.parquet' matches every table: DuckDB refuses their different columns ...
    with pytest.raises(duckdb.InvalidInputException, match="schema mismatch"):
        duckdb.sql(f"SELECT * FROM read_parquet('{sweep}/**/*.parquet')").fetchall()
    # ... or, told to unite them by name, reads them all: keep one table by its file name (the docs' line)
    frame = duckdb.sql(f"""SELECT * EXCLUDE (filename) FROM read_parquet('{sweep}/**/*.parquet', filename=true,
                           union_by_name=true) WHERE parse_filename(filename) = 'series.parquet'""").df()
    expected = _tidy(pd.read_parquet(_files(sweep, "series")))
    frame = _tidy(frame[list(expected.columns)])
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
