"""Push to the Hub: plan first (what --dry-run prints), then execute with huggingface_hub.

A built HF folder goes to a dataset repo: only the card and the data files its configs name
(`data_files` patterns: packs, or Parquet shards) go up, each once even when configs share it;
`rejects/`, `.build/` and temp files stay local. The plan refuses a build the Hub would not take
well (HUB_LIMITS: files per repo, entries per folder, bytes per file; the Hub's "Repository
limitations and recommendations"). A build up to LARGE_BYTES goes in one `upload_folder` commit. A
bigger one uses `upload_large_folder` (resumable, many commits) when the installed huggingface_hub
has it, and otherwise one `upload_folder` commit per pack folder followed by the card, so an
interrupted push resumes folder by folder.

A Space bundle (`spar-hf space --bundle`) goes to a Gradio Space repo in one `upload_folder`
commit: every file of the folder except what running the app leaves there (`__pycache__`,
`.gradio`) and temp files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError

LARGE_BYTES = 20 * 1024**3
HUB_LIMITS = {"files": 100_000, "folder_entries": 10_000, "file_bytes": 20 * 1000**3}
IGNORE = ["rejects/**", ".build/**", ".tmp-*", "**/.tmp-*"]
SPACE_IGNORE = ["**/__pycache__/**", "__pycache__/**", "*.pyc", ".gradio/**", ".git/**", ".tmp-*", "**/.tmp-*"]
SPACE_SDK = "gradio"
SPACE_DELETE = ["spar_hf/**"]  # a module the new bundle no longer has must not linger on the Space


@dataclass
class Commit:
    message: str
    allow_patterns: list[str] | None  # None: every file not ignored


@dataclass
class PushPlan:
    repo_id: str
    folder: Path
    private: bool
    method: str  # "upload_folder" | "upload_large_folder" | "upload_folder per config"
    configs: list[str]
    files: list[tuple[str, int]]  # path in repo, bytes
    commits: list[Commit] = field(default_factory=list)
    repo_type: str = "dataset"  # or "space" (a Gradio Space bundle)
    ignore_patterns: list[str] = field(default_factory=lambda: list(IGNORE))
    delete_patterns: list[str] | None = None  # repo files matching these and not uploaded are deleted

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    def describe(self) -> list[str]:
        """The planned operations, one per line (what --dry-run prints)."""
        if self.repo_type == "space":
            return self._describe_space()
        lines = [f"create_repo({self.repo_id!r}, repo_type='dataset', private={self.private}, exist_ok=True)"]
        if self.method == "upload_large_folder":
            lines.append(f"upload_large_folder(repo_id={self.repo_id!r}, folder_path={str(self.folder)!r}, "
                         f"repo_type='dataset', ignore_patterns={IGNORE})")
        else:
            for commit in self.commits:
                n = sum(1 for path, _ in self.files if _matches(path, commit.allow_patterns))
                lines.append(f"upload_folder(repo_id={self.repo_id!r}, folder_path={str(self.folder)!r}, repo_type='dataset', "
                             f"allow_patterns={commit.allow_patterns}, commit_message={commit.message!r})  # {n} files")
        for path, size in self.files:
            lines.append(f"  {path}  {size:,} bytes")
        lines.append(f"total: {len(self.files)} files, {self.total_bytes:,} bytes, configs: {', '.join(self.configs)}")
        return lines

    def _describe_space(self) -> list[str]:
        lines = [f"create_repo({self.repo_id!r}, repo_type='space', space_sdk={SPACE_SDK!r}, private={self.private}, exist_ok=True)"]
        for commit in self.commits:
            lines.append(f"upload_folder(repo_id={self.repo_id!r}, folder_path={str(self.folder)!r}, repo_type='space', "
                         f"ignore_patterns={self.ignore_patterns}, delete_patterns={self.delete_patterns}, "
                         f"commit_message={commit.message!r})  # {len(self.files)} files")
        lines += [f"  {path}  {size:,} bytes" for path, size in self.files]
        lines.append(f"total: {len(self.files)} files, {self.total_bytes:,} bytes")
        return lines


def _matches(path: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatch

    return any(fnmatch(path, pattern) for pattern in patterns)


def card_configs(folder: Path) -> dict[str, list[str]]:
    """Config name -> its data file patterns, as listed in the folder's README.md YAML (what load_dataset offers)."""
    from huggingface_hub import DatasetCard

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


def hub_limit_problems(files: list[tuple[str, int]], limits: dict[str, int] = HUB_LIMITS) -> list[str]:
    """What in a list of (repo path, bytes) goes past the Hub's limits (empty when nothing does)."""
    from collections import defaultdict

    problems = []
    if len(files) >= limits["files"]:
        problems.append(f"{len(files):,} files (the Hub takes fewer than {limits['files']:,} per repo)")
    children: dict[str, set[str]] = defaultdict(set)  # folder -> its files and subfolders
    for path, _ in files:
        parts = path.split("/")
        for depth in range(len(parts)):
            children["/".join(parts[:depth]) or "."].add(parts[depth])
    for folder in sorted(children):
        if len(children[folder]) >= limits["folder_entries"]:
            problems.append(f"{folder}/ holds {len(children[folder]):,} entries "
                            f"(the Hub takes fewer than {limits['folder_entries']:,} per folder)")
    for path, size in files:
        if size >= limits["file_bytes"]:
            problems.append(f"{path} is {size:,} bytes (the Hub takes files under {limits['file_bytes']:,})")
    return problems


def check_repo_id(repo_id: str, option: str, what: str = "") -> None:
    """A SparError naming the option unless `repo_id` is a valid OWNER/NAME (`what` says of which repo)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if repo_id.count("/") != 1:
        raise SparError(f"{option} {repo_id!r}: expected {what + ' ' if what else ''}OWNER/NAME")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise SparError(f"{option} {repo_id!r}: {exc}") from None


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
    has_large = hasattr(api if api is not None else _hf_api_class(), "upload_large_folder")
    if plan.total_bytes <= large_bytes:
        plan.commits = [Commit(f"spar-hf build: {', '.join(configs)}", ["README.md", *patterns])]
    elif has_large:
        plan.method = "upload_large_folder"
    else:
        plan.method = "upload_folder per folder"
        plan.commits = [Commit(f"spar-hf build: {f}/", [p]) for f, p in zip(folders, patterns)]
        plan.commits.append(Commit("spar-hf build: dataset card", ["README.md"]))
    return plan


def plan_space_push(folder: str | Path, space_id: str, private: bool = False) -> PushPlan:
    """Validate a Space bundle and the Space id; every file of the bundle goes up in one commit."""
    from spar_hf.space.bundle import read_manifest

    folder = Path(folder)
    if not folder.is_dir():
        raise SparError(f"--bundle {folder}: not a directory")
    check_repo_id(space_id, "--space")
    manifest = read_manifest(folder)
    missing = [name for name in manifest["files"] if not (folder / name).is_file()]
    if missing:
        raise SparError(f"--bundle {folder}: files of the bundle are missing ({', '.join(missing[:5])}); "
                        f"write it again with `spar-hf space --bundle {folder}`")
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not _matches(rel, SPACE_IGNORE):
            files.append((rel, path.stat().st_size))
    dataset = manifest.get("dataset") or "default"
    message = f"spar-hf space bundle (spar_hf {manifest.get('spar_hf', '?')}, dataset {dataset})"
    return PushPlan(space_id, folder, private, "upload_folder", [], files, [Commit(message, None)],
                    repo_type="space", ignore_patterns=list(SPACE_IGNORE), delete_patterns=list(SPACE_DELETE))


def _hf_api_class():
    from huggingface_hub import HfApi

    return HfApi


def execute(plan: PushPlan, api: Any = None, token: str | None = None) -> list[str]:
    """Run the plan; returns the commit URLs (or the repo URL for upload_large_folder)."""
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    extra = {"space_sdk": SPACE_SDK} if plan.repo_type == "space" else {}
    url = api.create_repo(plan.repo_id, repo_type=plan.repo_type, private=plan.private, exist_ok=True, **extra)
    if plan.method == "upload_large_folder":
        api.upload_large_folder(repo_id=plan.repo_id, folder_path=str(plan.folder), repo_type="dataset", ignore_patterns=list(IGNORE))
        return [str(url)]
    done = []
    deletes = {"delete_patterns": list(plan.delete_patterns)} if plan.delete_patterns else {}
    for commit in plan.commits:  # lists are copied: upload_folder appends its defaults to ignore_patterns in place
        info = api.upload_folder(repo_id=plan.repo_id, folder_path=str(plan.folder), repo_type=plan.repo_type,
                                 allow_patterns=commit.allow_patterns, ignore_patterns=list(plan.ignore_patterns),
                                 commit_message=commit.message, **deletes)
        done.append(str(getattr(info, "commit_url", info)))
    return done
