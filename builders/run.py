"""Build configs of the SPAR builder into an HF folder: Parquet per config/split, rejects, card.

Layout written (what `load_dataset(HF_DIR, config)` and `push_to_hub` expect):
```
HF_DIR/README.md                                  card with YAML configs + dataset_info
HF_DIR/<config>/<split>-NNNNN-of-NNNNN.parquet
HF_DIR/rejects/<config>.jsonl                     every record that did not become a row, with why
HF_DIR/.build/<config>.json                       state for --resume (input fingerprint, split info, counts)
```
A config is prepared in `HF_DIR/.tmp-<config>/` and swapped in only when complete, so a crash
never leaves a half config behind; `--resume` skips configs whose state matches the input.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from spar_hf.atomic import TMP_PREFIX, atomic_write_text, sweep_temp_files
from spar_hf.errors import SparError
from spar_hf.report import RejectLog

STATE_DIR = ".build"
CARD_STATE = "card.json"  # card settings (licence) so push can re-render the card
REJECTS_DIR = "rejects"
BUILD_FORMAT = 1  # bump when rows change shape, so --resume rebuilds


@dataclass
class ConfigResult:
    """What one built config produced: split sizes and files, counts, per-task row counts."""

    name: str
    info: dict[str, Any]  # DatasetInfo._to_yaml_dict()
    files: dict[str, list[str]]  # split -> files relative to HF_DIR
    counts: dict[str, int]
    reasons: dict[str, int]
    task_counts: dict[str, dict[str, int]]  # split -> task -> rows
    resumed: bool = False

    @property
    def splits(self) -> dict[str, int]:
        return {s["name"]: int(s["num_examples"]) for s in self.info.get("splits", [])}


@dataclass
class BuildResult:
    configs: dict[str, ConfigResult] = field(default_factory=dict)


def input_fingerprint(spar_dir: Path, config: str, max_shard_size: str) -> str:
    """Hash of the QA files (path, size, mtime) and the build settings: what --resume compares."""
    from spar_hf.layout.reader import SparLayout

    digest = hashlib.sha256(f"{BUILD_FORMAT}|{config}|{max_shard_size}".encode())
    for qa_file in SparLayout(spar_dir).files():
        stat = qa_file.path.stat()
        digest.update(f"{qa_file.path.relative_to(spar_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _reject_writer(log: RejectLog, reasons: Counter, spar_dir: Path) -> Callable:
    """Reject callback for the builder: files named relative to SPAR_DIR (same bytes wherever it lives)."""
    root = spar_dir.resolve()

    def reject(reason: str, file: str | None, line: int | None, record_id: str | None) -> None:
        if file is not None:
            path = Path(file).resolve()
            file = str(path.relative_to(root)) if path.is_relative_to(root) else file
        log.add(reason, file=file, line=line, record={"id": record_id} if record_id is not None else None)
        reasons[reason.split(":")[0]] += 1

    return reject


def _collect_shards(prepared: Path, dataset_name: str, split: str) -> list[Path]:
    """The Parquet files datasets wrote for a split, in shard order."""
    single = prepared / f"{dataset_name}-{split}.parquet"
    if single.is_file():
        return [single]
    return sorted(prepared.glob(f"{dataset_name}-{split}-*.parquet"))


def _swap_in(tmp_config: Path, final: Path) -> None:
    """Replace `final` by `tmp_config` (old one renamed away first, then removed)."""
    old = final.parent / f"{TMP_PREFIX}old-{final.name}"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp_config, final)
    if old.exists():
        shutil.rmtree(old)


def build_config(spar_dir: Path, out_dir: Path, name: str, max_shard_size: str = "500MB") -> ConfigResult:
    """Prepare one config with `download_and_prepare` and move its shards to `<out>/<name>/`."""
    from spar_hf.builders.spar import CONFIGS, Spar

    if name not in CONFIGS:
        raise SparError(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")
    work = out_dir / f"{TMP_PREFIX}{name}"
    if work.exists():
        shutil.rmtree(work)
    reasons: Counter = Counter()
    with RejectLog(out_dir / REJECTS_DIR / f"{name}.jsonl") as log:
        builder = Spar(config_name=name, data_dir=str(spar_dir), cache_dir=str(work / "cache"), reject=_reject_writer(log, reasons, spar_dir))
        builder.download_and_prepare(output_dir=str(work / "prepared"), file_format="parquet", max_shard_size=max_shard_size)
    staged = work / "config"
    staged.mkdir(parents=True)
    files: dict[str, list[str]] = {}
    info = builder.info._to_yaml_dict()
    info["splits"] = [s for s in info.get("splits", []) if s["num_examples"]]  # an empty split would not load
    for split in builder.info.splits:
        shards = _collect_shards(work / "prepared", builder.dataset_name, split)
        if not builder.info.splits[split].num_examples:
            continue
        names = []
        for i, shard in enumerate(shards):
            target = f"{split}-{i:05d}-of-{len(shards):05d}.parquet"
            os.replace(shard, staged / target)
            names.append(f"{name}/{target}")
        files[split] = names
    if files:
        _swap_in(staged, out_dir / name)
    elif (out_dir / name).exists():
        shutil.rmtree(out_dir / name)  # nothing to load: no folder, and the card leaves the config out
    shutil.rmtree(work)
    task_counts: dict[str, dict[str, int]] = {}
    for (split, task), count in sorted(builder.task_counts.items()):
        task_counts.setdefault(split, {})[task] = count
    return ConfigResult(name, info, files, dict(builder.counts), dict(reasons), task_counts)


def _load_state(out_dir: Path, name: str, fingerprint: str) -> ConfigResult | None:
    path = out_dir / STATE_DIR / f"{name}.json"
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("fingerprint") != fingerprint:
        return None
    result = ConfigResult(**state["result"])
    if not all((out_dir / f).is_file() for files in result.files.values() for f in files):
        return None
    result.resumed = True
    return result


def _save_state(out_dir: Path, result: ConfigResult, fingerprint: str) -> None:
    payload = {"fingerprint": fingerprint, "result": {k: v for k, v in result.__dict__.items() if k != "resumed"}}
    atomic_write_text(out_dir / STATE_DIR / f"{result.name}.json", json.dumps(payload, indent=1, sort_keys=True) + "\n")


def build(spar_dir: str | os.PathLike, out_dir: str | os.PathLike, configs: list[str], *, max_shard_size: str = "500MB",
          resume: bool = False, license: str = "cc-by-nc-4.0", on_config: Callable[[ConfigResult], None] | None = None,
          engine: Callable[[Callable, dict[str, tuple]], dict[str, ConfigResult]] | None = None) -> BuildResult:
    """Build `configs` from `spar_dir` into `out_dir` and write the card for everything present there.

    `engine(build_config, {name: args})` (e.g. `spar_hf.engines.ray_engine.map_ordered`) builds the
    configs that need it in parallel first; states, callbacks and the card then follow in config order.
    """
    from spar_hf.builders.card import write_card

    spar_dir, out_dir = Path(spar_dir), Path(out_dir)
    if not spar_dir.is_dir():
        raise SparError(f"{spar_dir}: SPAR_DIR not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(out_dir)
    for stale in out_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale)
    result = BuildResult()
    prebuilt: dict[str, ConfigResult] = {}
    if engine is not None:
        todo = {name: (spar_dir.resolve(), out_dir.resolve(), name, max_shard_size) for name in configs  # workers' cwd may differ
                if not (resume and _load_state(out_dir, name, input_fingerprint(spar_dir, name, max_shard_size)))}
        prebuilt = engine(build_config, todo) if todo else {}
    for name in configs:
        fingerprint = input_fingerprint(spar_dir, name, max_shard_size)
        done = _load_state(out_dir, name, fingerprint) if resume else None
        if done is None:
            done = prebuilt.pop(name, None) or build_config(spar_dir, out_dir, name, max_shard_size)
            _save_state(out_dir, done, fingerprint)
        result.configs[name] = done
        if on_config is not None:
            on_config(done)
    atomic_write_text(out_dir / STATE_DIR / CARD_STATE, json.dumps({"license": license}) + "\n")
    write_card(out_dir, all_built(out_dir), license=license)
    return result


def rewrite_card(out_dir: str | os.PathLike, repo: str) -> Path:
    """Re-render the card of a finished build with `repo` in its load lines (used by push)."""
    from spar_hf.builders.card import write_card

    out_dir = Path(out_dir)
    state = out_dir / STATE_DIR / CARD_STATE
    license = json.loads(state.read_text(encoding="utf-8"))["license"] if state.is_file() else "cc-by-nc-4.0"
    return write_card(out_dir, all_built(out_dir), license=license, repo=repo)


def all_built(out_dir: Path) -> dict[str, ConfigResult]:
    """Every config with a state file and its shards present (earlier builds into the same folder count)."""
    from spar_hf.builders.spar import CONFIG_NAMES

    found: dict[str, ConfigResult] = {}
    for name in CONFIG_NAMES:
        path = out_dir / STATE_DIR / f"{name}.json"
        if path.is_file():
            state = json.loads(path.read_text(encoding="utf-8"))
            res = ConfigResult(**state["result"])
            if res.files and all((out_dir / f).is_file() for files in res.files.values() for f in files):
                found[name] = res
    return found
