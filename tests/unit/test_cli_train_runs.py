"""``python -m core train`` argument handling and ``python -m core runs list|show|cancel|delete``."""

from __future__ import annotations

import json

from core.adapt import AdaptJob, MiningConfig
from core.cli import main
from core.runtime import jobs
from tests.tiny_data import write_beir


def run_cli(capsys, *args: str):  # type: ignore[no-untyped-def]
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_train_refuses_bad_settings_before_any_work(capsys, tmp_path, ws):
    data = str(write_beir(tmp_path / "tiny"))
    code, out, err = run_cli(
        capsys, "train", "mlm", "--dataset", data, "--base", "bert-tiny", "--mlm-probability", "2"
    )
    assert code == 2 and out is None
    assert err.startswith("error: ") and "mlm_probability" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "train", "contrastive", "--dataset", str(tmp_path / "nope"))
    assert code == 2 and "error:" in err
    code, _, err = run_cli(
        capsys, "train", "contrastive", "--dataset", data, "--base", "no-such-model", "--max-steps", "1"
    )
    assert code == 1 and "Unknown model" in err  # the job itself failed: recorded as a failed run
    assert ws.list_runs()[0].status == "failed"


def test_train_job_config_maps_the_options():
    from core.cli import build_parser
    from core.cli.train import job_config

    args = build_parser().parse_args(
        [
            "train",
            "contrastive",
            "--dataset",
            "d",
            "--negatives",
            "both",
            "--epochs",
            "3",
            "--margin",
            "-1",
            "--num-negatives",
            "2",
        ]
    )
    config = job_config(args, "d")
    assert config["method"] == "contrastive" and config["train"] == {"epochs": 3.0}
    # the settings given, the rest MiningConfig's defaults (what the job reads back)
    mining = AdaptJob.from_dict(config).mining
    assert mining == MiningConfig(method="both", num_negatives=2, relative_margin=None)
    mlm = job_config(build_parser().parse_args(["train", "mlm", "--dataset", "d", "--max-steps", "5"]), "d")
    assert "mining" not in mlm and mlm["train"] == {"max_steps": 5}


def test_runs_list_show_cancel_delete(capsys, ws):
    done = jobs.run_inline(ws, "sleep", {"steps": 2, "delay": 0.0}, title="quick")
    running = jobs.submit(ws, "sleep", {"steps": 1000, "delay": 0.1}, title="long")
    code, rows, _ = run_cli(capsys, "runs", "list")
    assert code == 0 and {r["title"] for r in rows} == {"quick", "long"}
    code, shown, _ = run_cli(capsys, "runs", "show", done.id)
    assert shown["status"] == "done" and "finished" in shown["log"]
    code, _, err = run_cli(capsys, "runs", "delete", running)
    assert code == 2 and "cancel it" in err
    code, row, _ = run_cli(capsys, "runs", "cancel", running, "--wait", "20")
    assert code == 0 and row["status"] == "cancelled"
    code, deleted, _ = run_cli(capsys, "runs", "delete", running)
    assert code == 0 and deleted == {"deleted": running} and ws.get_run(running) is None
    code, _, err = run_cli(capsys, "runs", "show", "nope")
    assert code == 2 and "No run" in err
