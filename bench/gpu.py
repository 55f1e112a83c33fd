"""GPU check (issues 4 and 8): one short prepared script for a lent GPU machine, CPU baselines in the same run.

Sections (each result is written to ``--out``/gpu.json as soon as it is measured, so a run cut short
keeps what it did; a time budget skips the later sections instead of running past the lease):

1. ``env``: the device ``core`` picks (``detect_device``) and what each encoding backend becomes on it.
2. ``encode``: SciFact corpus passages/s on the GPU through ``core.encoding.make_encoder`` — fp32,
   the automatic fp16 (what ``torch`` means on a GPU) and bf16, with tokenize-ahead and (baseline) without
   it, batch 32 to 256 — against torch fp32 on this machine's CPU cores on a slice of the corpus; dense
   and BM25 test nDCG@10 (``--no-ndcg`` skips it).
3. ``ratio``: the same contrastive run (bench/adaptation.py's ``contrastive1`` at 256 tokens, a fixed
   number of steps, no evaluation) with ``ESL_DEVICE=cpu`` and on cuda: seconds per step and their ratio.
4. ``adapt``: bench/adaptation.py's contrastive stages on the GPU with before/after test nDCG@10: 1 and 3
   epochs at 256 tokens, and 3 epochs without the relative-margin rule.
5. ``rerank``: cross-encoder recipes started from the best contrastive model, reranking the hybrid top 50
   of all 300 test queries, against that first stage.

On the GPU machine (after ``bench/gpu_pack.py`` here, carrying ``.gpu``):
    python3 bench/gpu.py --pack .gpu --out $OUT
Here, to check the script itself on the CPU (bert-tiny, tiny settings):
    .venv/bin/python bench/gpu.py --smoke --out /tmp/esl-gpu-smoke
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import os
import shutil
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

T0 = time.perf_counter()


def elapsed() -> float:
    return time.perf_counter() - T0


def unpack(pack: Path, work: Path) -> Path:
    """Installs the packed site folder, restores the fp32 model and the data; returns the model folder."""
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "site").is_dir():
        with tarfile.open(pack / "site.tar.xz") as tar:
            tar.extractall(work, filter="data")
    sys.path.insert(0, str(work / "site"))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(work / "site"), str(REPO)])
    model = work / "all-MiniLM-L6-v2"
    if not (model / "model.safetensors").exists():
        from safetensors.torch import load_file, save_file

        shutil.copytree(pack / "model", model, dirs_exist_ok=True)
        half = model / "model16.safetensors"
        with lzma.open(model / "model16.safetensors.xz") as z, open(half, "wb") as f:
            shutil.copyfileobj(z, f)
        weights = {k: v.float() if v.is_floating_point() else v for k, v in load_file(half).items()}
        save_file(weights, model / "model.safetensors")
        half.unlink()
        (model / "model16.safetensors.xz").unlink()
    data = work / "data"
    for gz in (pack / "data").rglob("*.gz"):
        target = data / gz.relative_to(pack / "data").with_suffix("")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(gz) as z, open(target, "wb") as f:
                shutil.copyfileobj(z, f)
    os.environ["ESL_DATA_DIR"] = str(data)
    print(f"[{elapsed():5.0f}s] unpacked into {work}", flush=True)
    return model


class Results:
    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "gpu.json"
        self.data: dict = {}

    def put(self, key: str, value: object) -> None:
        self.data[key] = value
        self.path.write_text(json.dumps(self.data, indent=2, default=str))
        print(f"[{elapsed():5.0f}s] {key}: {json.dumps(value, default=str)[:1500]}", flush=True)


def section_env() -> dict:
    import torch

    from core.encoding import plan_backend
    from core.runtime import detect_device

    device = detect_device()
    out = {
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "detect_device": device,
    }
    for backend in ("torch", "bf16", "onnx", "onnx-int8"):
        plan = plan_backend(backend, device)
        out[f"plan_{backend}"] = f"{plan.label}" + (f" ({plan.reason})" if plan.reason else "")
    return out


def timed_encode(encoder, texts: list[str], batch_size: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    import torch

    encoder.encode(texts[:64], batch_size=batch_size)  # warm-up: allocation, kernels
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=batch_size)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0, vectors


VARIANTS = (
    "fp32@32:plain,fp16@32:plain,fp16@32:ahead1,fp16@32:ahead,fp32@32:ahead,bf16@32:ahead,fp16@256:ahead"
)


def parse_variant(spec: str) -> tuple[str, int, str]:
    """``fp16@32:ahead`` -> (precision, batch size, mode); modes: plain, ahead1 (one tokenizing thread),
    ahead (the default number of tokenizing threads)."""
    head, mode = spec.strip().split(":")
    precision, batch = head.split("@")
    if precision not in ("fp32", "fp16", "bf16") or mode not in ("plain", "ahead1", "ahead"):
        raise ValueError(f"bad variant {spec!r}")
    return precision, int(batch), mode


def section_encode(  # type: ignore[no-untyped-def]
    model: str,
    ws,
    cpu_docs: int,
    ndcg: bool = True,
    smoke: bool = False,
    variant_specs: str = VARIANTS,
    on_row=None,
) -> dict:
    """Passages/s per variant. ``plain`` variants run the encoder as it was before tokenize-ahead (one
    tokenizing thread, tokenization on the same thread as the forward pass): the baseline of the same run."""
    import numpy as np

    from core.data import load_path
    from core.encoding import BackendPlan, make_encoder
    from core.evaluate import run_comparison
    from core.retrieval import BM25Spec, DenseSpec
    from core.runtime import detect_device, get_settings

    ds = load_path(get_settings().data_dir / "scifact")
    texts = ds.doc_texts()
    device = detect_device()
    out: dict = {"documents": len(texts), "device": device, "rows": []}
    vectors = {}
    variants = [parse_variant(v) for v in variant_specs.split(",") if v.strip()]
    if smoke:  # the GPU variants on a slice, on this CPU: checks the code path
        texts = texts[:300]
    elif device != "cuda":
        variants = []
    for precision, batch, mode in variants:
        backend = "bf16" if precision == "bf16" else "torch"
        plan = BackendPlan(backend, backend, device, precision)
        encoder = make_encoder(model, ws, backend=backend, device=device, plan=plan)
        if mode == "plain":
            encoder.prefetch, encoder.tokenize_threads = False, 1
        else:
            encoder.prefetch = True
            encoder.prepare_threads = 1 if mode == "ahead1" else None
        seconds, vecs = timed_encode(encoder, texts, batch)
        vectors[(precision, batch, mode)] = np.asarray(vecs)
        out["rows"].append(
            {
                "device": device,
                "precision": precision,
                "batch": batch,
                "mode": mode,
                "docs": len(texts),
                "prepare_threads": getattr(encoder, "_preparer_count", None),
                "seconds": round(seconds, 3),
                "passages_per_s": round(len(texts) / seconds, 1),
            }
        )
        if on_row:
            on_row(out)
        del encoder
    sample = texts[:: max(1, len(texts) // cpu_docs)][:cpu_docs]
    cpu = make_encoder(model, ws, backend="torch", device="cpu")
    seconds, cpu_vecs = timed_encode(cpu, sample, 32)
    out["rows"].append(
        {
            "device": "cpu",
            "precision": cpu.plan.precision,
            "batch": 32,
            "mode": "plain",
            "docs": len(sample),
            "seconds": round(seconds, 3),
            "passages_per_s": round(len(sample) / seconds, 1),
        }
    )
    cpu_rate = out["rows"][-1]["passages_per_s"]
    for row in out["rows"]:
        row["x_cpu_fp32"] = round(row["passages_per_s"] / cpu_rate, 1)
    if vectors:
        idx = list(range(0, len(texts), max(1, len(texts) // cpu_docs)))[:cpu_docs]
        ref = vectors.get(("fp32", 32, "plain"), next(iter(vectors.values())))
        out["cosine_min_to_gpu_fp32"] = {
            f"{p}@{b}-{m}": round(float((v * ref).sum(1).min()), 5) for (p, b, m), v in vectors.items()
        }
        out["cosine_min_cpu_vs_gpu_fp32"] = round(float((np.asarray(cpu_vecs) * ref[idx]).sum(1).min()), 5)
    del cpu
    if ndcg:
        specs = {"bm25": BM25Spec(), "dense": DenseSpec(model=model, backend="torch")}
        t0 = time.perf_counter()
        rep = run_comparison(ds, "test", specs, ws=ws, k=100, latency_sample=5)
        out["ndcg@10"] = {k: round(v.metrics["ndcg@10"], 4) for k, v in rep.strategies.items()}
        out["comparison_s"] = round(time.perf_counter() - t0, 1)
    return out


def adaptation_args(model: str, smoke: bool, **extra: object) -> argparse.Namespace:
    values = {
        "dataset": "scifact",
        "base": model,
        "margin": None,
        "max_seq_length": 256,
        "corpus_limit": 1000,
        "ce_epochs": 1.0,
        "ce_eval_queries": None,
        "smoke": smoke,
    }
    values.update(extra)
    return argparse.Namespace(**values)


def section_ratio(ws, model: str, steps: int, smoke: bool) -> dict:  # type: ignore[no-untyped-def]
    from adaptation import run_stage, stage_config

    from core.runtime import detect_device

    out: dict = {"steps": steps}
    devices = ["cpu"] + (["cuda"] if detect_device() == "cuda" else [])
    for device in devices:
        config = stage_config("contrastive1", adaptation_args(model, smoke), {})
        config.update({"evaluate": False, "name": f"gpu-ratio-{device}"})
        config["train"] = {**config["train"], "max_steps": steps}
        os.environ["ESL_DEVICE"] = device
        try:
            r = run_stage(ws, "ratio-" + device, config)
        finally:
            os.environ.pop("ESL_DEVICE", None)
        out[device] = {k: r.get(k) for k in ("status", "error", "steps", "train_s", "device", "wall_s")}
        if r.get("steps"):
            out[device]["s_per_step"] = round(r["train_s"] / r["steps"], 3)
    if "cuda" in out and out["cpu"].get("s_per_step") and out["cuda"].get("s_per_step"):
        out["cpu_over_gpu"] = round(out["cpu"]["s_per_step"] / out["cuda"]["s_per_step"], 1)
    return out


def slim(r: dict) -> dict:
    keep = (
        "status",
        "error",
        "before",
        "after",
        "delta",
        "p_value",
        "verdict",
        "steps",
        "train_s",
        "wall_s",
        "device",
        "pairs",
        "model",
        "mining",
    )
    out = {k: r.get(k) for k in keep if k in r}
    for k in ("before", "after"):
        if isinstance(out.get(k), dict):
            out[k] = {m: v for m, v in out[k].items() if m in ("ndcg@10", "recall@100", "mrr@10")}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pack", default=None, help="folder written by bench/gpu_pack.py (on the GPU machine)"
    )
    parser.add_argument("--work", default="/tmp/esl-gpu")
    parser.add_argument("--out", default=os.environ.get("OUT") or "/tmp/esl-gpu-out")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--sections", default="env,encode,ratio,adapt,rerank")
    parser.add_argument("--budget-s", type=float, default=420, help="skip what would start after this")
    parser.add_argument("--cpu-docs", type=int, default=1000, help="corpus slice encoded on the CPU")
    parser.add_argument("--ratio-steps", type=int, default=10)
    parser.add_argument("--no-ndcg", action="store_true", help="encode section: skip the nDCG@10 check")
    parser.add_argument("--variants", default=VARIANTS, help="encode section: PRECISION@BATCH:MODE,...")
    parser.add_argument(
        "--smoke", action="store_true", help="bert-tiny and tiny settings, to check the script"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = Path(args.work)
    model = str(unpack(Path(args.pack), work)) if args.pack else args.model
    if args.smoke:
        model = "bert-tiny"
    os.environ["ESL_HOME"] = str(work / "home")
    from adaptation import run_stage, stage_config

    from core.data import import_dataset
    from core.runtime import Workspace, get_settings

    ws = Workspace(work / "home")
    if ws.get_dataset("scifact") is None:
        import_dataset(ws, get_settings().data_dir / "scifact", name="scifact")
    results = Results(Path(args.out))
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]

    def time_left(need: float) -> bool:
        if elapsed() + need > args.budget_s:
            print(
                f"[{elapsed():5.0f}s] skipped: needs ~{need:.0f} s, budget {args.budget_s:.0f} s", flush=True
            )
            return False
        return True

    if "env" in sections:
        results.put("env", section_env())
    if "encode" in sections and time_left(30):
        results.put(
            "encode",
            section_encode(
                model,
                ws,
                100 if args.smoke else args.cpu_docs,
                not args.no_ndcg,
                args.smoke,
                args.variants,
                on_row=lambda partial: results.put("encode", partial),
            ),
        )
    if "ratio" in sections and time_left(60):
        results.put("ratio", section_ratio(ws, model, 2 if args.smoke else args.ratio_steps, args.smoke))
    best: tuple[float, str | None] = (-1.0, None)
    if "adapt" in sections:
        stages = [
            ("contrastive1@256", "contrastive1", None),
            ("contrastive3@256", "contrastive3", None),
            ("contrastive3@256-nomargin", "contrastive3", -1.0),
        ]
        for key, stage, margin in stages:
            if not time_left(45):
                break
            config = stage_config(stage, adaptation_args(model, args.smoke, margin=margin), {})
            config["name"] = f"gpu-{key}"
            if args.smoke:
                config["train"] = {**config["train"], "max_steps": 2}
                config["eval_queries"] = 20
            r = slim(run_stage(ws, key, config))
            results.put(f"adapt:{key}", r)
            if r.get("after") and r["after"]["ndcg@10"] > best[0]:
                best = (r["after"]["ndcg@10"], r.get("model"))
    if "rerank" in sections:
        recipes = [
            ("mnrl-1ep", {"ce_epochs": 1.0}, {}),
            ("mnrl-4ep-neg4", {"ce_epochs": 4.0}, {"in_batch_negatives": 4}),
            ("listnet-4ep-neg8", {"ce_epochs": 4.0}, {"loss": "listnet", "in_batch_negatives": 0}),
        ]
        chained = {"model": best[1]} if best[1] else {}
        for key, extra, train in recipes:
            if not time_left(60):
                break
            cfg_args = adaptation_args(model, args.smoke, **extra)
            config = stage_config("cross-encoder", cfg_args, {"contrastive1": chained})
            config["name"] = f"gpu-ce-{key}"
            config["train"] = {**config["train"], **train}
            if key.endswith("neg8"):
                config["mining"] = {**config["mining"], "num_negatives": 8}
            if args.smoke:
                config["train"]["max_steps"] = 2
                config["eval_queries"] = 20
            results.put(f"rerank:{key}", {**slim(run_stage(ws, key, config)), "base": config["base"]})
    results.put("total_s", round(elapsed(), 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
