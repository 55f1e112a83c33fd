"""The ``splade`` adaptation method: its config refuses bad settings and non-SPLADE bases with one clear error,
the job config defaults to SPLADE-tiny and mines with a bi-encoder, the CLI maps its options."""

from __future__ import annotations

import json

import pytest

from core.adapt import METHODS, MODEL_KINDS, AdaptJob, MiningConfig, train_fields
from core.cli import build_parser, main
from core.cli.train import job_config
from core.models import DEFAULT_BI_ENCODER, DEFAULT_SPARSE_MODEL, SPARSE_KIND, TINY_MODEL, resolve_model
from core.runtime import InvalidInput, LabError, ModelNotAvailable
from core.training import DEFAULT_SPLADE_BASE, TRAINERS, SparseConfig, Triples, train_config
from tests.tiny_data import write_beir


def _write_folder(path, config: dict, modules: list | None = None):  # type: ignore[no-untyped-def]
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if modules is not None:
        (path / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    return path


def test_splade_is_a_registered_method_that_makes_a_sparse_encoder():
    assert "splade" in METHODS and MODEL_KINDS["splade"] == SPARSE_KIND
    trainer = TRAINERS["splade"]
    assert trainer.config is SparseConfig and trainer.data == "triples"
    assert trainer.default_base == DEFAULT_SPLADE_BASE == DEFAULT_SPARSE_MODEL
    assert {"query_regularizer_weight", "document_regularizer_weight", "precision"} <= set(
        train_fields("splade")
    )
    assert TRAINERS["contrastive"].default_base == DEFAULT_BI_ENCODER  # the others keep theirs


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"batch_size": 1}, "batch_size"),
        ({"query_regularizer_weight": -1e-5}, "query_regularizer_weight"),
        ({"document_regularizer_weight": 2.0}, "document_regularizer_weight"),
        ({"scale": 0}, "scale"),
        ({"precision": "fp8"}, "precision"),
        ({"max_steps": 0, "epochs": 0}, "at least one step"),
        ({"flops": 1}, "Unknown settings"),
    ],
)
def test_bad_settings_are_one_invalid_input(params, word, tmp_path):
    with pytest.raises(InvalidInput, match=word):
        train_config("splade", "bert-tiny", tmp_path / "m", params)


def test_the_packaged_splade_tiny_and_saved_sparse_encoders_are_accepted(tmp_path):
    cfg = train_config("splade", resolve_model(TINY_MODEL).location, tmp_path / "m", {"max_steps": 3})
    assert cfg.query_regularizer_weight == 5e-5 and cfg.document_regularizer_weight == 3e-5
    saved = _write_folder(
        tmp_path / "saved",
        {"architectures": ["BertForMaskedLM"]},
        [{"type": "sentence_transformers.sparse_encoder.modules.splade_pooling.SpladePooling"}],
    )
    assert train_config("splade", str(saved), tmp_path / "m2").base == str(saved)


def test_a_dense_bi_encoder_is_not_a_splade_base(tmp_path):
    with pytest.raises(ModelNotAvailable, match=r"not a SPLADE model.*masked-LM head"):
        train_config("splade", resolve_model(DEFAULT_BI_ENCODER).location, tmp_path / "m")
    odd = _write_folder(
        tmp_path / "odd",
        {"architectures": ["BertForMaskedLM"]},
        [{"type": "sentence_transformers.base.modules.pooling.Pooling"}],
    )
    with pytest.raises(ModelNotAvailable, match="without SpladePooling"):
        train_config("splade", str(odd), tmp_path / "m")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelNotAvailable, match="architectures none"):
        train_config("splade", str(broken), tmp_path / "m")


def test_fewer_than_two_pairs_fail_before_any_model_is_loaded(tmp_path):
    cfg = train_config("splade", "no-such-model-is-loaded", tmp_path / "m", {"max_steps": 1})
    one, _ = Triples.build([("q", "p", ["n"])], 1)
    with pytest.raises(InvalidInput, match="at least 2"):
        TRAINERS["splade"].train(cfg, one, None)
    assert not (tmp_path / "m").exists()


def test_job_config_defaults_to_splade_tiny_and_mines_with_a_bi_encoder():
    job = AdaptJob.from_dict({"method": "splade", "dataset": "d", "mining": {"method": "dense"}})
    assert job.base == DEFAULT_SPLADE_BASE
    assert job.mining == MiningConfig(method="dense", model=DEFAULT_BI_ENCODER)
    given = AdaptJob.from_dict({"method": "splade", "dataset": "d", "base": "my-splade"})
    assert given.base == "my-splade" and given.mining.model == DEFAULT_BI_ENCODER
    dense = AdaptJob.from_dict({"method": "contrastive", "dataset": "d", "base": "m"})
    assert dense.mining.model == "m"  # unchanged for bi-encoder methods
    assert AdaptJob.from_dict({"method": "mlm", "dataset": "d"}).base == DEFAULT_BI_ENCODER


def test_cli_maps_the_splade_options():
    args = build_parser().parse_args(
        [
            *("train", "splade", "--dataset", "d", "--query-reg", "1e-4", "--doc-reg", "2e-4"),
            *("--precision", "bf16", "--max-steps", "50"),
        ]
    )
    config = job_config(args, "d")
    assert config["base"] == DEFAULT_SPLADE_BASE
    assert config["train"] == {
        "max_steps": 50,
        "precision": "bf16",
        "query_regularizer_weight": 1e-4,
        "document_regularizer_weight": 2e-4,
    }
    dense = job_config(build_parser().parse_args(["train", "contrastive", "--dataset", "d"]), "d")
    assert dense["base"] == DEFAULT_BI_ENCODER and dense["train"] == {}
    ignored = build_parser().parse_args(["train", "mlm", "--dataset", "d", "--query-reg", "1"])
    assert "query_regularizer_weight" not in job_config(ignored, "d")["train"]


def test_cli_refuses_a_bad_splade_setting_with_one_line(capsys, tmp_path, ws):
    data = str(write_beir(tmp_path / "tiny"))
    code = main(["train", "splade", "--dataset", data, "--query-reg", "3"])
    out, err = capsys.readouterr()
    assert code == 2 and not out.strip()
    assert err.startswith("error: ") and "query_regularizer_weight" in err and err.count("\n") == 1
    assert ws.list_runs() == []
    assert issubclass(ModelNotAvailable, LabError)
