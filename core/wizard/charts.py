"""The strategy card's charts, drawn with matplotlib (Agg backend) as PNG files: no browser or kaleido is
needed, so export works offline and in CI. One function per chart; :func:`render_charts` draws those the
card has numbers for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["render_charts"]


def _plt() -> Any:
    import matplotlib  # only the exported bundle's charts need it

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _plt().close(fig)


def render_charts(card: Mapping[str, Any], folder: Path) -> dict[str, str]:
    """PNG charts of the measured numbers in ``folder/charts``; returns {name: path relative to folder}."""
    plt = _plt()
    rec = card["recommendation"]
    evidence = rec.get("evidence") or {}
    gotchas = card.get("gotchas") or {}
    budget = (rec.get("answers") or {}).get("latency_budget_ms")
    charts = (
        ("quality", _quality_chart, (evidence, budget)),
        ("pca", _pca_chart, (gotchas.get("pca"),)),
        ("cosine_vs_dot", _cosine_chart, (gotchas.get("cosine_vs_dot"),)),
        ("classifier", _classifier_chart, (evidence,)),
    )
    out: dict[str, str] = {}
    for name, draw, args in charts:
        fig = draw(plt, *args)
        if fig is None:
            continue
        _save(fig, folder / "charts" / f"{name}.png")
        out[name] = f"charts/{name}.png"
    return out


def _quality_chart(plt: Any, evidence: Mapping[str, Any], budget: float | None) -> Any:
    """nDCG@10 and p95 latency of each compared strategy, the recommended one in red."""
    comp = evidence.get("comparison")
    if not (comp and comp.get("strategies")):
        return None
    names = list(comp["strategies"])
    ndcg = [comp["strategies"][n]["ndcg@10"] for n in names]
    p95 = [comp["strategies"][n]["latency_ms_p95"] for n in names]
    target = evidence.get("recommended")
    colors = ["#d62728" if n == target else "#7f7f7f" for n in names]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.barh(names, ndcg, color=colors)
    ax1.set_xlabel(f"nDCG@10 ({comp['queries']} {comp['split']} queries)")
    for i, v in enumerate(ndcg):
        ax1.text(v, i, f" {v:.3f}", va="center", fontsize=8)
    ax1.set_xlim(0, max([*ndcg, 0.01]) * 1.2)
    ax2.barh(names, p95, color=colors)
    ax2.set_xlabel("latency p95 (ms, this machine)")
    if budget:
        ax2.axvline(budget, color="#1f77b4", linestyle="--", label=f"budget {budget:,.0f} ms")
        ax2.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Strategies on {comp['dataset']} (recommended in red)", fontsize=10)
    return fig


def _pca_chart(plt: Any, pca: list[Mapping[str, Any]] | None) -> Any:
    """nDCG@10 against index size, one point per PCA dimension."""
    if not pca:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    xs = [r["index_mb"] for r in pca]
    ys = [r["ndcg@10"] for r in pca]
    ax.plot(xs, ys, marker="o", color="#2ca02c")
    for r in pca:
        ax.annotate(
            f"{r['dim']}-d",
            (r["index_mb"], r["ndcg@10"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    ax.set_xlabel("index size (MB, float32)")
    ax.set_ylabel("nDCG@10")
    ax.set_title("Dimension reduction (PCA on corpus vectors)", fontsize=10)
    return fig


def _cosine_chart(plt: Any, cvd: Mapping[str, Any] | None) -> Any:
    """nDCG@10 of cosine against a raw dot product."""
    if not cvd:
        return None
    fig, ax = plt.subplots(figsize=(4.5, 2.6))
    ax.bar(
        ["cosine", "dot (unnormalised)"],
        [cvd["cosine_ndcg@10"], cvd["dot_ndcg@10"]],
        color=["#2ca02c", "#ff7f0e"],
    )
    ax.set_ylabel("nDCG@10")
    ax.set_title(f"Cosine vs dot product ({cvd.get('documents', '?')} docs)", fontsize=10)
    return fig


def _classifier_chart(plt: Any, evidence: Mapping[str, Any]) -> Any:
    """Accuracy of SetFit and its baselines, from the classifier claim."""
    cls = next(
        (
            c
            for c in evidence.get("claims", [])
            if c["claim"] == "classifier" and "setfit" in c.get("numbers", {})
        ),
        None,
    )
    if not cls:
        return None
    nums = cls["numbers"]
    labels = [m for m in ("setfit", "logreg", "zeroshot") if nums.get(m) is not None]
    fig, ax = plt.subplots(figsize=(4.5, 2.8))
    ax.bar(labels, [nums[m] for m in labels], color="#9467bd")
    ax.set_ylabel("accuracy (mean over seeds)")
    ax.set_title(f"Classifiers at N={nums.get('n_per_class')} per class", fontsize=10)
    return fig
