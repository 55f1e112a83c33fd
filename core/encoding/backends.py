"""Which encoding backends this machine can run, and what a requested backend becomes here.

A backend is how a model's forward pass runs: ``torch`` (the reference; fp32 on a CPU, fp16 on a GPU),
``bf16`` (torch in bfloat16), ``onnx`` (ONNX Runtime, fp32) and ``onnx-int8`` (ONNX Runtime with
dynamically quantised int8 weights). :func:`plan_backend` turns a request into a :class:`BackendPlan`:
the backend, device and precision that will really be used, and, when it had to fall back to torch,
one sentence saying why.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from core.runtime import InvalidInput, detect_device

__all__ = [
    "AUTO",
    "AUTO_DESCRIPTION",
    "BACKENDS",
    "BACKEND_DESCRIPTIONS",
    "BackendPlan",
    "BackendStatus",
    "backend_statuses",
    "bf16_support",
    "cpu_flags",
    "onnx_support",
    "plan_backend",
]

AUTO = "auto"  # the fastest backend that passes a parity check on the corpus (core.encoding.auto)
BACKENDS = ("torch", "onnx", "onnx-int8", "bf16")
BACKEND_DESCRIPTIONS = {
    "torch": "PyTorch fp32 (fp16 on a GPU): the reference",
    "onnx": "ONNX Runtime fp32, exported locally: the same vectors, usually faster on a CPU",
    "onnx-int8": "ONNX Runtime with int8 weights (dynamic, per channel): fast on CPUs with VNNI; "
    "vectors close to fp32 (cosine ≈ 0.99), check nDCG",
    "bf16": "PyTorch in bfloat16: fast on CPUs with AVX512-BF16 / AMX and on recent GPUs (cosine ≈ 0.9999)",
}
AUTO_DESCRIPTION = (
    "the fastest backend whose vectors pass a parity check on a sample of your corpus (cosine to torch "
    "fp32, top-10 overlap of a tiny search), checked once per model on this machine"
)
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
_INT8_CPU_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
_ONNX_PACKAGES = ("onnxruntime", "onnx")


@dataclass(frozen=True)
class BackendPlan:
    """What a requested backend becomes on ``device``; ``reason`` says why when it fell back."""

    requested: str
    backend: str  # the backend really used
    device: str  # torch device, or "cpu" for ONNX Runtime on the CPU
    precision: str  # fp32 | fp16 | bf16 | int8
    reason: str = ""
    note: str = ""  # a hint that is not a fallback (e.g. int8 without VNNI is slower than it could be)
    auto: str = ""  # requested auto: what was chosen and why, e.g. ``onnx-int8 (auto: cosine 0.998, …)``
    texts_per_s: float = 0.0  # measured throughput (auto: of the parity check's sample), 0 when unknown

    @property
    def fell_back(self) -> bool:
        return self.requested != AUTO and self.backend != self.requested

    @property
    def label(self) -> str:
        """Short text for the sidebar and captions, e.g. ``onnx-int8 · int8 · cpu`` (under ``auto``:
        ``onnx-int8 (auto: cosine 0.998, top-10 overlap 0.97, 3.1x torch) · int8 · cpu``)."""
        return f"{self.auto or self.backend} · {self.precision} · {self.device}"


@dataclass(frozen=True)
class BackendStatus:
    """Whether ``backend`` can run here; ``reason`` says why not."""

    backend: str
    available: bool
    description: str
    reason: str = ""
    note: str = ""


@functools.cache
def _read_cpu_flags(path: str) -> frozenset[str]:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_flags() -> frozenset[str]:
    """Instruction-set flags of this CPU from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    return _read_cpu_flags("/proc/cpuinfo")


def _missing(packages: tuple[str, ...]) -> list[str]:
    return [p for p in packages if importlib.util.find_spec(p) is None]


def bf16_support(device: str, flags: frozenset[str] | None = None) -> tuple[bool, str]:
    """``(supported, reason)`` for bfloat16 inference on ``device``. On a CPU it needs native bf16
    instructions (AVX512-BF16 or AMX): without them torch emulates bf16 and is slower than fp32."""
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return True, ""
        return False, "this GPU has no bfloat16 support (needs compute capability 8.0 or newer)"
    if device == "mps":
        return False, "bf16 is not used on Apple GPUs here (mps); torch runs in fp32"
    flags = cpu_flags() if flags is None else flags
    if flags and not any(f in flags for f in _BF16_CPU_FLAGS):
        return False, (
            "this CPU has no native bfloat16 instructions (AVX512-BF16 or AMX): "
            "bf16 would be emulated and slower than fp32"
        )
    if not flags:  # unknown CPU (no /proc/cpuinfo): trust oneDNN's own check
        import torch

        checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
        if checker is None or not checker():
            return False, "this CPU or torch build has no bfloat16 support (oneDNN)"
    return True, ""


def onnx_support(packages: tuple[str, ...] = _ONNX_PACKAGES) -> tuple[bool, str]:
    """``(available, reason)`` for the ONNX Runtime backends (needs onnxruntime and onnx)."""
    missing = _missing(packages)
    if missing:
        return False, f"package {', '.join(missing)} is not installed (pip install {' '.join(missing)})"
    return True, ""


def _onnx_cuda() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


def plan_backend(
    requested: str,
    device: str | None = None,
    *,
    flags: frozenset[str] | None = None,
    onnx_packages: tuple[str, ...] = _ONNX_PACKAGES,
) -> BackendPlan:
    """What ``requested`` becomes on ``device`` (default: the best device here). Unusable backends
    fall back to torch with a reason; an unknown name is an error."""
    if requested not in BACKENDS and requested != AUTO:
        raise InvalidInput(
            f"Unknown encoding backend {requested!r}: use one of {', '.join((AUTO, *BACKENDS))}."
        )
    if device is None:
        device = detect_device()
    gpu = device.startswith("cuda")
    torch_precision = "fp16" if gpu else "fp32"
    if requested == AUTO:  # decided per model by core.encoding.auto; torch until then (and for rerankers)
        return BackendPlan(requested, "torch", device, torch_precision, auto="torch (auto: not checked yet)")

    def fallback(reason: str) -> BackendPlan:
        return BackendPlan(requested, "torch", device, torch_precision, f"{requested} unavailable: {reason}")

    if requested == "torch":
        return BackendPlan(requested, "torch", device, torch_precision)
    if requested == "bf16":
        ok, reason = bf16_support(device, flags)
        return BackendPlan(requested, "bf16", device, "bf16") if ok else fallback(reason)
    ok, reason = onnx_support(onnx_packages)
    if not ok:
        return fallback(reason)
    precision = "int8" if requested == "onnx-int8" else "fp32"
    if gpu:
        if requested == "onnx-int8" or not _onnx_cuda():
            return fallback(
                "onnxruntime here runs on the CPU only; torch fp16 on the GPU is far faster"
                if requested == "onnx"
                else "int8 ONNX runs on the CPU only; torch fp16 on the GPU is far faster"
            )
        return BackendPlan(requested, requested, device, precision)
    note = ""
    cpu = cpu_flags() if flags is None else flags
    if requested == "onnx-int8" and cpu and not any(f in cpu for f in _INT8_CPU_FLAGS):
        note = "this CPU has no VNNI instructions: int8 gains less here"
    return BackendPlan(requested, requested, "cpu", precision, note=note)


def backend_statuses(
    device: str | None = None, *, flags: frozenset[str] | None = None
) -> list[BackendStatus]:
    """Every backend with whether it runs here (for pickers and the sidebar)."""
    out = []
    for name in BACKENDS:
        plan = plan_backend(name, device, flags=flags)
        out.append(
            BackendStatus(
                name,
                not plan.fell_back,
                BACKEND_DESCRIPTIONS[name],
                plan.reason.partition(": ")[2],
                plan.note,
            )
        )
    return out
