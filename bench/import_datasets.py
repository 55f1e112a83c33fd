"""Import speed: the validating loader against a bare pandas read of the same files (the baseline).

Prints, per shared dataset, the seconds of each and their ratio (loader / baseline), measured in this run.
Run: ``python bench/import_datasets.py`` (ESL_DATA_DIR must point at the shared data).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data import load_path
from core.runtime import get_settings


def baseline(folder: Path) -> None:
    """Read the files with pandas and nothing else: no validation, no line numbers."""
    if (folder / "corpus.jsonl").exists():
        pd.read_json(folder / "corpus.jsonl", lines=True, dtype=False)
        pd.read_json(folder / "queries.jsonl", lines=True, dtype=False)
        for qrels in sorted((folder / "qrels").glob("*.tsv")):
            pd.read_csv(qrels, sep="\t", dtype=str)
    else:
        for table in sorted(folder.glob("*.csv")):
            pd.read_csv(table, dtype=str)


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    data_dir = get_settings().data_dir
    names = [n for n in ("scifact", "cranfield", "sst2", "banking77") if (data_dir / n).is_dir()]
    if not names:
        print(f"no shared datasets in {data_dir} (set ESL_DATA_DIR)")
        return 1
    print(f"{'dataset':<12}{'pandas s':>10}{'loader s':>10}{'ratio':>8}")
    for name in names:
        folder = data_dir / name
        base = best_of(lambda folder=folder: baseline(folder))
        ours = best_of(lambda folder=folder: load_path(folder))
        print(f"{name:<12}{base:>10.3f}{ours:>10.3f}{ours / base:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
