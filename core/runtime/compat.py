"""Old module paths of the flat layout (before the layered packages), kept importable.

Workspaces and exports made before the move name those paths: cached UMAP reducers pickle
``core.projection.ExactCosineIndex``, exported ``rebuild_pipeline.py`` scripts import ``core.gotchas`` and
``core.datasets``, a worker started as ``python -m core.jobs worker RUN_ID`` (which runs
``python -m core.runtime``, :data:`LEGACY_MAIN`). :func:`install_legacy_aliases` (called by
``core/__init__.py``) adds an import hook that serves each old path as a thin module looking its names up
in the new packages; ``python -m`` on an old path runs the new module. Real modules always win: the hook is
consulted only for the names in :data:`LEGACY_MODULES`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

__all__ = ["LEGACY_MAIN", "LEGACY_MODULES", "LEGACY_NAMES", "install_legacy_aliases"]

# old module -> the new modules that hold its names (the first one also runs for ``python -m``)
LEGACY_MODULES: dict[str, tuple[str, ...]] = {
    "core.config": ("core.runtime",),
    "core.progress": ("core.runtime",),
    "core.store": ("core.runtime",),
    "core.jobs": ("core.runtime.worker", "core.runtime.jobs"),
    "core.job_kinds": ("core.runtime.kinds",),
    "core.readers": ("core.data", "core.runtime"),
    "core.datasets": ("core.data", "core.runtime"),
    "core.extra_models": ("core.models.extra", "core.models"),
    "core.embeddings": ("core.encoding",),
    "core.backends": ("core.encoding", "core.retrieval"),
    "core.backends.support": ("core.encoding",),
    "core.backends.estimate": ("core.encoding",),
    "core.backends.onnx": ("core.encoding.onnx",),
    "core.backends.parallel": ("core.encoding",),
    "core.evaluation": ("core.evaluate",),
    "core.comparison": ("core.evaluate",),
    "core.mining": ("core.adapt",),
    "core.adaptation": ("core.adapt", "core.training"),
    "core.classification": ("core.classify", "core.data"),
    "core.classify_jobs": ("core.classify",),
    "core.projection": ("core.explore",),
    "core.query_overlay": ("core.explore",),
    "core.space_metrics": ("core.explore",),
    "core.gotchas": ("core.wizard", "core.retrieval"),
    "core.wizard_answers": ("core.wizard",),
    "core.wizard_evidence": ("core.wizard",),
    "core.wizard_measure": ("core.wizard",),
    "core.wizard_verify": ("core.wizard",),
    "core.bundle": ("core.wizard",),
}
# what ``python -m OLD`` runs when it is not the first module above
LEGACY_MAIN: dict[str, str] = {"core.jobs": "core.runtime.__main__"}
# names that were renamed in the move: old name -> new name
LEGACY_NAMES: dict[str, str] = {
    "get_encoder": "make_encoder",
    "make_backend_encoder": "make_encoder",
    "make_backend_reranker": "make_reranker",
}


def _lookup(old: str, name: str) -> Any:
    wanted = LEGACY_NAMES.get(name, name)
    for target in LEGACY_MODULES[old]:
        module = importlib.import_module(target)
        if hasattr(module, wanted):
            return getattr(module, wanted)
    raise AttributeError(
        f"module {old!r} (moved to {', '.join(LEGACY_MODULES[old])}) has no attribute {name!r}"
    )


class _AliasLoader(importlib.abc.Loader):
    """Makes the thin module of an old path; for ``python -m`` hands over the new module's code."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name, f"Moved: see {', '.join(LEGACY_MODULES[spec.name])}.")
        module.__getattr__ = lambda name: _lookup(spec.name, name)  # type: ignore[method-assign]
        if spec.submodule_search_locations is not None:
            module.__path__ = []  # a package, so that old sub-module paths (core.backends.onnx) resolve
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None

    def get_code(self, fullname: str) -> Any:
        target = LEGACY_MAIN.get(fullname) or LEGACY_MODULES[fullname][0]
        spec = importlib.util.find_spec(target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "get_code"):
            raise ImportError(f"{fullname} moved to {target}, which cannot be run")
        return spec.loader.get_code(target)  # type: ignore[attr-defined]


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in LEGACY_MODULES:
            return None
        package = any(old.startswith(fullname + ".") for old in LEGACY_MODULES)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(), is_package=package)


def install_legacy_aliases() -> None:
    """Serve the old module paths (idempotent; appended after the real finders)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
