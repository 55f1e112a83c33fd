"""``python -m core project``: a UMAP / PCA map of a dataset's embeddings, written as a standalone HTML
figure, with the silhouette score by label (and before / after numbers for a second model)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.cli import print_json
from core.explore import (
    ExploreRequest,
    ProjectionSettings,
    explore,
    figure_html,
    make_compare_figure,
    make_projection_figure,
    points_csv,
    quiet_model_loading,
)
from core.models import DEFAULT_BI_ENCODER
from core.runtime import InvalidInput, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("project", help="UMAP / PCA map of a dataset's embeddings (HTML), silhouette by label")
    p.add_argument("--dataset", required=True, help="workspace dataset name, or a dataset folder / file path")
    p.add_argument("--model", default=DEFAULT_BI_ENCODER, help="bi-encoder (name, folder or trained model)")
    p.add_argument("--compare-model", default=None, help="a second model shown side by side (before / after)")
    p.add_argument("--method", choices=["umap", "pca"], default="umap")
    p.add_argument("--dims", type=int, choices=[2, 3], default=2, help="2-D or 3-D map")
    p.add_argument("--max-points", type=int, default=5000, help="stratified sample size (default 5000)")
    p.add_argument(
        "--split",
        action="append",
        default=None,
        help="classification: split(s) to show (repeat or comma list; default test, else all); "
        "retrieval: the qrels split",
    )
    p.add_argument("--n-neighbors", type=int, default=15, help="UMAP neighbourhood size")
    p.add_argument("--min-dist", type=float, default=0.1, help="UMAP minimum distance")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--align", choices=["procrustes", "joint"], default="procrustes", help="before / after alignment"
    )
    p.add_argument("--knn-k", type=int, default=10, help="k of the k-NN agreement and overlap numbers")
    p.add_argument("--color", default=None, help="colour by: label, split (default: label when there is one)")
    p.add_argument("--out", required=True, help="HTML file for the figure")
    p.add_argument("--csv", default=None, help="also write the projected coordinates as CSV")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_project)


def request_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The :class:`core.explore.ExploreRequest` these options describe."""
    splits = tuple(s.strip() for raw in (args.split or []) for s in raw.split(",") if s.strip())
    settings = ProjectionSettings(
        method=args.method,
        n_components=args.dims,
        n_neighbors=args.n_neighbors,
        min_dist=args.min_dist,
        seed=args.seed,
    )
    return ExploreRequest(
        dataset=args.dataset,
        model=args.model,
        compare_model=args.compare_model,
        splits=splits,
        settings=settings,
        max_points=args.max_points,
        align=args.align,
        knn_k=args.knn_k,
    )


def _project(args: argparse.Namespace) -> int:
    quiet_model_loading()
    started = time.perf_counter()
    out = Path(args.out).expanduser()
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput(f"--out must be an .html file, got {args.out!r}")
    request = request_from_args(args)
    ws = open_workspace()
    progress = _progress_printer() if sys.stderr.isatty() else None  # a terminal: a live progress line
    try:
        result = explore(ws, request, progress=progress)
    finally:
        if progress is not None:
            print(file=sys.stderr)  # end the progress line (an error message then gets a line of its own)

    # the figure builders live with the page's components (pure plotly, no streamlit), so that the
    # page and the command line draw the same picture

    points = result.points
    color = args.color or ("label" if "label" in points.columns else "split")
    if color not in points.columns:
        raise InvalidInput(
            f"cannot colour by {color!r}: choose from {', '.join(c for c in ('label', 'split') if c in points.columns)}"
        )
    title = f"{result.dataset} · {result.method.upper()} · {len(points):,} of {result.total:,} points"
    if result.has_compare:
        fig = make_compare_figure(
            points,
            color=color,
            titles=(
                _panel(request.model, result.silhouette),
                _panel(request.compare_model, result.silhouette_compare),
            ),
            title=title,
        )
    else:
        fig = make_projection_figure(
            points, color=color, title=f"{title} · {_panel(request.model, result.silhouette)}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(figure_html(fig), encoding="utf-8")
    if args.csv:
        Path(args.csv).expanduser().write_bytes(points_csv(points))
    summary = result.to_json() | {"seconds": round(time.perf_counter() - started, 3), "out": str(out)}
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _panel(model: str | None, silhouette: float | None) -> str:
    return f"{model} (silhouette {silhouette:.3f})" if silhouette is not None else str(model)


def _print_summary(s: dict) -> None:  # type: ignore[type-arg]
    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.4f}"

    print(
        f"{s['dataset']}: {s['method'].upper()} map of {s['points']:,} of {s['total']:,} points ({s['seconds']:.1f} s)"
    )
    print(
        f"  {s['model']}: silhouette {fmt(s['silhouette'])}, k-NN label agreement {fmt(s['knn_agreement'])}"
    )
    if s["compare_model"]:
        print(
            f"  {s['compare_model']}: silhouette {fmt(s['silhouette_compare'])}, "
            f"k-NN label agreement {fmt(s['knn_agreement_compare'])}"
        )
        print(
            f"  neighbourhood overlap (k={s['knn_k']}): {fmt(s['neighbourhood_overlap'])} · aligned by {s['align']}"
        )
    for note in s["notes"]:
        print(f"  note: {note}")
    print(f"wrote {s['out']}")


def _progress_printer():  # type: ignore[no-untyped-def]
    def show(p) -> None:  # type: ignore[no-untyped-def]
        bar = "#" * int(30 * p.fraction) if p.total else ""
        print(f"\r  {p.stage:<8} [{bar:<30}] {p.message[:60]:<60}", end="", file=sys.stderr, flush=True)

    return show
