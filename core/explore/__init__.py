"""explore — maps of the embedding space.

Sampling points from a dataset, UMAP / PCA fits (numba warm-up, exact k-NN for small sets), before/after
alignment, space metrics (silhouette, k-NN label agreement, neighbourhood overlap, clusters), the query
overlay, the pure figure builders (shared by the page and the CLI) and the ``project`` job. Imports
retrieval, encoding and below.

Modules: ``settings`` (ProjectionSettings, ExploreRequest), ``points`` (which texts a map shows),
``projection`` (UMAP / PCA fits, warm-up, placing, alignment), ``results`` (ExploreResult and its disk
cache), ``compute`` (:func:`explore`, :func:`cached_result`, the ``project`` job), ``space_metrics``,
``overlay`` (a query on the map), ``map_figures``, ``change_figures`` (what changed between two models,
measured in the original spaces) and ``query_figures``.
"""

from core.explore.change_figures import (
    KEPT_COLORSCALE,
    make_neighbourhood_figure,
    neighbourhood_caption,
    neighbourhood_table,
)
from core.explore.compute import (
    cached_result,
    explore,
    model_location,
    project_job,
    quiet_model_loading,
    with_kept,
)
from core.explore.map_figures import (
    LEGEND_LIMIT,
    color_options,
    figure_html,
    hover_text,
    make_compare_figure,
    make_projection_figure,
    plot_text,
    points_csv,
    truncate,
)
from core.explore.overlay import OVERLAY_COLUMNS, STRATEGIES, query_overlay, strategy_specs
from core.explore.points import PointSet, dataset_points, default_splits, stratified_sample
from core.explore.projection import (
    ExactCosineIndex,
    align_procrustes,
    exact_cosine_knn,
    fit_projection,
    place,
    umap_ready,
    warm_up,
    warm_up_in_background,
    warm_up_status,
)
from core.explore.query_figures import make_cluster_scores_figure, make_query_figure, metrics_table
from core.explore.results import ExploreResult, load_reducer
from core.explore.settings import DEFAULT_MAX_POINTS, METHODS, ExploreRequest, ProjectionSettings
from core.explore.space_metrics import (
    SILHOUETTE_SAMPLE,
    cluster_agreement,
    hdbscan_clusters,
    kmeans_clusters,
    knn_indices,
    knn_label_agreement,
    label_silhouette,
    neighbourhood_kept,
    neighbourhood_overlap,
    suggest_cluster_count,
)

__all__ = [
    "DEFAULT_MAX_POINTS",
    "KEPT_COLORSCALE",
    "LEGEND_LIMIT",
    "METHODS",
    "OVERLAY_COLUMNS",
    "SILHOUETTE_SAMPLE",
    "STRATEGIES",
    "ExactCosineIndex",
    "ExploreRequest",
    "ExploreResult",
    "PointSet",
    "ProjectionSettings",
    "align_procrustes",
    "cached_result",
    "cluster_agreement",
    "color_options",
    "dataset_points",
    "default_splits",
    "exact_cosine_knn",
    "explore",
    "figure_html",
    "fit_projection",
    "hdbscan_clusters",
    "hover_text",
    "kmeans_clusters",
    "knn_indices",
    "knn_label_agreement",
    "label_silhouette",
    "load_reducer",
    "make_cluster_scores_figure",
    "make_compare_figure",
    "make_neighbourhood_figure",
    "make_projection_figure",
    "make_query_figure",
    "metrics_table",
    "model_location",
    "neighbourhood_caption",
    "neighbourhood_kept",
    "neighbourhood_overlap",
    "neighbourhood_table",
    "place",
    "plot_text",
    "points_csv",
    "project_job",
    "query_overlay",
    "quiet_model_loading",
    "strategy_specs",
    "stratified_sample",
    "suggest_cluster_count",
    "truncate",
    "umap_ready",
    "warm_up",
    "warm_up_in_background",
    "warm_up_status",
    "with_kept",
]
