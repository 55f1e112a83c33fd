"""The house rules of ../shared/ARCHITECTURE.md, checked on the source (no imports run).

import-linter (``make check``) enforces the layers; these tests add what it cannot see: imports inside
functions, imports of another package's internals, pages importing the CLI, faces that name what they
export, and sizes.
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core"
PACKAGES = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").exists())

# the only modules a function may import lazily, each with its reason
LAZY_IMPORTS = {
    "torch": "2 s to import and initialises CUDA / OpenMP; most commands never run a model",
    "transformers": "imports torch",
    "sentence_transformers": "imports torch and transformers",
    "setfit": "imports sentence_transformers",
    "datasets": "imports pyarrow and fsspec (~1 s); only trainers need it",
    "sklearn": "~1 s; only PCA, logistic regression, k-means and splits need it",
    "ranx": "compiles numba kernels on import",
    "numba": "JIT compiler, loaded only for UMAP's cache and ranx",
    "umap": "imports numba and pynndescent (compiles on first use)",
    "pynndescent": "numba",
    "faiss": "large native library; only dense retrieval needs it",
    "onnxruntime": "large native library; optional backend",
    "onnx": "only for exporting models",
    "bm25s": "imports scipy.sparse; only BM25 needs it",
    "Stemmer": "native stemmer, only with BM25 stemming",
    "matplotlib": "only the exported bundle's charts",
    "nltk": "only TSDAE's noise",
    "plotly": "plotly.express loads its data sets; only figures need it",
    "pyarrow": "only Parquet files",
    "scipy": "only sparse and statistics helpers",
    "ray": "only the Ray engine",
    "model2vec": "only static models",
    "fcntl": "POSIX only (the import fails on Windows)",
}


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)


def _package(path: Path) -> str | None:
    rel = path.relative_to(REPO).parts
    return rel[1] if rel[0] == "core" and len(rel) > 2 else None


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, str, list[str]]]:
    """(node, module, imported names) for every absolute import."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node, node.module, [a.name for a in node.names]))
    return out


def _nested_imports(tree: ast.Module) -> list[tuple[int, str]]:
    top = {id(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))}
    return [(node.lineno, module) for node, module, _ in _imports(tree) if id(node) not in top]


@pytest.mark.parametrize("path", _modules(CORE), ids=lambda p: str(p.relative_to(REPO)))
def test_no_first_party_import_inside_a_function(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [
        f"line {line}: {module}"
        for line, module in _nested_imports(tree)
        if module.split(".")[0] not in LAZY_IMPORTS
    ]
    assert not bad, (
        f"imports that belong at the top of {path.name} (only {sorted(LAZY_IMPORTS)} may be lazy): {bad}"
    )


def _foreign_internals(path: Path, own: str | None) -> list[str]:
    """Imports of another core package's modules below its face (``core.data.readers``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node, module, _names in _imports(tree):
        parts = module.split(".")
        if parts[0] != "core" or len(parts) < 3 or parts[1] == own:
            continue
        bad.append(f"line {node.lineno}: {module}")
    return bad


@pytest.mark.parametrize(
    "path",
    [*_modules(CORE), *_modules(REPO / "components"), *_modules(REPO / "pages"), REPO / "app.py"],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_other_packages_import_only_faces(path: Path):
    own = _package(path)
    if path.relative_to(REPO).parts[:2] == ("core", "__init__.py"):
        pytest.skip("the root package installs the compatibility hook of core.runtime")
    assert not _foreign_internals(path, own), "import the package's face (core.<package>) instead"


@pytest.mark.parametrize("path", _modules(REPO / "pages"), ids=lambda p: p.name)
def test_pages_never_import_the_cli(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not [m for _, m, _ in _imports(tree) if m == "core.cli" or m.startswith("core.cli.")]


def test_core_packages_form_no_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules(CORE):
        own = _package(path)
        if own is None:
            continue
        for _node, module, _names in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            parts = module.split(".")
            if parts[0] == "core" and len(parts) > 1 and parts[1] in PACKAGES and parts[1] != own:
                graph[own].add(parts[1])
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 1:
            raise AssertionError(f"import cycle: {' -> '.join([*trail, node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(graph[node]):
            visit(nxt, [*trail, node])
        state[node] = 2

    for package in PACKAGES:
        visit(package, [])


@pytest.mark.parametrize("package", PACKAGES)
def test_each_face_exports_what_it_names(package: str):
    face = importlib.import_module(f"core.{package}")
    names = getattr(face, "__all__", None)
    assert names, f"core/{package}/__init__.py needs an __all__"
    missing = [n for n in names if not hasattr(face, n)]
    assert not missing
    assert (face.__doc__ or "").strip(), (
        f"core/{package}/__init__.py needs a docstring saying what lives there"
    )


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@pytest.mark.parametrize(
    "path", [*_modules(CORE), *_modules(REPO / "components")], ids=lambda p: str(p.relative_to(REPO))
)
def test_no_module_is_a_god_file(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines: split it along its sections"


@pytest.mark.parametrize(
    "path",
    [*_modules(CORE), *_modules(REPO / "components"), *_modules(REPO / "pages")],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_no_function_is_over_sixty_lines(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"break these into well-named steps: {long}"
