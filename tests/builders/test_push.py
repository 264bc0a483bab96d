"""`spar-hf push`: the plan (what --dry-run prints) and its execution against a recording fake API. No network."""

import pytest

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.builders.push import plan_push
from spar_hf.utils.hub import IGNORE, execute

CARD = """---
configs:
- config_name: 7m
  data_files:
  - split: train
    path: 7m/train/train-*.zip
  metadata_filenames: [metadata-7m]
- config_name: 7m-rgbd
  data_files:
  - split: train
    path: 7m/train/train-*.zip
  metadata_filenames: [metadata-7m-rgbd]
- config_name: bench
  data_files:
  - split: test
    path: bench/test-*.zip
  default: true
---
# card
"""


@pytest.fixture()
def hf_dir(tmp_path):
    root = tmp_path / "spar"
    (root / "7m" / "train").mkdir(parents=True)
    (root / "bench").mkdir()
    (root / "rejects").mkdir()
    (root / ".build").mkdir()
    (root / "README.md").write_text(CARD)
    (root / "7m" / "train" / "train-00000-of-00002.zip").write_bytes(b"a" * 100)
    (root / "7m" / "train" / "train-00001-of-00002.zip").write_bytes(b"b" * 50)
    (root / "bench" / "test-00000-of-00001.zip").write_bytes(b"c" * 10)
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


def test_plan_lists_card_and_packs_once_each(hf_dir):
    plan = plan_push(hf_dir, "me/spar")
    assert plan.configs == ["7m", "7m-rgbd", "bench"]
    assert plan.files == [("README.md", len(CARD)), ("7m/train/train-00000-of-00002.zip", 100),
                          ("7m/train/train-00001-of-00002.zip", 50), ("bench/test-00000-of-00001.zip", 10)]
    assert plan.total_bytes == len(CARD) + 160
    assert plan.method == "upload_folder" and len(plan.commits) == 1
    assert plan.commits[0].allow_patterns == ["README.md", "7m/train/*", "bench/*"]


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
    assert plan.method == "upload_folder per folder"
    assert [c.allow_patterns for c in plan.commits] == [["7m/train/*"], ["bench/*"], ["README.md"]]
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
    (hf_dir / "bench" / "test-00000-of-00001.zip").unlink()
    with pytest.raises(SparError, match="config 'bench' but no file matches bench/test-\\*.zip"):
        plan_push(hf_dir, "me/spar")


def test_push_points_the_card_at_the_repo(tmp_path):
    from spar_hf.builders.run import rewrite_card
    from fixtures.build_layout import make_layout

    spar = make_layout(tmp_path)
    hf = tmp_path / "spar_hf"
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "bench", "--license", "cc-by-4.0"]) == 0
    assert 'load_dataset("spar_hf", "bench")' in (hf / "README.md").read_text()
    rewrite_card(hf, "me/spar")
    card = (hf / "README.md").read_text()
    assert 'load_dataset("me/spar", "bench")' in card and "license: cc-by-4.0" in card
    plan = plan_push(hf, "me/spar")
    assert [p for p, _ in plan.files] == ["README.md", "bench/test-00000-of-00001.zip"]


def _spar7m_groups(scenes: int, seed: int = 0):
    """Scenes sized as SPAR-7M's: ~4,500 scenes holding 100-200 GB of frames and depth (25-45 MB a scene)."""
    import random

    from spar_hf.builders.plan import Group

    rng = random.Random(seed)
    return [Group("scannet", f"scene{i:04d}_00", members={"all": rng.randint(25_000_000, 45_000_000)})
            for i in range(scenes)]


def test_a_spar_7m_size_build_fits_the_hub_limits_and_a_tiny_pack_size_does_not():
    from spar_hf.builders.plan import plan_packs
    from spar_hf.utils.hub import HUB_LIMITS, hub_limit_problems

    groups = _spar7m_groups(4500)
    train, val = groups[:3600], groups[3600:]
    files = [("README.md", 30_000)]
    for part, split in ((train, "train"), (val, "validation")):
        files += [(p.name, p.bytes) for p in plan_packs(part, 500_000_000, "7m", split)]
    total = sum(size for _, size in files)
    assert 100e9 < total < 250e9
    assert hub_limit_problems(files) == []
    assert len(files) < 1000 and max(size for _, size in files) < HUB_LIMITS["file_bytes"]
    tiny = [(p.name, p.bytes) for p in plan_packs(train, 1, "7m", "train")]  # one scene per pack: 3,600 files
    assert hub_limit_problems(tiny, {**HUB_LIMITS, "folder_entries": 1000}) == [
        "7m/train/ holds 3,600 entries (the Hub takes fewer than 1,000 per folder)"]


def test_hub_limits_name_what_goes_past_them():
    from spar_hf.utils.hub import hub_limit_problems

    limits = {"files": 4, "folder_entries": 3, "file_bytes": 100}
    files = [("README.md", 1), ("a/x.zip", 100), ("a/y.zip", 2), ("a/z.zip", 3)]
    assert hub_limit_problems(files, limits) == [
        "4 files (the Hub takes fewer than 4 per repo)",
        "a/ holds 3 entries (the Hub takes fewer than 3 per folder)",
        "a/x.zip is 100 bytes (the Hub takes files under 100)"]


# --- Space bundles: `spar-hf push --space OWNER/NAME --bundle DIR` ---

SPACE_CARD = "---\nsdk: gradio\napp_file: app.py\n---\n# s\n"  # 4 + 12 + 17 + 4 + 4 = 41 bytes
BUNDLE_FILES = ["README.md", "app.py", "requirements.txt", "spar_hf/__init__.py", "spar_hf/eval/data/table4.json"]


@pytest.fixture()
def bundle_dir(tmp_path):
    """A hand-made bundle: five files of known sizes, the manifest, and what running the app leaves."""
    root = tmp_path / "bundle"
    (root / "spar_hf" / "eval" / "data").mkdir(parents=True)
    (root / "README.md").write_text(SPACE_CARD)
    (root / "app.py").write_text("print(1)\n")  # 9 bytes
    (root / "requirements.txt").write_text("numpy\n")  # 6 bytes
    (root / "spar_hf" / "__init__.py").write_text("")  # 0 bytes
    (root / "spar_hf" / "eval" / "data" / "table4.json").write_text("{}")  # 2 bytes
    manifest = '{"spar_hf": "0.1.0", "dataset": "me/spar", "files": ' + str(BUNDLE_FILES).replace("'", '"') + "}\n"
    (root / "spar_bundle.json").write_text(manifest)
    (root / "spar_hf" / "__pycache__").mkdir()
    (root / "spar_hf" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"\0" * 7)
    (root / ".gradio").mkdir()
    (root / ".gradio" / "certificate.pem").write_text("x")
    return root


def test_space_dry_run_prints_plan(bundle_dir, capsys):
    from spar_hf.space.push import SPACE_IGNORE

    manifest_bytes = (bundle_dir / "spar_bundle.json").stat().st_size
    assert main(["push", "--space", "me/spar-browser", "--bundle", str(bundle_dir), "--dry-run"]) == 0
    total = 41 + 9 + 6 + manifest_bytes + 0 + 2
    assert capsys.readouterr().out.splitlines() == [
        "create_repo('me/spar-browser', repo_type='space', space_sdk='gradio', private=False, exist_ok=True)",
        f"upload_folder(repo_id='me/spar-browser', folder_path='{bundle_dir}', repo_type='space', "
        f"ignore_patterns={SPACE_IGNORE}, delete_patterns=['spar_hf/**'], "
        "commit_message='spar-hf space bundle (spar_hf 0.1.0, dataset me/spar)')  # 6 files",
        "  README.md  41 bytes",
        "  app.py  9 bytes",
        "  requirements.txt  6 bytes",
        f"  spar_bundle.json  {manifest_bytes} bytes",
        "  spar_hf/__init__.py  0 bytes",
        "  spar_hf/eval/data/table4.json  2 bytes",
        f"total: 6 files, {total} bytes",
        f"push: in=6 out=0 rejected=0 bytes={total} method=upload_folder dry_run=yes",
    ]


def test_space_plan_is_what_upload_folder_sends(bundle_dir):
    from huggingface_hub.hf_api import DEFAULT_IGNORE_PATTERNS
    from huggingface_hub.utils import filter_repo_objects

    from spar_hf.space.push import plan_space_push

    plan = plan_space_push(bundle_dir, "me/spar-browser")
    everything = sorted(p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file())
    sent = list(filter_repo_objects(everything, ignore_patterns=plan.ignore_patterns + DEFAULT_IGNORE_PATTERNS))
    assert [p for p, _ in plan.files] == sent == sorted([*BUNDLE_FILES, "spar_bundle.json"])


def test_space_execute_one_commit(bundle_dir):
    from spar_hf.space.push import SPACE_IGNORE, plan_space_push

    api = FakeApi()
    plan = plan_space_push(bundle_dir, "me/spar-browser", private=True)
    assert execute(plan, api=api) == ["commit-2"]
    assert api.calls[0] == ("create_repo", "me/spar-browser",
                            {"repo_type": "space", "private": True, "exist_ok": True, "space_sdk": "gradio"})
    name, kw = api.calls[1]
    assert name == "upload_folder" and len(api.calls) == 2
    assert kw == {"repo_id": "me/spar-browser", "folder_path": str(bundle_dir), "repo_type": "space", "allow_patterns": None,
                  "ignore_patterns": SPACE_IGNORE, "delete_patterns": ["spar_hf/**"],
                  "commit_message": "spar-hf space bundle (spar_hf 0.1.0, dataset me/spar)"}
    kw["ignore_patterns"].append("x")  # huggingface_hub appends its defaults in place: the plan must not see it
    assert plan.ignore_patterns == SPACE_IGNORE


def test_space_push_command_uploads(bundle_dir, monkeypatch, capsys):
    import huggingface_hub

    api = FakeApi()
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda token=None: api)
    assert main(["push", "--space", "me/spar-browser", "--bundle", str(bundle_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    assert out[0] == "commit-2"
    assert out[1].startswith("push: in=6 out=6 rejected=0 bytes=")
    assert out[1].endswith("method=upload_folder repo=https://huggingface.co/spaces/me/spar-browser")


def test_space_push_of_a_real_bundle(tmp_path):
    from spar_hf.space.push import plan_space_push
    from spar_hf.space.bundle import write_bundle

    written = write_bundle(tmp_path / "b", "me/spar")
    plan = plan_space_push(written.folder, "me/spar-browser")
    assert [p for p, _ in plan.files] == written.files
    assert plan.total_bytes == written.total_bytes


@pytest.mark.parametrize("argv, message", [
    (["--space", "me/s"], "argument --bundle: required with --space"),
    (["--space", "me/s", "--bundle", "b", "--repo-id", "me/d"], "argument --repo-id: goes with --dataset"),
    (["--dataset", "hf", "--bundle", "b"], "argument --bundle: goes with --space"),
    (["--dataset", "hf"], "argument --repo-id: required with --dataset"),
    (["--dataset", "hf", "--space", "me/s"], "argument --space: not allowed with argument --dataset"),
    (["--bundle", "b"], "one of the arguments --dataset --space is required"),
])
def test_push_mode_combinations_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["push", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: spar-hf push") and f"spar-hf push: error: {message}" in err


def test_space_bad_inputs(bundle_dir, tmp_path, capsys):
    from spar_hf.space.push import plan_space_push

    assert main(["push", "--space", "spar-browser", "--bundle", str(bundle_dir), "--dry-run"]) == 2
    assert "--space 'spar-browser': expected OWNER/NAME" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    with pytest.raises(SparError, match="not a Space bundle \\(no spar_bundle.json\\)"):
        plan_space_push(tmp_path / "plain", "me/s")
    with pytest.raises(SparError, match="not a directory"):
        plan_space_push(tmp_path / "absent", "me/s")
    (bundle_dir / "app.py").unlink()
    with pytest.raises(SparError, match="files of the bundle are missing \\(app.py\\)"):
        plan_space_push(bundle_dir, "me/s")
    (bundle_dir / "spar_bundle.json").write_text("[1]")
    with pytest.raises(SparError, match="not a bundle manifest"):
        plan_space_push(bundle_dir, "me/s")
