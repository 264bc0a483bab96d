"""`spar-hf push`: the plan (what --dry-run prints) and its execution against a recording fake API. No network."""

import pytest

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.hub import IGNORE, execute, plan_push

CARD = """---
configs:
- config_name: 7m
  data_files:
  - split: train
    path: 7m/train-*
- config_name: bench
  data_files:
  - split: test
    path: bench/test-*
  default: true
---
# card
"""


@pytest.fixture()
def hf_dir(tmp_path):
    root = tmp_path / "spar"
    (root / "7m").mkdir(parents=True)
    (root / "bench").mkdir()
    (root / "rejects").mkdir()
    (root / ".build").mkdir()
    (root / "README.md").write_text(CARD)
    (root / "7m" / "train-00000-of-00002.parquet").write_bytes(b"a" * 100)
    (root / "7m" / "train-00001-of-00002.parquet").write_bytes(b"b" * 50)
    (root / "bench" / "test-00000-of-00001.parquet").write_bytes(b"c" * 10)
    (root / "rejects" / "7m.jsonl").write_text("{}\n")
    (root / ".build" / "7m.json").write_text("{}")
    return root


class FakeApi:
    def __init__(self, large=False):
        self.calls = []
        if large:
            self.upload_large_folder = lambda **kw: self.calls.append(("upload_large_folder", kw))

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))
        return f"https://huggingface.co/datasets/{repo_id}"

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw))
        return f"commit-{len(self.calls)}"


def test_plan_lists_card_and_shards_only(hf_dir):
    plan = plan_push(hf_dir, "me/spar")
    assert plan.configs == ["7m", "bench"]
    assert plan.files == [("README.md", len(CARD)), ("7m/train-00000-of-00002.parquet", 100),
                          ("7m/train-00001-of-00002.parquet", 50), ("bench/test-00000-of-00001.parquet", 10)]
    assert plan.total_bytes == len(CARD) + 160
    assert plan.method == "upload_folder" and len(plan.commits) == 1
    assert plan.commits[0].allow_patterns == ["README.md", "7m/*.parquet", "bench/*.parquet"]


def test_execute_one_commit(hf_dir):
    api = FakeApi()
    urls = execute(plan_push(hf_dir, "me/spar", private=True, api=api), api=api)
    assert api.calls[0] == ("create_repo", "me/spar", {"repo_type": "dataset", "private": True, "exist_ok": True})
    assert len(api.calls) == 2 and api.calls[1][0] == "upload_folder"
    kw = api.calls[1][1]
    assert kw["repo_id"] == "me/spar" and kw["repo_type"] == "dataset" and kw["ignore_patterns"] == IGNORE
    assert urls == ["commit-2"]


def test_big_build_without_and_with_upload_large_folder(hf_dir):
    api = FakeApi(large=False)
    plan = plan_push(hf_dir, "me/spar", large_bytes=100, api=api)
    assert plan.method == "upload_folder per config"
    assert [c.allow_patterns for c in plan.commits] == [["7m/*.parquet"], ["bench/*.parquet"], ["README.md"]]
    execute(plan, api=api)
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder", "upload_folder", "upload_folder"]
    large = FakeApi(large=True)
    plan = plan_push(hf_dir, "me/spar", large_bytes=100, api=large)
    assert plan.method == "upload_large_folder"
    execute(plan, api=large)
    assert [c[0] for c in large.calls] == ["create_repo", "upload_large_folder"]


def test_dry_run_prints_plan(hf_dir, capsys):
    assert main(["push", "--dataset", str(hf_dir), "--repo-id", "me/spar", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "create_repo('me/spar', repo_type='dataset', private=False, exist_ok=True)"
    assert out[1].startswith("upload_folder(repo_id='me/spar'") and out[1].endswith("# 4 files")
    assert not any("rejects" in line or ".build" in line for line in out)
    assert out[-1].startswith("push: in=4 out=0 rejected=0") and "dry_run=yes" in out[-1]


def test_bad_inputs(hf_dir, tmp_path, capsys):
    assert main(["push", "--dataset", str(hf_dir), "--repo-id", "nope", "--dry-run"]) == 2
    assert "OWNER/NAME" in capsys.readouterr().err
    with pytest.raises(SparError, match="README.md"):
        plan_push(tmp_path, "me/spar")
    (hf_dir / "bench" / "test-00000-of-00001.parquet").unlink()
    with pytest.raises(SparError, match="no Parquet shards"):
        plan_push(hf_dir, "me/spar")


def test_push_points_the_card_at_the_repo(tmp_path):
    from builders.run import rewrite_card
    from test_build_fixture import make_layout

    spar = make_layout(tmp_path)
    hf = tmp_path / "spar_hf"
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "bench", "--license", "cc-by-4.0"]) == 0
    assert 'load_dataset("spar_hf", "bench")' in (hf / "README.md").read_text()
    rewrite_card(hf, "me/spar")
    card = (hf / "README.md").read_text()
    assert 'load_dataset("me/spar", "bench")' in card and "license: cc-by-4.0" in card
    plan = plan_push(hf, "me/spar")
    assert [p for p, _ in plan.files] == ["README.md", "bench/test-00000-of-00001.parquet"]
