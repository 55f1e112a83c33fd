"""The shard store: a corpus's vectors on disk in shards, so that encoding can stop and resume.

One folder per (encoder fingerprint, corpus fingerprint) holds ``shard-00000.npy`` … (rows
``[i * shard_size, (i + 1) * shard_size)``, float16 on disk) and ``manifest.json`` naming the layout
(encoder and corpus fingerprints, rows, dim, shard size, dtype) and the finished shards with their CRC-32.
Every file is written atomically (a temporary dot-file renamed into place), and a shard counts only once
the manifest lists it, so a process killed at any point leaves either a finished shard or nothing a reader
would use. Readers memory-map the shards; the whole matrix (float32) is assembled only when asked
(:meth:`ShardStore.matrix`), or the shards are iterated one by one (:meth:`ShardStore.iter_shards`).

The store has one writer at a time (:meth:`ShardStore.writing` holds a lock on its folder); with the Ray
engine the workers write shard files and the driver, the single writer, records them in the manifest.
"""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.encoding.factory import folder_lock
from core.runtime import InvalidInput, StoreError, atomic_write_bytes, atomic_write_json

__all__ = ["DEFAULT_SHARD_SIZE", "DISK_DTYPE", "ShardLayout", "ShardRecord", "ShardStore"]

DEFAULT_SHARD_SIZE = 4096  # passages per shard: ~3 MB at 384-d float16; what a crash can cost at most
DISK_DTYPE = "float16"
MANIFEST = "manifest.json"
FORMAT = 1
_DTYPES = ("float16", "float32")


@dataclass(frozen=True)
class ShardLayout:
    """What a store holds: ``rows`` vectors of ``dim`` from encoder ``encoder`` over corpus ``corpus``,
    cut into shards of ``shard_size`` rows, stored as ``dtype``."""

    encoder: str
    corpus: str
    rows: int
    dim: int
    shard_size: int = DEFAULT_SHARD_SIZE
    dtype: str = DISK_DTYPE

    def __post_init__(self) -> None:
        if self.rows < 0 or self.dim < 1:
            raise InvalidInput(f"A shard store needs rows >= 0 and dim >= 1, got {self.rows} x {self.dim}.")
        if self.shard_size < 1:
            raise InvalidInput(f"shard_size must be at least 1, got {self.shard_size}.")
        if self.dtype not in _DTYPES:
            raise InvalidInput(f"Shard dtype must be one of {', '.join(_DTYPES)}, got {self.dtype!r}.")

    @property
    def shards(self) -> int:
        return -(-self.rows // self.shard_size)

    def bounds(self, index: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of shard ``index``."""
        if not 0 <= index < self.shards:
            raise InvalidInput(f"No shard {index}: the store has {self.shards}.")
        start = index * self.shard_size
        return start, min(start + self.shard_size, self.rows)

    def shard_rows(self, index: int) -> int:
        start, stop = self.bounds(index)
        return stop - start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardLayout:
        return cls(
            encoder=str(data["encoder"]),
            corpus=str(data["corpus"]),
            rows=int(data["rows"]),
            dim=int(data["dim"]),
            shard_size=int(data["shard_size"]),
            dtype=str(data["dtype"]),
        )


@dataclass(frozen=True)
class ShardRecord:
    """A shard file as written: its index, rows and the CRC-32 of the file's bytes."""

    index: int
    rows: int
    crc32: int


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.npy"


def _to_disk(vectors: np.ndarray, dtype: str) -> np.ndarray:
    """``vectors`` as stored: float16 unless a value would not fit (then that shard stays float32)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if dtype == "float32":
        return vectors
    with np.errstate(over="ignore"):
        half = vectors.astype(np.float16)
    return half if bool(np.isfinite(half).all()) or not bool(np.isfinite(vectors).all()) else vectors


class ShardStore:
    """The shards of one corpus encoding in ``folder`` (see the module's docstring)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    # -- the manifest ---------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when there is none or it cannot be read (a store to start over)."""
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            ShardLayout.from_dict(data["layout"])
            if data.get("format") != FORMAT or not isinstance(data.get("finished"), dict):
                return None
            return data
        except (OSError, ValueError, KeyError, TypeError, InvalidInput):
            return None

    def layout(self) -> ShardLayout | None:
        data = self.manifest()
        return ShardLayout.from_dict(data["layout"]) if data else None

    def finished(self) -> dict[int, ShardRecord]:
        """Shards the manifest lists as finished (not verified against their files; see :meth:`prepare`)."""
        data = self.manifest()
        if not data:
            return {}
        return {
            int(i): ShardRecord(int(i), int(r["rows"]), int(r["crc32"])) for i, r in data["finished"].items()
        }

    def is_complete(self, layout: ShardLayout | None = None) -> bool:
        """Whether every shard is finished (and, with ``layout``, the store holds exactly that layout)."""
        have = self.layout()
        if have is None or (layout is not None and have != layout):
            return False
        return len(self.finished()) == have.shards

    def _write_manifest(self, layout: ShardLayout, finished: dict[int, ShardRecord]) -> None:
        records = {str(i): {"rows": r.rows, "crc32": r.crc32} for i, r in sorted(finished.items())}
        atomic_write_json(
            self.folder / MANIFEST, {"format": FORMAT, "layout": layout.to_dict(), "finished": records}
        )

    # -- writing ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[ShardStore]:
        """Hold the store's lock (one writer at a time, across processes; released if the holder dies)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with folder_lock(self.folder):
            yield self

    def prepare(self, layout: ShardLayout) -> list[int]:
        """Open the store for ``layout`` (call inside :meth:`writing`): keep the finished shards whose files
        are whole (right shape, same CRC-32), drop everything else — temporary files of a killed writer,
        torn or unlisted shard files, and all shards when the manifest names another layout. Returns the
        indexes of the shards still to encode."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for tmp in self.folder.glob(".shard-*"):
            tmp.unlink(missing_ok=True)
        for tmp in self.folder.glob(f".{MANIFEST}.*"):
            tmp.unlink(missing_ok=True)
        keep: dict[int, ShardRecord] = {}
        if self.layout() == layout:
            keep = {i: r for i, r in self.finished().items() if self._whole(layout, r)}
        for path in self.folder.glob("shard-*.npy"):
            if path.name not in {shard_name(i) for i in keep}:
                path.unlink(missing_ok=True)
        self._write_manifest(layout, keep)
        return [i for i in range(layout.shards) if i not in keep]

    def _whole(self, layout: ShardLayout, record: ShardRecord) -> bool:
        if not 0 <= record.index < layout.shards or record.rows != layout.shard_rows(record.index):
            return False
        try:
            self._open(layout, record.index, record.crc32)
        except StoreError:
            return False
        return True

    def clear(self) -> None:
        """Drop every shard and the manifest (call inside :meth:`writing`)."""
        for path in [*self.folder.glob("shard-*.npy"), *self.folder.glob(".shard-*")]:
            path.unlink(missing_ok=True)
        (self.folder / MANIFEST).unlink(missing_ok=True)

    def write_shard(self, layout: ShardLayout, index: int, vectors: np.ndarray) -> ShardRecord:
        """Write shard ``index`` atomically (safe from several processes at once: one file each); it counts
        once :meth:`mark_finished` records it."""
        rows = layout.shard_rows(index)
        if vectors.shape != (rows, layout.dim):
            raise StoreError(
                f"shard {index} must hold {rows} x {layout.dim} vectors, got {tuple(vectors.shape)}"
            )
        buf = io.BytesIO()
        np.save(buf, _to_disk(vectors, layout.dtype))
        data = buf.getvalue()
        atomic_write_bytes(self.folder / shard_name(index), data)
        return ShardRecord(index, rows, zlib.crc32(data))

    def mark_finished(self, layout: ShardLayout, record: ShardRecord) -> None:
        """Record a written shard in the manifest (the single writer only)."""
        finished = self.finished()
        finished[record.index] = record
        self._write_manifest(layout, finished)

    def put(self, layout: ShardLayout, vectors: np.ndarray) -> None:
        """Store a whole matrix of vectors (already encoded) as shards."""
        with self.writing():
            for index in self.prepare(layout):
                start, stop = layout.bounds(index)
                self.mark_finished(layout, self.write_shard(layout, index, vectors[start:stop]))

    # -- reading ----------------------------------------------------------------------------------------
    def shard(self, index: int) -> np.ndarray:
        """Shard ``index`` as stored (memory-mapped, float16; not checked against its CRC-32)."""
        return self._open(self._complete_layout(), index)

    def _open(self, layout: ShardLayout, index: int, crc32: int | None = None) -> np.ndarray:
        """The memory-mapped shard; with ``crc32`` its bytes are checked first (through the same page
        cache, without a copy in this process)."""
        path = self.folder / shard_name(index)
        try:
            if crc32 is not None:
                with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    if zlib.crc32(mm) != crc32:
                        raise StoreError(
                            f"shard file {path} is damaged (CRC-32 differs); encode the corpus again"
                        )
            arr = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise StoreError(f"shard file {path} cannot be read ({err}); encode the corpus again") from err
        if arr.shape != (layout.shard_rows(index), layout.dim):
            raise StoreError(f"shard file {path} has shape {arr.shape}; encode the corpus again")
        return arr

    def _complete_layout(self) -> ShardLayout:
        layout = self.layout()
        if layout is None or len(self.finished()) != layout.shards:
            raise StoreError(f"the shard store {self.folder} is not complete; run the encoding to finish it")
        return layout

    def iter_shards(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(first row, float32 block)`` per shard, in row order, each checked against its CRC-32: one
        shard in memory at a time (e.g. to add to a FAISS index without two copies of the corpus).
        Raises :class:`~core.runtime.StoreError` on a damaged shard."""
        layout = self._complete_layout()
        records = self.finished()
        for index in range(layout.shards):
            block = self._open(layout, index, records[index].crc32)
            yield layout.bounds(index)[0], np.asarray(block, dtype=np.float32)

    def matrix(self) -> np.ndarray:
        """All vectors as one float32 matrix (rows in corpus order)."""
        layout = self._complete_layout()
        out = np.empty((layout.rows, layout.dim), dtype=np.float32)
        for start, block in self.iter_shards():
            out[start : start + len(block)] = block
        return out
