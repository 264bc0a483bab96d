"""Push to the Hub, the part every repo type shares: a plan (what --dry-run prints) and its execution.

`spar_hf.builders.push` plans a built HF folder for a dataset repo, `spar_hf.space.push` a Space
bundle for a Gradio Space repo; both end in `execute`, which runs the plan with huggingface_hub.
HUB_LIMITS are the Hub's "Repository limitations and recommendations" (files per repo, entries per
folder, bytes per file); IGNORE is what never leaves a dataset folder (rejects, build state, temp files).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import huggingface_hub
from huggingface_hub.utils import HFValidationError, validate_repo_id

from spar_hf.errors import SparError

HUB_LIMITS = {"files": 100_000, "folder_entries": 10_000, "file_bytes": 20 * 1000**3}
IGNORE = ["rejects/**", ".build/**", ".tmp-*", "**/.tmp-*"]
SPACE_SDK = "gradio"


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
                n = sum(1 for path, _ in self.files if matches(path, commit.allow_patterns))
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


def matches(path: str, patterns: list[str]) -> bool:
    return any(fnmatch(path, pattern) for pattern in patterns)


def hub_limit_problems(files: list[tuple[str, int]], limits: dict[str, int] = HUB_LIMITS) -> list[str]:
    """What in a list of (repo path, bytes) goes past the Hub's limits (empty when nothing does)."""
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
    if repo_id.count("/") != 1:
        raise SparError(f"{option} {repo_id!r}: expected {what + ' ' if what else ''}OWNER/NAME")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise SparError(f"{option} {repo_id!r}: {exc}") from None


def execute(plan: PushPlan, api: Any = None, token: str | None = None) -> list[str]:
    """Run the plan; returns the commit URLs (or the repo URL for upload_large_folder)."""
    if api is None:
        api = huggingface_hub.HfApi(token=token)  # looked up at call time, so a test can stand in for it
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
