"""Peak memory of importing a highly compressible BEIR zip (issue 15 item 5: a 147 KB zip unpacking to
144 MB used to peak at 1.0 GB RSS, ~7x). Each import runs in a fresh process (``python -m core datasets
import``) so its peak RSS is its own; the baseline is the same process importing nothing but a tiny dataset
(the interpreter, pandas, pyarrow): the difference is what the import itself held.

    flock /tmp/esl-heavy.lock nice -n 5 python bench/import_memory.py [--mb 144] [--out bench/results/import_memory.txt]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _write_zip(folder: Path, unpacked_mb: int) -> Path:
    """A BEIR zip whose corpus is ``unpacked_mb`` MB of repetitive documents (it compresses ~1000x)."""
    doc = "the quick brown fox jumps over the lazy dog " * 20
    line = json.dumps({"_id": "d{}", "title": "", "text": doc})
    per_line = len(line) + 8
    n = unpacked_mb * 2**20 // per_line
    path = folder / f"bomb-{unpacked_mb}mb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("corpus.jsonl", "w") as fh:
            for i in range(n):
                fh.write((json.dumps({"_id": f"d{i}", "title": "", "text": doc}) + "\n").encode())
        zf.writestr("queries.jsonl", json.dumps({"_id": "q1", "text": "quick fox"}) + "\n")
        zf.writestr("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td0\t1\n")
    return path


def _peak_mb(args: list[str], home: Path) -> tuple[float, float, int]:
    """Peak RSS (MB) of a fresh ``python -m core`` process, its wall time, and its exit code."""
    env = {**os.environ, "ESL_HOME": str(home), "ESL_MAX_FILE_MB": "4096"}
    start = time.perf_counter()
    code = subprocess.call(
        [sys.executable, "-c", _CHILD, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, wall, code


# runs the CLI and prints nothing; ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so the
# smallest run goes first
_CHILD = "import sys; from core.cli import main; sys.exit(main(sys.argv[1:]))"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=144, help="unpacked size of the corpus (MB)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        tiny = _write_zip(tmp_path, 1)
        big = _write_zip(tmp_path, args.mb)
        base, _, code0 = _peak_mb(["datasets", "import", str(tiny), "--name", "tiny"], tmp_path / "h0")
        peak, wall, code = _peak_mb(["datasets", "import", str(big), "--name", "big"], tmp_path / "h1")
        zipped = big.stat().st_size / 2**20
        held = peak - base
        lines.append(
            f"zip {zipped * 1024:,.0f} KB unpacking to {args.mb} MB: peak RSS {peak:,.0f} MB against "
            f"{base:,.0f} MB importing a 1 MB zip (exit codes {code0}, {code})"
        )
        lines.append(
            f"held by the import: {held:,.0f} MB = {held / args.mb:.2f}x the unpacked size "
            f"(was ~7x: 1.0 GB for 144 MB); import {wall:.1f} s ({args.mb / wall:.0f} MB/s)"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
