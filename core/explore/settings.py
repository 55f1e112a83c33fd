"""What decides a map: :class:`ProjectionSettings` (method, dimensions, UMAP knobs) and
:class:`ExploreRequest` (dataset, model(s), points, settings), the config of the ``project`` job."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.models import DEFAULT_BI_ENCODER
from core.runtime import InvalidInput

__all__ = ["ALIGNS", "DEFAULT_MAX_POINTS", "METHODS", "ExploreRequest", "ProjectionSettings"]

DEFAULT_MAX_POINTS = 5000
METHODS = ("umap", "pca")
ALIGNS = ("procrustes", "joint")


def _check_keys(cls: type, data: Mapping[str, Any], what: str) -> None:
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise InvalidInput(f"Unknown {what} settings: {sorted(unknown)}")


@dataclass(frozen=True)
class ProjectionSettings:
    """How vectors become a map: method, dimensions and the UMAP knobs (cosine metric, seeded)."""

    method: str = "umap"  # umap | pca
    n_components: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    seed: int = 42
    metric: str = "cosine"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(f"Unknown projection method {self.method!r}: use umap or pca.")
        if self.n_components not in (2, 3):
            raise InvalidInput(f"Projections have 2 or 3 dimensions, not {self.n_components}.")
        if self.n_neighbors < 2:
            raise InvalidInput("n_neighbors must be at least 2.")
        if not 0.0 <= self.min_dist <= 1.0:
            raise InvalidInput("min_dist must be between 0 and 1.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ProjectionSettings:
        """Settings from a stored dict: missing keys take their defaults, unknown keys are an error."""
        data = data or {}
        _check_keys(cls, data, "projection")
        return cls(**dict(data))


@dataclass(frozen=True)
class ExploreRequest:
    """Everything that decides a map: dataset, model(s), points, projection settings.

    ``splits``: for classification the splits shown (default: test, else all); for retrieval the split
    whose judgements are used. ``align``: how a second model's map is put beside the first —
    ``procrustes`` (one map per model, the second rotated onto the first) or ``joint`` (one map fitted on
    both models' vectors, which must have the same size). ``knn_k``: k of the k-NN numbers."""

    dataset: str  # workspace name, path, or data-folder name
    model: str = DEFAULT_BI_ENCODER
    compare_model: str | None = None
    splits: tuple[str, ...] = ()
    settings: ProjectionSettings = ProjectionSettings()
    max_points: int = DEFAULT_MAX_POINTS
    align: str = "procrustes"
    knn_k: int = 10
    backend: str = (
        "torch"  # encoding backend (core.encoding): a map reuses the corpus vectors of that backend
    )

    def __post_init__(self) -> None:
        if self.max_points < 10:
            raise InvalidInput(f"max points must be at least 10, got {self.max_points}.")
        if self.align not in ALIGNS:
            raise InvalidInput(f"Unknown alignment {self.align!r}: use procrustes or joint.")
        if self.knn_k < 1:
            raise InvalidInput("k of the k-NN numbers must be at least 1.")
        if self.compare_model is not None and not self.compare_model.strip():
            object.__setattr__(self, "compare_model", None)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self) | {"splits": list(self.splits)}
        if self.backend == "torch":  # the default stays out: maps stored before the field keep their keys
            data.pop("backend")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExploreRequest:
        """A request from a stored config (:meth:`to_dict`, the ``project`` job's config): missing keys
        take their defaults, unknown keys are an error, the dataset is required."""
        _check_keys(cls, data, "map request")
        if "dataset" not in data:
            raise InvalidInput("A map request needs a dataset.")
        values = dict(data)
        values["settings"] = ProjectionSettings.from_dict(data.get("settings"))
        values["splits"] = tuple(data.get("splits") or ())
        return cls(**values)
