"""`spar-hf space --bundle DIR`: a self-contained Hugging Face Space folder, written atomically.

A Gradio Space installs only its requirements.txt, and spar-hf is not on PyPI, so the bundle
carries the app (template/app.py), its card and requirements, and a copy of the spar_hf modules
the app imports. Those are found by reading import statements from app.py on, function-level
ones included, so the Space gets the browser and scorer but none of the torch/ray/ingest code.
Files come from wherever spar_hf is loaded from (checkout, editable or regular install).

The folder is built under a temporary name beside DIR and renamed into place. An existing DIR
is replaced only if it is a bundle (it has spar_bundle.json) holding nothing but what that
bundle wrote and what running it leaves (__pycache__, .gradio).
"""

from __future__ import annotations

import ast
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import SpaceCard

import spar_hf
from spar_hf.errors import SparError
from spar_hf.utils.atomic import TMP_PREFIX
from spar_hf.utils.hub import check_repo_id

PACKAGE = "spar_hf"
TEMPLATE_DIR = "space/template"  # inside the package: app.py, README.md, requirements.txt
TEMPLATE_FILES = ("app.py", "README.md", "requirements.txt")
MANIFEST = "spar_bundle.json"  # app.py reads the preset dataset from it (same name there)
RUNTIME_LEFTOVERS = ("__pycache__", ".gradio")  # what `python app.py` adds to a bundle


@dataclass
class Bundle:
    folder: Path
    files: list[str]  # paths relative to folder, sorted, the manifest included
    dataset: str | None
    replaced: bool  # an earlier bundle was there

    @property
    def total_bytes(self) -> int:
        return sum((self.folder / name).stat().st_size for name in self.files)


def package_root() -> Path:
    """The folder spar_hf is imported from."""
    return Path(spar_hf.__file__).resolve().parent


def _module_file(root: Path, name: str) -> Path | None:
    """File of module `name` (spar_hf.x.y) under the package folder `root`, or None if it is not one."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path, module: str) -> set[str]:
    """Absolute names of every module (or module attribute) an import statement in `path` names."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def runtime_modules(root: Path, entry: Path) -> list[Path]:
    """Files of the spar_hf modules that `entry` (a script) imports, directly or not, and their parent packages."""
    found: dict[str, Path] = {}
    todo = sorted(name for name in _imported_names(entry, "__main__") if name.split(".")[0] == PACKAGE)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = _module_file(root, name)
        if path is None:  # an attribute (`from spar_hf.x import func`), not a module
            continue
        found[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(_imported_names(path, name))
    return sorted(found.values())


def _data_files(package_dir: Path, skip: Path) -> list[Path]:
    """Non-Python files of one package: its own and those of sub-folders that are not packages."""
    out = []
    for entry in sorted(package_dir.iterdir()):
        if entry.name.startswith(".") or entry.name == "__pycache__" or entry == skip:
            continue
        if entry.is_dir() and not (entry / "__init__.py").is_file():
            out += [p for p in sorted(entry.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
                    and not p.name.startswith(".") and p.suffix not in (".py", ".pyc")]
        elif entry.is_file() and entry.suffix not in (".py", ".pyc"):
            out.append(entry)
    return out


def package_files(root: Path | None = None) -> list[str]:
    """Paths (relative to the package's parent, spar_hf/...) of what the Space needs from the package."""
    root = root or package_root()
    template = root / TEMPLATE_DIR
    modules = runtime_modules(root, template / "app.py")
    files = set(modules)
    for package_dir in {m.parent for m in modules if m.name == "__init__.py"}:
        files.update(_data_files(package_dir, template))
    return sorted(f"{PACKAGE}/{p.relative_to(root).as_posix()}" for p in files)


def check_hub_id(dataset: str) -> str:
    """The dataset a Space shows must be a hub id: the Space cannot read a folder of this machine."""
    if Path(dataset).exists():
        raise SparError(f"--dataset {dataset}: a local folder; a Space reads a hub dataset: upload it with "
                        f"`spar-hf push --dataset {dataset} --repo-id OWNER/NAME` and pass OWNER/NAME")
    check_repo_id(dataset, "--dataset", "a hub dataset id")
    return dataset


def _present_files(folder: Path) -> set[str]:
    """Files under `folder` (relative posix paths), leaving out what running the app adds."""
    present = set()
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if path.is_dir() or any(part in RUNTIME_LEFTOVERS for part in rel.parts) or path.suffix == ".pyc":
            continue
        present.add(rel.as_posix())
    return present


def read_manifest(folder: Path) -> dict:
    """The manifest of a bundle folder; SparError if `folder` is not one."""
    path = folder / MANIFEST
    if not path.is_file():
        raise SparError(f"{folder}: not a Space bundle (no {MANIFEST}); write one with `spar-hf space --bundle {folder}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SparError(f"{path}: not a bundle manifest ({exc})") from None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise SparError(f"{path}: 'files' is not a list of paths")
    return manifest


def _replaceable(folder: Path) -> bool:
    """False if `folder` is absent or empty, True if it is an earlier bundle; SparError otherwise."""
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise SparError(f"--bundle {folder}: exists and is not a folder")
    if not any(folder.iterdir()):
        return False
    fresh = "pass a new or empty folder"
    if not (folder / MANIFEST).is_file():
        raise SparError(f"--bundle {folder}: not empty and not a Space bundle (no {MANIFEST}); {fresh} "
                        "(a folder written by `spar-hf space --bundle` is replaced)")
    extra = sorted(_present_files(folder) - set(read_manifest(folder)["files"]) - {MANIFEST})
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise SparError(f"--bundle {folder}: an earlier bundle, but it also holds files the bundle did not write "
                        f"({shown}); move them out or {fresh}")
    return True


def _write_readme(template: Path, out: Path, dataset: str | None) -> None:
    """The card with its front matter; a preset dataset becomes the Space's linked dataset."""
    if dataset is None:
        shutil.copyfile(template, out)
        return

    card = SpaceCard.load(template)
    card.data.datasets = [dataset]
    out.write_text(str(card), encoding="utf-8")


def write_bundle(folder: str | os.PathLike, dataset: str | None = None) -> Bundle:
    """Write the Space folder at `folder` (see the module docstring); returns what was written."""
    folder = Path(folder)
    if dataset is not None:
        check_hub_id(dataset)
    replaced = _replaceable(folder)
    root = package_root()
    template = root / TEMPLATE_DIR
    folder.absolute().parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.absolute().parent / f"{TMP_PREFIX}{folder.name}.{os.getpid()}.{secrets.token_hex(4)}"
    tmp.mkdir()  # not mkdtemp: the bundle keeps the umask's permissions, not 0700
    try:
        for name in TEMPLATE_FILES:
            if name == "README.md":
                _write_readme(template / name, tmp / name, dataset)
            else:
                shutil.copyfile(template / name, tmp / name)
        copied = package_files(root)
        for rel in copied:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel.partition("/")[2], tmp / rel)
        files = sorted([*TEMPLATE_FILES, *copied])
        manifest = {"spar_hf": spar_hf.__version__, "dataset": dataset, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if replaced:
            old = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{folder.name}.old.", dir=tmp.parent))
            os.replace(folder, old / folder.name)
            os.replace(tmp, folder)
            shutil.rmtree(old)
        else:
            os.replace(tmp, folder)  # an empty folder there is replaced too
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Bundle(folder, sorted([*files, MANIFEST]), dataset, replaced)
