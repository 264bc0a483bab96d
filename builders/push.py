"""Plan the push of a built HF folder to a dataset repo (`spar-hf push --dataset`).

Only the card and the data files its configs name (`data_files` patterns: packs, or Parquet shards)
go up, each once even when configs share it; `rejects/`, `.build/` and temp files stay local. The
plan refuses a build the Hub would not take well (`hub_limit_problems`). A build up to LARGE_BYTES
goes in one `upload_folder` commit. A bigger one uses `upload_large_folder` (resumable, many commits)
when the installed huggingface_hub has it, and otherwise one `upload_folder` commit per pack folder
followed by the card, so an interrupted push resumes folder by folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import huggingface_hub
from huggingface_hub import DatasetCard

from spar_hf.errors import SparError
from spar_hf.utils.hub import Commit, PushPlan, check_repo_id, hub_limit_problems

LARGE_BYTES = 20 * 1024**3


def card_configs(folder: Path) -> dict[str, list[str]]:
    """Config name -> its data file patterns, as listed in the folder's README.md YAML (what load_dataset offers)."""
    readme = folder / "README.md"
    if not readme.is_file():
        raise SparError(f"{readme}: missing; build the folder with `spar-hf build` first")
    data = DatasetCard.load(readme).data.to_dict()
    configs: dict[str, list[str]] = {}
    for entry in data.get("configs") or []:
        files = entry.get("data_files") or []
        files = [files] if isinstance(files, (str, dict)) else files
        patterns = []
        for item in files:
            paths = item.get("path") if isinstance(item, dict) else item
            patterns += [paths] if isinstance(paths, str) else list(paths or [])
        configs[entry.get("config_name")] = patterns
    if not configs:
        raise SparError(f"{readme}: its YAML lists no configs")
    return configs


def plan_push(folder: str | Path, repo_id: str, private: bool = False, large_bytes: int = LARGE_BYTES,
              api: Any = None) -> PushPlan:
    """Validate the folder and the repo id, list what goes up and how."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SparError(f"{folder}: not a directory")
    check_repo_id(repo_id, "--repo-id")
    configs = card_configs(folder)
    files: list[tuple[str, int]] = [("README.md", (folder / "README.md").stat().st_size)]
    seen = {"README.md"}
    for name, patterns in configs.items():
        found = sorted(p for pattern in patterns for p in folder.glob(pattern) if p.is_file())
        if not found:
            raise SparError(f"{folder}: the card lists config {name!r} but no file matches {', '.join(patterns)}")
        for path in found:
            rel = path.relative_to(folder).as_posix()
            if rel not in seen:
                seen.add(rel)
                files.append((rel, path.stat().st_size))
    problems = hub_limit_problems(files)
    if problems:
        raise SparError(f"{folder}: too big for one Hub repo: {'; '.join(problems)} (build with a larger "
                        "--max-shard-size, or split the configs over repos)")
    folders = list(dict.fromkeys(path.rsplit("/", 1)[0] for path, _ in files[1:]))
    patterns = [f"{f}/*" for f in folders]
    plan = PushPlan(repo_id, folder, private, "upload_folder", list(configs), files)
    has_large = hasattr(api if api is not None else huggingface_hub.HfApi, "upload_large_folder")
    if plan.total_bytes <= large_bytes:
        plan.commits = [Commit(f"spar-hf build: {', '.join(configs)}", ["README.md", *patterns])]
    elif has_large:
        plan.method = "upload_large_folder"
    else:
        plan.method = "upload_folder per folder"
        plan.commits = [Commit(f"spar-hf build: {f}/", [p]) for f, p in zip(folders, patterns)]
        plan.commits.append(Commit("spar-hf build: dataset card", ["README.md"]))
    return plan
