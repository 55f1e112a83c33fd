"""Paths on screen: short and human, the workspace's staging folders never shown (components.paths)."""

from __future__ import annotations

from pathlib import Path

from components.paths import SHORT_PATH_CHARS, hide_paths, short_path


def test_short_path_names_the_home_and_workspace_folders():
    home = Path("/home/ann")
    assert short_path("/home/ann/.esl", home=home) == "~/.esl"
    assert short_path("/home/ann", home=home) == "~"
    ws = "/home/ann/.esl"
    assert short_path("/home/ann/.esl", workspace=ws, home=home) == "workspace"
    assert (
        short_path("/home/ann/.esl/models/setfit-b77", workspace=ws, home=home)
        == "workspace/models/setfit-b77"
    )


def test_short_path_keeps_short_paths_and_cuts_long_ones():
    home = Path("/home/ann")
    assert short_path("/tmp/esl-demo", home=home) == "/tmp/esl-demo"
    long = "/srv/teams/search/embedding-lab/workspaces/ann-2026"
    assert len(long) > SHORT_PATH_CHARS
    assert short_path(long, home=home) == "…/workspaces/ann-2026"


def test_a_staged_file_is_named_by_its_file_name():
    ws = "/home/ann/.esl"
    staged = f"{ws}/tmp/1733059200-host-123-abcdef012345/0/corpus.jsonl"
    assert short_path(staged, workspace=ws) == "corpus.jsonl"


def test_hide_paths_rewrites_every_workspace_path_in_a_message():
    ws = "/home/ann/.esl"
    message = (
        f"{ws}/tmp/1733059200-host-123-abcdef012345/0/qrels.tsv, line 2: bad score; "
        f"see {ws}/runs/r1/log.txt. Other: /data/scifact and {ws}-old/x"
    )
    out = hide_paths(message, workspace=ws)
    assert out == (
        f"qrels.tsv, line 2: bad score; see workspace/runs/r1/log.txt. Other: /data/scifact and {ws}-old/x"
    )
    assert "/tmp/" not in out.split("Other")[0]
    assert hide_paths("no paths here", workspace=ws) == "no paths here"
