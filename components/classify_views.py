"""Pure builders for the Classify page: tables (pandas) and plotly figures from a run's result dict
(labels drawn as text: :func:`components.text.escape_plot`).

No streamlit here, so every builder is unit-tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.text import escape_plot

__all__ = [
    "METHOD_COLORS",
    "METHOD_NAMES",
    "detail_for",
    "detail_methods",
    "make_confusion_figure",
    "make_learning_curve_figure",
    "make_proba_figure",
    "misclassified_frame",
    "per_class_frame",
    "summary_frame",
]

METHOD_NAMES = {
    "setfit": "SetFit",
    "logreg": "Frozen + logistic regression",
    "zeroshot": "Zero-shot (label names)",
}
METHOD_COLORS = {"setfit": "#d62728", "logreg": "#1f77b4", "zeroshot": "#7f7f7f"}


def summary_frame(summary: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (method, N): mean and std of accuracy, macro-F1, MCC and training seconds."""
    columns = [
        "method",
        "n_per_class",
        "seeds",
        "accuracy_mean",
        "accuracy_std",
        "macro_f1_mean",
        "macro_f1_std",
        "mcc_mean",
        "mcc_std",
        "train_s_mean",
    ]
    frame = pd.DataFrame(list(summary))
    if frame.empty:
        return pd.DataFrame(columns=columns)
    for col in columns:
        if col not in frame:
            frame[col] = np.nan
    frame = frame[columns].copy()
    frame["method"] = frame["method"].map(lambda m: METHOD_NAMES.get(m, m))
    return frame.reset_index(drop=True)


def _methods_in(frame: pd.DataFrame) -> list[str]:
    present = set(frame["method"])
    return [m for m in METHOD_NAMES if m in present] + sorted(present - set(METHOD_NAMES))


def make_learning_curve_figure(summary: Sequence[dict[str, Any]], metric: str = "accuracy") -> go.Figure:
    """Mean ± std of ``metric`` against N per class, one line per method (error bars = std over seeds).
    With a single N there is no curve: one point with its error bar per method, side by side."""
    frame = pd.DataFrame(list(summary))
    fig = go.Figure()
    label = {"accuracy": "Accuracy", "macro_f1": "Macro-F1", "mcc": "MCC"}.get(metric, metric)
    if frame.empty:
        fig.update_layout(title="No results yet")
        return fig
    ns = sorted(frame["n_per_class"].unique().tolist())
    if len(ns) == 1:
        return _single_n_figure(frame, metric, label, int(ns[0]))
    for method in _methods_in(frame):
        part = frame[frame["method"] == method].sort_values("n_per_class")
        fig.add_trace(
            go.Scatter(
                x=part["n_per_class"],
                y=part[f"{metric}_mean"],
                error_y={"type": "data", "array": part[f"{metric}_std"], "visible": True},
                mode="lines+markers",
                name=escape_plot(METHOD_NAMES.get(method, method)),
                line={
                    "color": METHOD_COLORS.get(method),
                    "dash": "dash" if method == "zeroshot" else "solid",
                },
                customdata=np.stack([part["seeds"], part[f"{metric}_std"]], axis=-1),
                hovertemplate="N=%{x}: %{y:.3f} ± %{customdata[1]:.3f} (%{customdata[0]} seeds)<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"{label} on the test split vs. labelled examples per class",
        xaxis={"title": "labelled examples per class (N)", "type": "log", "tickvals": ns, "ticktext": ns},
        yaxis={"title": f"{label} (mean ± std over seeds)"},
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 50, "b": 10},
    )
    return fig


def _single_n_figure(frame: pd.DataFrame, metric: str, label: str, n: int) -> go.Figure:
    """One N: a point with its error bar per method on a categorical axis, the value written beside it."""
    fig = go.Figure()
    for method in _methods_in(frame):
        row = frame[frame["method"] == method].iloc[0]
        std = float(row.get(f"{metric}_std") or 0.0)
        fig.add_trace(
            go.Scatter(
                x=[escape_plot(METHOD_NAMES.get(method, method))],
                y=[row[f"{metric}_mean"]],
                error_y={"type": "data", "array": [std], "visible": True, "thickness": 2, "width": 10},
                mode="markers+text",
                marker={"color": METHOD_COLORS.get(method), "size": 12},
                text=[f"{row[f'{metric}_mean']:.3f} ± {std:.3f}"],
                textposition="middle right",
                name=escape_plot(METHOD_NAMES.get(method, method)),
                hovertemplate=f"%{{x}}: %{{y:.3f}} ± {std:.3f} ({int(row.get('seeds') or 1)} seeds)<extra></extra>",
            )
        )
    fig.update_layout(
        title=f"{label} on the test split at N = {n} labelled examples per class",
        xaxis={"title": "method", "type": "category"},
        yaxis={"title": f"{label} (mean ± std over seeds)", "rangemode": "tozero"},
        showlegend=False,
        margin={"t": 50, "b": 10},
    )
    return fig


def make_confusion_figure(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], *, normalize: bool = True
) -> go.Figure:
    """Heatmap of true (rows) vs predicted (columns) labels; rows normalised to recall when ``normalize``.
    Every class is named on both axes (smaller type above 20 classes) and the figure grows with the number
    of classes, so 2 to 200 classes stay readable; counts are written in the cells up to 20 classes."""
    counts = np.asarray(matrix, dtype=float)
    values = counts
    if normalize and counts.size:
        totals = counts.sum(axis=1, keepdims=True)
        totals[totals == 0] = 1.0
        values = counts / totals
    n = len(labels)
    many = n > 20
    font = font_px(n)
    shown = [escape_plot(label) for label in labels]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=shown,
            y=shown,
            colorscale="Blues",
            customdata=counts,
            text=None if many else [[f"{int(c)}" for c in row] for row in counts],
            texttemplate=None if many else "%{text}",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata:.0f} texts (%{z:.2f})<extra></extra>",
        )
    )
    axis = {
        "tickmode": "array",
        "tickvals": shown,
        "ticktext": shown,
        "tickfont": {"size": font},
        "automargin": True,
    }
    fig.update_layout(
        title="Confusion matrix" + (" (rows normalised)" if normalize else ""),
        xaxis={"title": "predicted", "tickangle": -60 if many else 0, **axis},
        yaxis={"title": "true", "autorange": "reversed", **axis},
        height=confusion_height(n),
        margin={"t": 50},
    )
    return fig


def confusion_height(n: int) -> int:
    """Pixels for ``n`` classes: a row of readable type per class plus room for the rotated labels."""
    return 450 if n <= 20 else 260 + int(font_px(n) * 1.5) * n


def font_px(n: int) -> int:
    return 12 if n <= 20 else 10 if n <= 60 else 8


def detail_methods(details: Sequence[dict[str, Any]]) -> list[str]:
    """The methods with stored details, SetFit first (then the table's order)."""
    present = list(dict.fromkeys(d["method"] for d in details))
    return sorted(present, key=lambda m: (m != "setfit", present.index(m)))


def per_class_frame(detail: dict[str, Any]) -> pd.DataFrame:
    """Per-class precision / recall / F1 / support, weakest classes first."""
    frame = pd.DataFrame(
        detail.get("per_class") or [], columns=["label", "precision", "recall", "f1", "support"]
    )
    return frame.sort_values(["f1", "label"]).reset_index(drop=True)


def misclassified_frame(detail: dict[str, Any]) -> pd.DataFrame:
    """Misclassified test texts with true and predicted labels (most confident mistakes first)."""
    return pd.DataFrame(
        detail.get("misclassified") or [], columns=["text", "true", "predicted", "confidence"]
    ).reset_index(drop=True)


def make_proba_figure(labels: Sequence[str], probabilities: Sequence[float], top: int = 10) -> go.Figure:
    """Horizontal bars of the ``top`` most probable labels for one text."""
    probs = np.asarray(probabilities, dtype=float)
    order = np.argsort(-probs)[:top]
    fig = go.Figure(
        go.Bar(
            x=probs[order],
            y=[escape_plot(labels[i]) for i in order],
            orientation="h",
            marker={"color": [METHOD_COLORS["setfit"] if k == 0 else "#c7c7c7" for k in range(len(order))]},
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Predicted probabilities",
        xaxis={"title": "probability", "range": [0, 1]},
        yaxis={"autorange": "reversed"},
        height=120 + 28 * len(order),
        margin={"t": 40},
    )
    return fig


def detail_for(result: dict[str, Any], method: str, n_per_class: int) -> dict[str, Any] | None:
    """The stored per-class detail of (method, N) in a run result, if any."""
    for detail in result.get("details") or []:
        if detail["method"] == method and int(detail["n_per_class"]) == int(n_per_class):
            return detail
    return None
