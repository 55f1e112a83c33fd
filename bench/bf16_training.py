"""bf16 autocast training against fp32 on this CPU, same seeds, ratios measured in the same run (issue 17):

- SetFit N=8 on SST-2 and Banking77 with the default configuration (20 iterations, pairs capped at 1,280),
  two seeds each: training time and test accuracy, fp32 vs bf16;
- contrastive fine-tuning of all-MiniLM-L6-v2 for 1 epoch on SciFact train (MNRL with one BM25 hard negative,
  the ``contrastive1`` stage of ``bench/adaptation.py``): seconds per step and test nDCG@10, fp32 vs bf16.

Do not wrap it in flock: each part takes ``/tmp/esl-heavy.lock`` itself (so other work can run between the
parts) and runs at nice 5.

    .venv/bin/python bench/bf16_training.py [--parts setfit,contrastive] [--out bench/results/bf16_training.json]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# bench/setfit.py is named like the library: drop this folder from the path so that `import setfit` finds it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ESL_HOME", "/tmp/esl-bench-bf16")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
LOCK = "/tmp/esl-heavy.lock"
PRECISIONS = ("fp32", "bf16")


@contextlib.contextmanager
def heavy_lock() -> Iterator[None]:
    with open(LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def setfit_part(dataset: str, seeds: int, data_dir: Path) -> dict:
    from core.classify import ClassifyConfig, run_classification
    from core.data import resolve_dataset
    from core.encoding import make_encoder
    from core.runtime import Workspace
    from core.training import SetFitConfig

    ws = Workspace()
    ds = resolve_dataset(ws, str(data_dir / dataset))
    encoder = make_encoder("all-MiniLM-L6-v2", ws)
    out = {}
    for precision in PRECISIONS:
        config = ClassifyConfig(
            dataset=dataset,
            methods=("setfit",),
            n_values=(8,),
            seeds=tuple(range(seeds)),
            setfit=SetFitConfig(precision=precision),
        )
        with heavy_lock():
            result = run_classification(config, ds, ws=ws, encoder=encoder)
        rows = [r for r in result.rows if r.method == "setfit"]
        info = result.setfit_info[0]
        out[precision] = {
            "accuracy": [round(r.accuracy, 4) for r in rows],
            "train_s": [round(r.train_s, 1) for r in rows],
            "pairs": info["pairs"],
            "steps": info["steps"],
            "precision_used": info.get("precision"),
        }
        print(f"[setfit {dataset}] {precision}: {out[precision]}", flush=True)
    return out


def contrastive_part(data_dir: Path) -> dict:
    spec = importlib.util.spec_from_file_location("bench_adaptation", REPO / "bench" / "adaptation.py")
    adaptation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(adaptation)
    run_stage, stage_config = adaptation.run_stage, adaptation.stage_config

    from core.data import import_dataset
    from core.runtime import Workspace

    ws = Workspace()
    if ws.get_dataset("scifact") is None:
        import_dataset(ws, data_dir / "scifact", name="scifact")
    args = argparse.Namespace(dataset="scifact", smoke=False, max_seq_length=128, base=None)
    out = {}
    for precision in PRECISIONS:
        config = stage_config("contrastive1", args, {})
        config["train"]["precision"] = precision
        config["name"] = f"bench-contrastive1-{precision}"
        with heavy_lock():
            result = run_stage(ws, f"contrastive1-{precision}", config)
        out[precision] = {
            k: result.get(k) for k in ("status", "error", "steps", "train_s", "before", "after")
        }
        print(f"[contrastive] {precision}: {out[precision]}", flush=True)
    return out


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def report(results: dict) -> str:
    lines = ["bf16 autocast vs fp32 training, same seeds, same run (ratio = fp32 time / bf16 time)"]
    for dataset in ("sst2", "banking77"):
        r = results.get(f"setfit_{dataset}")
        if not r:
            continue
        f, b = r["fp32"], r["bf16"]
        lines.append(
            f"SetFit {dataset} N=8 ({f['pairs']} pairs, {f['steps']} steps): fp32 {_mean(f['train_s']):.1f} s, "
            f"accuracy {_mean(f['accuracy']):.4f} {f['accuracy']} | bf16 {_mean(b['train_s']):.1f} s, "
            f"accuracy {_mean(b['accuracy']):.4f} {b['accuracy']} | {_mean(f['train_s']) / _mean(b['train_s']):.2f}x"
        )
    c = results.get("contrastive")
    if c and all(c[p].get("status") == "done" for p in PRECISIONS):
        f, b = c["fp32"], c["bf16"]
        fs, bs = f["train_s"] / f["steps"], b["train_s"] / b["steps"]
        lines.append(
            f"contrastive 1 epoch SciFact ({f['steps']} steps): fp32 {fs:.1f} s/step, nDCG@10 "
            f"{f['before']['ndcg@10']:.4f} → {f['after']['ndcg@10']:.4f} | bf16 {bs:.1f} s/step, nDCG@10 → "
            f"{b['after']['ndcg@10']:.4f} | {fs / bs:.2f}x per step"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="setfit,contrastive")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--data-dir", default=os.environ.get("ESL_DATA_DIR") or str(REPO.parent / "shared/data")
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "bf16_training.json"))
    args = parser.parse_args()
    os.nice(5)
    data_dir = Path(args.data_dir)
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    t0 = time.perf_counter()
    parts = args.parts.split(",")
    if "setfit" in parts:
        for dataset in ("sst2", "banking77"):
            results[f"setfit_{dataset}"] = setfit_part(dataset, args.seeds, data_dir)
            out_path.write_text(json.dumps(results, indent=1))
    if "contrastive" in parts:
        results["contrastive"] = contrastive_part(data_dir)
        out_path.write_text(json.dumps(results, indent=1))
    text = report(results)
    print(text + f"\n({time.perf_counter() - t0:.0f} s)")
    out_path.with_suffix(".txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
