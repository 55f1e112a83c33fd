"""Thin cached service layer between pages and ``core``: pages call ``services.<name>(...)`` instead of
``core`` loaders.

The services live by domain in :mod:`components.services_data` (workspace, datasets, encoders, encoding
backends) and :mod:`components.services_results` (comparisons, SetFit models, maps, the wizard); this
module gathers them under one name.
"""

from __future__ import annotations

from components.services_data import (
    backend_plan,
    backend_statuses,
    cached_dataset,
    clear_dataset_cache,
    corpus_cached,
    corpus_lookup,
    dataset,
    dataset_record,
    dataset_size,
    dataset_stats,
    device_name,
    encode_estimate,
    encoder,
    inspect_path,
    inspect_upload,
    lengths,
    model_window,
    offline,
    passage_text,
    resolved_dataset,
    tokenizer,
    truncation,
    workspace,
)
from components.services_results import (
    comparison,
    explore_cluster_scores,
    explore_clusters,
    explore_overlay,
    explore_result,
    free_text_search,
    retriever_builder,
    setfit_model,
    strategy_bundle,
    wizard_measurements,
    zipped_folder,
)

__all__ = [
    "backend_plan",
    "backend_statuses",
    "cached_dataset",
    "clear_dataset_cache",
    "comparison",
    "corpus_cached",
    "corpus_lookup",
    "dataset",
    "dataset_record",
    "dataset_size",
    "dataset_stats",
    "device_name",
    "encode_estimate",
    "encoder",
    "explore_cluster_scores",
    "explore_clusters",
    "explore_overlay",
    "explore_result",
    "free_text_search",
    "inspect_path",
    "inspect_upload",
    "lengths",
    "model_window",
    "offline",
    "passage_text",
    "resolved_dataset",
    "retriever_builder",
    "setfit_model",
    "strategy_bundle",
    "tokenizer",
    "truncation",
    "wizard_measurements",
    "workspace",
    "zipped_folder",
]
