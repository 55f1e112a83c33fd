"""What changed between two models, measured where it is true: in the original embedding spaces.

Two UMAP maps fitted separately are not in the same coordinates (Procrustes only turns one to face the
other), so a line from a point's "before" position to its "after" one would draw the projection, not the
model. These builders show instead, per point and per label, the share of its ``k`` nearest neighbours
(cosine) that both models agree on (``kept``, :func:`core.explore.space_metrics.neighbourhood_kept`): a
number that does not depend on any map. Pure (pandas in, plotly Figure / DataFrame out).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.explore.map_figures import LAYOUT, hover_text, plot_text
from core.runtime import InvalidInput

__all__ = ["KEPT_COLORSCALE", "make_neighbourhood_figure", "neighbourhood_caption", "neighbourhood_table"]

# red: the neighbourhood changed; blue: it stayed (fixed 0 … 1, so two maps read alike)
KEPT_COLORSCALE = [[0.0, "#D62728"], [0.5, "#F2E6A0"], [1.0, "#1F5FA8"]]


def _check(df: pd.DataFrame) -> None:
    if "kept" not in df.columns:
        raise InvalidInput("neighbourhood change needs a before / after map (column kept)")


def neighbourhood_table(df: pd.DataFrame, *, k: int = 10) -> pd.DataFrame:
    """Per label (or split when there are no labels): ``points``, mean share of neighbours ``kept`` and
    the ``changed most`` point's id, the labels whose neighbourhoods changed most first."""
    _check(df)
    by = "label" if "label" in df.columns else "split"
    if by not in df.columns or df.empty:
        return pd.DataFrame(columns=[by, "points", f"neighbours kept (of {k})", "changed most"])
    ids = df["id"] if "id" in df.columns else pd.Series(range(len(df)), index=df.index).astype(str)
    frame = pd.DataFrame({by: df[by].astype(str), "kept": df["kept"].astype(float), "id": ids.astype(str)})
    rows = []
    for value, sub in frame.groupby(by, sort=False):
        rows.append(
            {
                by: value,
                "points": len(sub),
                "kept": float(sub["kept"].mean()),
                "changed most": sub.loc[sub["kept"].idxmin(), "id"],
            }
        )
    out = pd.DataFrame(rows).sort_values(["kept", by], kind="stable").reset_index(drop=True)
    return out.rename(columns={"kept": f"neighbours kept (of {k})"})


def neighbourhood_caption(df: pd.DataFrame, *, k: int = 10) -> str:
    """One sentence saying what :func:`make_neighbourhood_figure` shows and its median."""
    _check(df)
    median = float(np.median(df["kept"])) if len(df) else float("nan")
    return (
        f"Colour: the share of each point's {k} nearest neighbours (cosine, in each model's own space) that "
        f"both models agree on — blue kept, red changed; median {median:.2f}. It is measured on the "
        "embeddings, not on the maps: two maps fitted separately are not in the same coordinates, so no "
        "line joins a point's two positions."
    )


def make_neighbourhood_figure(
    df: pd.DataFrame,
    *,
    k: int = 10,
    suffix: str = "_b",
    title: str | None = None,
    height: int = 640,
) -> go.Figure:
    """The second map (``x_b, y_b``; ``suffix=''`` for the first) with each point coloured by ``kept``
    on a fixed 0 … 1 scale; the hover says how many of its ``k`` neighbours it kept."""
    _check(df)
    if f"x{suffix}" not in df.columns:
        raise InvalidInput(f"no map with columns x{suffix}, y{suffix}")
    kept = df["kept"].astype(float).to_numpy()
    hover = [
        f"{h}<br>kept {round(v * k):d} of {k} neighbours ({v:.0%})"
        for h, v in zip(hover_text(df), kept, strict=True)
    ]
    order = np.argsort(-kept, kind="stable")  # changed points drawn last, on top
    trace = go.Scattergl(
        x=df[f"x{suffix}"].to_numpy()[order],
        y=df[f"y{suffix}"].to_numpy()[order],
        mode="markers",
        name="points",
        marker={
            "size": 6,
            "color": kept[order],
            "colorscale": KEPT_COLORSCALE,
            "cmin": 0.0,
            "cmax": 1.0,
            "opacity": 0.85,
            "colorbar": {"title": {"text": f"neighbours<br>kept (of {k})"}, "tickformat": ".0%"},
        },
        hovertext=np.asarray(hover, dtype=object)[order],
        hoverinfo="text",
        showlegend=False,
    )
    median = float(np.median(kept)) if len(kept) else float("nan")
    head = (
        plot_text(title) if title else f"Neighbourhoods kept: median {median:.0%} of {k} nearest neighbours"
    )
    fig = go.Figure([trace])
    fig.update_layout(
        title=head + "<br><sup>measured in the original spaces, not on the map</sup>",
        height=height,
        **(LAYOUT | {"margin": {"l": 10, "r": 10, "t": 80, "b": 10}}),
    )
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig
