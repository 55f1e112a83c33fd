"""encoding — texts to vectors.

The :class:`Encoder` contract, backend ``auto`` (a parity check on the user's corpus picks the fastest
backend that keeps the vectors, remembered per model and machine), one thread count for torch / ONNX /
BLAS, the sentence-transformers encoder, the torch / ONNX / int8 / bf16 backends and static (model2vec)
models, and
what each becomes on this machine (:func:`plan_backend`), the one :func:`make_encoder` factory, the on-disk
embedding cache (a shard store per corpus and encoder: float16 shards, memory-mapped, resumable), the
engines that fill it (``local``, ``ray``) and the ``encode`` job, time estimates before long encodes, and
multi-process encoding. Imports runtime, data and models.
"""

from core.encoding.auto import (
    BACKEND_CHOICES,
    AutoChoice,
    BackendCheck,
    ParityThresholds,
    auto_plan,
    choose_backend,
    load_choice,
    machine_id,
    parity_check,
    parity_sample,
    pick_backend,
    remembered_choices,
    save_choice,
)
from core.encoding.backends import (
    AUTO,
    AUTO_DESCRIPTION,
    BACKEND_DESCRIPTIONS,
    BACKENDS,
    BackendPlan,
    BackendStatus,
    backend_statuses,
    bf16_support,
    cpu_flags,
    onnx_support,
    plan_backend,
)
from core.encoding.cache import EmbeddingCache, encode_corpus
from core.encoding.embeddings import (
    Encoder,
    EncodeSettings,
    SentenceTransformerEncoder,
    encode_in_batches,
    encoder_cache_key,
    normalize_rows,
    token_lengths,
)
from core.encoding.engines import ENGINES, EncoderSpec, ShardRun, encode_local, encode_ray
from core.encoding.estimate import (
    ETA_MIN_TEXTS,
    EncodeEstimate,
    TruncationStats,
    announce_encode,
    estimate_encode_time,
    format_duration,
    truncation_stats,
)
from core.encoding.factory import (
    encoder_fingerprint,
    ensure_onnx_export,
    folder_lock,
    make_encoder,
    resolve_backend,
)
from core.encoding.job import EncodeJob, encode_job, run_encode
from core.encoding.onnx import (
    OnnxCrossEncoder,
    OnnxEncoder,
    export_bi_encoder,
    export_cross_encoder,
    onnx_files,
    quantize_int8,
)
from core.encoding.parallel import encode_parallel
from core.encoding.shards import DEFAULT_SHARD_SIZE, DISK_DTYPE, ShardLayout, ShardRecord, ShardStore
from core.encoding.static import (
    DEFAULT_STATIC_MODEL,
    STATIC_KIND,
    StaticEncoder,
    distill_static,
    is_static_folder,
    static_plan,
)
from core.encoding.threads import THREADS_ENV, configure_threads, cpu_threads, encoding_threads

__all__ = [
    "AUTO",
    "AUTO_DESCRIPTION",
    "BACKENDS",
    "BACKEND_CHOICES",
    "BACKEND_DESCRIPTIONS",
    "DEFAULT_SHARD_SIZE",
    "DEFAULT_STATIC_MODEL",
    "DISK_DTYPE",
    "ENGINES",
    "ETA_MIN_TEXTS",
    "STATIC_KIND",
    "THREADS_ENV",
    "AutoChoice",
    "BackendCheck",
    "BackendPlan",
    "BackendStatus",
    "EmbeddingCache",
    "EncodeEstimate",
    "EncodeJob",
    "EncodeSettings",
    "Encoder",
    "EncoderSpec",
    "OnnxCrossEncoder",
    "OnnxEncoder",
    "ParityThresholds",
    "SentenceTransformerEncoder",
    "ShardLayout",
    "ShardRecord",
    "ShardRun",
    "ShardStore",
    "StaticEncoder",
    "TruncationStats",
    "announce_encode",
    "auto_plan",
    "backend_statuses",
    "bf16_support",
    "choose_backend",
    "configure_threads",
    "cpu_flags",
    "cpu_threads",
    "distill_static",
    "encode_corpus",
    "encode_in_batches",
    "encode_job",
    "encode_local",
    "encode_parallel",
    "encode_ray",
    "encoder_cache_key",
    "encoder_fingerprint",
    "encoding_threads",
    "ensure_onnx_export",
    "estimate_encode_time",
    "export_bi_encoder",
    "export_cross_encoder",
    "folder_lock",
    "format_duration",
    "is_static_folder",
    "load_choice",
    "machine_id",
    "make_encoder",
    "normalize_rows",
    "onnx_files",
    "onnx_support",
    "parity_check",
    "parity_sample",
    "pick_backend",
    "plan_backend",
    "quantize_int8",
    "remembered_choices",
    "resolve_backend",
    "run_encode",
    "save_choice",
    "static_plan",
    "token_lengths",
    "truncation_stats",
]
