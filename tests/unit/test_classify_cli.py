"""``python -m core classify``: arguments map to the job config; user errors exit 2 with one line."""

from __future__ import annotations

import pytest

from core.cli import build_parser, main


def test_arguments_map_to_the_job_config():
    from core.classify import ClassifyConfig
    from core.cli.classify import build_config

    args = build_parser().parse_args(
        [
            "classify",
            "--dataset",
            "d",
            "--method",
            "logreg",
            "--n-per-class",
            "16",
            "--seeds",
            "3",
            "--body",
            "bert-tiny",
            "--max-pairs",
            "0",
            "--num-iterations",
            "5",
        ]
    )
    config = build_config(args)
    assert config.pop("save_model") is False
    cfg = ClassifyConfig.from_dict(config)
    assert cfg.methods == ("logreg",) and cfg.n_values == (16,) and cfg.seeds == (0, 1, 2)
    assert cfg.body == cfg.setfit.body == "bert-tiny"
    assert cfg.setfit.max_pairs is None and cfg.setfit.num_iterations == 5 and cfg.test_limit is None


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["classify", "--dataset", "no-such-dataset"], "no-such-dataset"),
        (["classify", "--dataset", "x", "--method", "logreg", "--register", "m"], "--register needs"),
        (["classify", "--dataset", "x", "--seeds", "0"], "--seeds"),
    ],
)
def test_user_errors_exit_2_with_one_line(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and fragment in err and "\n" not in err


def test_retrieval_dataset_is_refused(capsys, data_dir):
    assert main(["classify", "--dataset", str(data_dir / "scifact")]) == 2
    assert "classify needs labelled texts" in capsys.readouterr().err
