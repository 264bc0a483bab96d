"""Plan the push of a Space bundle (`spar-hf space --bundle`) to a Gradio Space repo.

Every file of the bundle goes up in one `upload_folder` commit except what running the app leaves
there (`__pycache__`, `.gradio`) and temp files; files of an earlier bundle that this one no longer
has are deleted (SPACE_DELETE), so a removed module cannot linger on the Space.
"""

from __future__ import annotations

from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.space.bundle import read_manifest
from spar_hf.utils.hub import Commit, PushPlan, check_repo_id, matches

SPACE_IGNORE = ["**/__pycache__/**", "__pycache__/**", "*.pyc", ".gradio/**", ".git/**", ".tmp-*", "**/.tmp-*"]
SPACE_DELETE = ["spar_hf/**"]


def plan_space_push(folder: str | Path, space_id: str, private: bool = False) -> PushPlan:
    """Validate a Space bundle and the Space id; every file of the bundle goes up in one commit."""
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
        if path.is_file() and not matches(rel, SPACE_IGNORE):
            files.append((rel, path.stat().st_size))
    dataset = manifest.get("dataset") or "default"
    message = f"spar-hf space bundle (spar_hf {manifest.get('spar_hf', '?')}, dataset {dataset})"
    return PushPlan(space_id, folder, private, "upload_folder", [], files, [Commit(message, None)],
                    repo_type="space", ignore_patterns=list(SPACE_IGNORE), delete_patterns=list(SPACE_DELETE))
