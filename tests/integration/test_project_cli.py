"""``python -m core project`` with packaged models: the printed JSON, the HTML and CSV files, the cache,
user errors, and a Banking77 slice whose intents separate on the map (all-MiniLM-L6-v2, UMAP)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from tests.conftest import PERSISTENT_HOME
from tests.tiny_data import write_labeled

pytestmark = pytest.mark.integration


def run_cli(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["project", *args])
    captured = capsys.readouterr()
    out = json.loads(captured.out) if code == 0 and captured.out.strip().startswith("{") else None
    return code, out, captured.err


def test_cli_prints_json_and_writes_html_and_csv(tmp_path, capsys):
    data = write_labeled(tmp_path / "reviews.csv")
    html, csv = tmp_path / "map.html", tmp_path / "points.csv"
    args = ["--dataset", str(data), "--model", "bert-tiny", "--split", "train,test", "--out", str(html)]
    code, out, _ = run_cli(capsys, *args, "--csv", str(csv), "--json")
    assert code == 0
    assert {"points", "method", "silhouette", "silhouette_compare", "seconds"} <= set(out)
    assert out["points"] == 20 and out["method"] == "umap" and out["silhouette_compare"] is None
    assert -1.0 <= out["silhouette"] <= 1.0 and not out["from_cache"]
    text = html.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in text and "reviews · UMAP · 20 of 20 points" in text
    points = pd.read_csv(csv)
    assert len(points) == 20 and {"id", "label", "x", "y", "text"} <= set(points.columns)

    code, again, _ = run_cli(capsys, *args, "--json")
    assert code == 0 and again["from_cache"] and again["silhouette"] == out["silhouette"]

    code, _, _ = run_cli(capsys, *args)  # the human-readable summary
    assert code == 0


def test_cli_user_errors_exit_2_with_one_line(tmp_path, capsys):
    data = write_labeled(tmp_path / "reviews.csv")
    cases = [
        (["--dataset", str(data), "--out", str(tmp_path / "map.png")], "must be an .html file"),
        (["--dataset", "no-such-dataset", "--out", str(tmp_path / "m.html")], "neither a dataset"),
        (["--dataset", str(data), "--max-points", "5", "--out", str(tmp_path / "m.html")], "at least 10"),
        (["--dataset", str(data), "--split", "dev", "--out", str(tmp_path / "m.html")], "no split 'dev'"),
        (
            [
                "--dataset",
                str(data),
                "--model",
                "bert-tiny",
                "--method",
                "umap",
                "--out",
                str(tmp_path / "m.html"),
            ],
            "UMAP needs at least 10 points",  # the test split has 4 rows
        ),
    ]
    for args, message in cases:
        code, _, err = run_cli(capsys, *args)
        assert code == 2, args
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


@pytest.fixture
def persistent_home(monkeypatch):
    """The CLI writes to a workspace kept between test sessions, so its embedding cache is reused."""
    PERSISTENT_HOME.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("ESL_HOME", str(PERSISTENT_HOME))
    return PERSISTENT_HOME


def test_banking77_intents_separate_on_the_minilm_map(data_dir, tmp_path, capsys, persistent_home):
    """Banking77 test split, 10 texts per intent (770 of 3,080), all-MiniLM-L6-v2, UMAP: intents form
    clusters — a positive silhouette in the original space, and on the map points sit beside
    points of their own intent far more often than chance."""
    html, csv = tmp_path / "b77.html", tmp_path / "b77.csv"
    code, out, _ = run_cli(
        capsys,
        "--dataset", str(data_dir / "banking77"),
        "--split", "test",
        "--max-points", "770",
        "--out", str(html),
        "--csv", str(csv),
        "--json",
    )  # fmt: skip
    assert code == 0
    assert out["points"] == 770 and out["total"] == 3080 and out["method"] == "umap"
    assert out["silhouette"] > 0.0
    # neighbours on the map share the intent far above chance (77 intents: chance is 1/77 = 0.013); the
    # exact share moves with the machine's float rounding in UMAP (0.47 on the CI machine)
    assert out["knn_agreement"] > 0.3
    points = pd.read_csv(csv)
    assert points.groupby("label").size().eq(10).all() and points["label"].nunique() == 77
    xy = points[["x", "y"]].to_numpy()
    labels = points["label"].to_numpy()
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :5]
    on_map = (labels[nearest] == labels[:, None]).mean()
    assert on_map > 0.5  # clusters are visible in 2-D, not only in 384-D
