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


def make_learning_curve_figure(summary: Sequence[dict[str, Any]], metric: str = "accuracy") -> go.Figure:
    """Mean ± std of ``metric`` against N per class, one line per method (error bars = std over seeds)."""
    frame = pd.DataFrame(list(summary))
    fig = go.Figure()
    label = {"accuracy": "Accuracy", "macro_f1": "Macro-F1", "mcc": "MCC"}.get(metric, metric)
    if frame.empty:
        fig.update_layout(title="No results yet")
        return fig
    for method in [m for m in METHOD_NAMES if m in set(frame["method"])] + sorted(
        set(frame["method"]) - set(METHOD_NAMES)
    ):
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
    ns = sorted(frame["n_per_class"].unique().tolist())
    fig.update_layout(
        title=f"{label} on the test split vs. labelled examples per class",
        xaxis={"title": "labelled examples per class (N)", "type": "log", "tickvals": ns, "ticktext": ns},
        yaxis={"title": f"{label} (mean ± std over seeds)"},
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 50, "b": 10},
    )
    return fig


def make_confusion_figure(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], *, normalize: bool = True
) -> go.Figure:
    """Heatmap of true (rows) vs predicted (columns) labels; rows normalised to recall when ``normalize``."""
    counts = np.asarray(matrix, dtype=float)
    values = counts
    if normalize and counts.size:
        totals = counts.sum(axis=1, keepdims=True)
        totals[totals == 0] = 1.0
        values = counts / totals
    many = len(labels) > 20
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
    fig.update_layout(
        title="Confusion matrix" + (" (rows normalised)" if normalize else ""),
        xaxis={"title": "predicted", "showticklabels": not many},
        yaxis={"title": "true", "autorange": "reversed", "showticklabels": not many},
        height=min(900, 250 + 14 * len(labels)) if many else 450,
        margin={"t": 50},
    )
    return fig


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
