"""pandas vs Dask for the split stage on the synthetic breast-cancer variant, at several sizes.

    .venv/bin/python scripts/bench_dask.py                      # 100k, 1M, 2M rows (about 10 min on 2 cores)
    .venv/bin/python scripts/bench_dask.py --sizes 50000 200000 --partitions 8

For each size it generates `raw.csv` (pipelines/data/synthetic.py, seeded; written under
`.aip/bench-dask/`, git-ignored, deleted afterwards unless --keep), then times the split stage both ways
from that file: pandas (read, `split_frame`, three `write_csv`) and Dask on a LocalCluster of 2 worker
processes (read in partitions, sort, count, write), checks the three files are byte-identical, and
prints the wall times and their ratio. The cluster is started once, before the timings, and its
start-up is printed separately: a DVC stage pays it once per run.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from pipelines.config import SplitConfig, load_dataset
    from pipelines.config.dataset import DaskConfig
    from pipelines.data import dask_engine
    from pipelines.data._csv import read_csv, write_csv
    from pipelines.data.split import split_frame
    from pipelines.data.synthetic import breast_cancer_rows

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 2_000_000])
    parser.add_argument("--partitions", type=int, default=16, help="Dask partitions (default 16)")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSVs under .aip/bench-dask")
    args = parser.parse_args(argv)

    work = ROOT / ".aip" / "bench-dask"
    work.mkdir(parents=True, exist_ok=True)
    base = load_dataset(ROOT / "datasets/breast-cancer/dataset.yaml")
    cfg = base.model_copy(
        update={"engine": "dask", "split": SplitConfig(), "dask": DaskConfig(partitions=args.partitions)}
    )
    rows_out: list[tuple[int, float, float, float, bool]] = []
    started = time.perf_counter()
    with dask_engine.dask_client("bench", None, 600) as client:
        startup = time.perf_counter() - started
        print(f"LocalCluster (2 worker processes) started in {startup:.1f} s", flush=True)
        for size in args.sizes:
            folder = work / str(size)
            t = time.perf_counter()
            raw = write_csv(breast_cancer_rows(size, seed=0), folder / "raw.csv")
            mb = raw.stat().st_size / 1e6
            print(f"{size:>9,} rows: generated {mb:.0f} MB in {time.perf_counter() - t:.1f} s", flush=True)

            t = time.perf_counter()
            parts = split_frame(read_csv(raw, string_columns=("label",)), cfg.split, "label")
            for name, part in parts.items():
                write_csv(part, folder / "pandas" / f"{name}.csv")
            pandas_s = time.perf_counter() - t
            del parts
            print(f"{size:>9,} rows: pandas {pandas_s:.1f} s", flush=True)

            t = time.perf_counter()
            dask_engine.split_csv(client, "bench", raw, folder / "dask", cfg, ("label",))
            dask_s = time.perf_counter() - t
            same = all(
                _md5(folder / "pandas" / f"{n}.csv") == _md5(folder / "dask" / f"{n}.csv")
                for n in ("train", "validation", "test")
            )
            print(f"{size:>9,} rows: dask {dask_s:.1f} s (identical files: {same})", flush=True)
            rows_out.append((size, mb, pandas_s, dask_s, same))
            if not args.keep:
                shutil.rmtree(folder)

    print("\n| rows | raw.csv MB | pandas s | dask s | pandas/dask | identical |")
    print("|---:|---:|---:|---:|---:|:---:|")
    for size, mb, pandas_s, dask_s, same in rows_out:
        print(f"| {size:,} | {mb:.0f} | {pandas_s:.1f} | {dask_s:.1f} | {pandas_s / dask_s:.2f} | {same} |")
    return 0 if all(r[4] for r in rows_out) else 1


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
