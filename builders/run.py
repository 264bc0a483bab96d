"""Build configs into an HF folder: packs per config family and split, rejects, resume state, card.

Layout written (what `load_dataset(HF_DIR, config)` and `push_to_hub` expect):
```
HF_DIR/README.md                                  card: YAML configs (data_files, metadata_filenames) + dataset_info
HF_DIR/7m/<split>/<split>-NNNNN-of-NNNNN.zip      packs shared by 7m and 7m-rgbd (each frame and depth map once)
HF_DIR/bench/test-00000-of-00001.zip              one pack per bench config (bench-tiny/, bench-rgbd/ alike)
HF_DIR/spatialforge/train/train-NNNNN-of-NNNNN.zip
HF_DIR/rejects/<config>.jsonl                     every record that did not become a row, with why
HF_DIR/.build/<config>.json                       --resume state: input fingerprint, result, each pack's size and sha256
```
A family (the configs sharing a pack folder) is prepared in `HF_DIR/.tmp-<folder>/` and swapped in
complete, so a crash never leaves a half folder behind. Packs are independent units: `workers > 1`
builds them in a process pool, `engine="ray"` as Ray tasks, with the same bytes either way.
`--resume` reuses a family whose state matches the input and whose packs still have their recorded
size and checksum; after a killed run it keeps the packs already finished in `.tmp-<folder>/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import datasets

from spar_hf.builders.bench import build_bench
from spar_hf.builders.card import write_card
from spar_hf.builders.plan import Scan, plan_packs, scan
from spar_hf.builders.qa import PackJob, PackResult, Reject, build_pack
from spar_hf.builders.result import ConfigResult
from spar_hf.builders.spar import (
    CITATION,
    CONFIG_NAMES,
    CONFIGS,
    HF_SPLITS,
    SPATIALFORGE_SOURCE,
    features_for,
    member_name,
)
from spar_hf.engines.units import run_units
from spar_hf.errors import SparError
from spar_hf.layout.reader import Entry, Problem, SparLayout
from spar_hf.utils.atomic import TMP_PREFIX, atomic_write_text, sweep_temp_files
from spar_hf.utils.outputs import intact, read_state, write_state
from spar_hf.utils.report import RejectLog
from spar_hf.utils.sizes import parse_size

STATE_DIR = ".build"
CARD_STATE = "card.json"  # card settings (licence) so push can re-render the card; the SPAR_DIR it came from
REJECTS_DIR = "rejects"
BUILD_FORMAT = 2  # bump when rows or packs change shape, so --resume rebuilds
HOMEPAGE = "https://arxiv.org/abs/2503.22976"


@dataclass
class BuildResult:
    configs: dict[str, ConfigResult] = field(default_factory=dict)


@dataclass
class Settings:
    """How packs are made and run: the byte budget per pack, and where the units run."""

    max_bytes: int
    workers: int = 1
    engine: str = "local"
    address: str | None = None
    on_pack: Callable[[], None] | None = None


# --- inputs --------------------------------------------------------------------------------------
def input_fingerprint(spar_dir: Path, configs: tuple[str, ...], max_shard_size: str) -> str:
    """Hash of the QA files (path, size, mtime) and the build settings: what --resume compares."""
    digest = hashlib.sha256(f"{BUILD_FORMAT}|{','.join(configs)}|{max_shard_size}".encode())
    for qa_file in SparLayout(spar_dir).files():
        stat = qa_file.path.stat()
        digest.update(f"{qa_file.path.relative_to(spar_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def families(configs: list[str], present: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(pack folder, configs sharing it) to build, in config order. A folder is rebuilt for every
    config that reads it: the requested ones and those already built there (7m beside 7m-rgbd)."""
    out: dict[str, list[str]] = {}
    for name in CONFIG_NAMES:
        folder = CONFIGS[name].packs
        if name in configs or (name in present and any(CONFIGS[c].packs == folder for c in configs)):
            out.setdefault(folder, []).append(name)
    return [(folder, tuple(names)) for folder, names in out.items()]


def _group_key(entry: Entry) -> str:
    """QA rows share the frames of their scene; a SpatialForge row, its image."""
    if entry.source == SPATIALFORGE_SOURCE:
        return entry.record.images[0] if entry.record.images else entry.record.id
    return entry.record.scene


def _members(layout: SparLayout, rgbd: bool) -> Callable[[Entry], list[tuple[str, Path]]]:
    """What a record adds to its pack, for sizing: its colour images, and with `rgbd` their depth maps
    (worked out once per image: a scene's rows show its frames over and over)."""
    cache: dict[tuple[str, str], list[tuple[str, Path]]] = {}

    def of_image(source: str, image: str) -> list[tuple[str, Path]]:
        root = layout.images_root(source)
        out = [(member_name(source, image), root / image)]
        if rgbd:
            try:
                depth = layout.frames(source).depth_path(image)
            except ValueError:
                return out
            out.append((member_name(source, str(depth.relative_to(root))), depth))
        return out

    def members(entry: Entry) -> list[tuple[str, Path]]:
        out = []
        for image in entry.record.images:
            key = (entry.source, image)
            if key not in cache:
                cache[key] = of_image(*key)
            out.extend(cache[key])
        return out

    return members


# --- resume state ----------------------------------------------------------------------------------
def _verified(out_dir: Path, packs: dict[str, dict[str, Any]]) -> bool:
    """Every pack still has the size and sha256 recorded when it was written."""
    return all(intact(out_dir / name, rec["bytes"], rec["sha256"]) for name, rec in packs.items())


def _load_state(out_dir: Path, name: str, fingerprint: str) -> ConfigResult | None:
    path = out_dir / STATE_DIR / f"{name}.json"
    if not path.is_file():
        return None
    state = read_state(path)
    if state.get("fingerprint") != fingerprint:
        return None
    try:
        result = ConfigResult(**state["result"])
    except (KeyError, TypeError) as exc:
        raise SparError(f"{path}: resume state is not a build state ({exc}); delete it to start this output over") from None
    if not _verified(out_dir, result.packs):
        return None
    result.resumed = True
    return result


def _save_state(out_dir: Path, result: ConfigResult, fingerprint: str) -> None:
    payload = {"fingerprint": fingerprint, "result": {k: v for k, v in asdict(result).items() if k != "resumed"}}
    write_state(out_dir / STATE_DIR / f"{result.name}.json", payload)


# --- results ---------------------------------------------------------------------------------------
def dataset_info(name: str, splits: dict[str, int], pack_bytes: int) -> dict[str, Any]:
    """The card's dataset_info entry: features as loaded, split sizes, bytes of the packs."""

    info = datasets.DatasetInfo(description=CONFIGS[name].description, features=features_for(CONFIGS[name]),
                                citation=CITATION, homepage=HOMEPAGE)
    split_dict = datasets.SplitDict()
    for split, n in splits.items():
        split_dict.add(datasets.SplitInfo(name=split, num_examples=n))
    info.splits = split_dict
    info.download_size = pack_bytes
    return info._to_yaml_dict()


def _reject_writer(log: RejectLog, reasons: Counter, spar_dir: Path) -> Callable[[str, str | None, int | None, str | None], None]:
    """Reject callback: files named relative to SPAR_DIR (same bytes wherever it lives)."""
    root = spar_dir.resolve()

    def reject(reason: str, file: str | None, line: int | None, record_id: str | None) -> None:
        if file is not None:
            path = Path(file).resolve()
            file = str(path.relative_to(root)) if path.is_relative_to(root) else file
        log.add(reason, file=file, line=line, record={"id": record_id} if record_id is not None else None)
        reasons[reason.split(":")[0]] += 1

    return reject


def _swap_in(staged: Path, final: Path) -> None:
    """Replace `final` by `staged` (old one renamed away first, then removed)."""
    old = final.parent / f"{TMP_PREFIX}old-{final.name}"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    if staged.exists():
        os.replace(staged, final)
    if old.exists():
        shutil.rmtree(old)


# --- families ---------------------------------------------------------------------------------------
def _job_key(fingerprint: str, configs: tuple[str, ...], job: PackJob) -> str:
    digest = hashlib.sha256(f"{fingerprint}|{','.join(configs)}|{job.name}".encode())
    digest.update(json.dumps(job.refs).encode())
    return digest.hexdigest()


def _run_packs(jobs: list[PackJob], keys: list[str], settings: Settings, resume: bool) -> list[PackResult]:
    """Build every job's pack; results in job order. Each finished pack leaves `<pack>.json` (its job key
    and result) beside it, so with --resume a killed run's finished packs are kept when they verify."""
    results: list[PackResult | None] = [None] * len(jobs)
    todo = []
    for i, (job, key) in enumerate(zip(jobs, keys)):
        done = _finished_pack(job, key) if resume else None
        if done is not None:
            results[i] = done
            if settings.on_pack:
                settings.on_pack()
        else:
            todo.append(i)
    for j, result in run_units(build_pack, [jobs[i] for i in todo], workers=settings.workers,
                               engine=settings.engine, address=settings.address):
        i = todo[j]
        results[i] = result
        atomic_write_text(jobs[i].path + ".json", json.dumps({"key": keys[i], "result": asdict(result)}, sort_keys=True))
        if settings.on_pack:
            settings.on_pack()
    return [r for r in results if r is not None]


def _finished_pack(job: PackJob, key: str) -> PackResult | None:
    """The result a killed run recorded for this very job, when its pack is intact."""
    sidecar = Path(job.path + ".json")
    if not sidecar.is_file():
        return None
    done = read_state(sidecar)
    if done.get("key") != key:
        return None
    result = _pack_result(done["result"])
    if result.bytes and not intact(job.path, result.bytes, result.sha256):
        return None
    return result


def _pack_result(rec: dict[str, Any]) -> PackResult:
    rec = dict(rec)
    rec["rejects"] = [Reject(**r) for r in rec["rejects"]]
    rec["problems"] = [Problem(**p) for p in rec["problems"]]
    return PackResult(**rec)


def build_family(spar_dir: Path, out_dir: Path, folder: str, configs: tuple[str, ...], settings: Settings,
                 fingerprint: str, resume: bool) -> dict[str, ConfigResult]:
    """Scan, plan and build every pack of `folder` for `configs`; swap the folder in; one result per config."""
    layout = SparLayout(spar_dir)
    qa_sources = [s for s in layout.sources() if (s == SPATIALFORGE_SOURCE) == (folder == SPATIALFORGE_SOURCE)]
    rgbd = any(CONFIGS[c].rgbd for c in configs)
    work = out_dir / f"{TMP_PREFIX}{folder}"
    if work.exists() and not resume:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    scans: list[Scan] = []
    jobs: list[PackJob] = []
    for split in HF_SPLITS:
        if not any(split in layout.splits(s) for s in qa_sources):
            continue
        found = scan(layout, qa_sources, split, _group_key, _members(layout, rgbd))
        scans.append(found)
        for i, plan in enumerate(plan_packs(found.groups, settings.max_bytes, folder, HF_SPLITS[split])):
            path = work / HF_SPLITS[split] / f"pack-{i:05d}.zip"
            jobs.append(PackJob(str(spar_dir.resolve()), configs, plan.name, str(path.resolve()), found.files, plan.refs()))
    keys = [_job_key(fingerprint, configs, job) for job in jobs]
    results = _run_packs(jobs, keys, settings, resume)
    return _assemble(spar_dir, out_dir, folder, configs, scans, jobs, results, work)


def _assemble(spar_dir: Path, out_dir: Path, folder: str, configs: tuple[str, ...], scans: list[Scan],
              jobs: list[PackJob], results: list[PackResult], work: Path) -> dict[str, ConfigResult]:
    """Name the packs that hold rows (in order, per split), swap the folder in, write rejects, count."""
    staged = work / "staged"
    if staged.exists():
        shutil.rmtree(staged)
    by_split: dict[str, list[tuple[PackJob, PackResult]]] = {}
    for job, result in zip(jobs, results):
        if result.bytes:
            by_split.setdefault(job.name.split("/")[-2], []).append((job, result))
    packs: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}  # job name -> final name
    for split, items in by_split.items():
        for i, (job, result) in enumerate(items):
            name = f"{folder}/{split}/{split}-{i:05d}-of-{len(items):05d}.zip"
            target = staged / name.split("/", 1)[1]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(job.path, target)
            names[job.name] = name
            packs[name] = {"bytes": result.bytes, "sha256": result.sha256}
    _swap_in(staged, out_dir / folder)
    shutil.rmtree(work)
    out: dict[str, ConfigResult] = {}
    for config in configs:
        reasons: Counter = Counter()
        counts: Counter = Counter()
        files: dict[str, list[str]] = {}
        splits: dict[str, int] = {}
        task_counts: dict[str, dict[str, int]] = {}
        mine: dict[str, dict[str, Any]] = {}
        unique = 0
        with RejectLog(out_dir / REJECTS_DIR / f"{config}.jsonl") as log:
            reject = _reject_writer(log, reasons, spar_dir)
            for found in scans:
                hf_split = HF_SPLITS[found.split]
                counts["in"] += found.n_in
                for p in found.problems:
                    reject(f"unreadable: {p.reason}", p.file, p.line, None)
                for p in found.notes:
                    reject(f"unreadable: {p.reason}", p.file, None, None)
                tasks: Counter = Counter()
                for job, result in zip(jobs, results):
                    if job.name.split("/")[-2] != hf_split:
                        continue
                    for p in result.problems:
                        reject(f"unreadable: {p.reason}", p.file, p.line, None)
                    for r in result.rejects:
                        if r.config == config:
                            reject(r.reason, r.file, r.line, r.record_id)
                    tasks.update(result.task_counts[config])
                    if result.rows[config]:
                        splits[hf_split] = splits.get(hf_split, 0) + result.rows[config]
                        files.setdefault(hf_split, []).append(names[job.name])
                        mine[names[job.name]] = packs[names[job.name]]
                        unique += result.member_bytes
                if tasks:
                    task_counts[hf_split] = dict(sorted(tasks.items()))
        counts["out"] = sum(splits.values())
        counts["rejected"] = sum(reasons.values()) - sum(len(s.notes) for s in scans)
        out[config] = ConfigResult(config, dataset_info(config, splits, sum(p["bytes"] for p in mine.values())),
                                   files, dict(counts), dict(reasons), task_counts, mine, unique)
    return out


def build_bench_config(spar_dir: Path, out_dir: Path, name: str, settings: Settings) -> ConfigResult:
    """One bench config into `<name>/test-00000-of-00001.zip`."""
    work = out_dir / f"{TMP_PREFIX}{name}"
    if work.exists():
        shutil.rmtree(work)
    rel = f"{name}/test-00000-of-00001.zip"
    result = build_bench(spar_dir, name, work / rel, on_row=None)
    reasons: Counter = Counter()
    with RejectLog(out_dir / REJECTS_DIR / f"{name}.jsonl") as log:
        reject = _reject_writer(log, reasons, spar_dir)
        for p in result.problems:
            reject(f"unreadable: {p.reason}", p.file, p.line, None)
        for r in result.rejects:
            reject(r.reason, r.file, r.line, r.record_id)
    _swap_in(work / name, out_dir / name)  # no rows: no pack, and no folder left behind
    shutil.rmtree(work, ignore_errors=True)
    packs = {rel: {"bytes": result.bytes, "sha256": result.sha256}} if result.rows else {}
    splits = {"test": result.rows} if result.rows else {}
    counts = {"in": result.n_in, "out": result.rows, "rejected": len(result.rejects) + len(result.problems),
              "not_drawn": result.not_drawn}
    if settings.on_pack:
        settings.on_pack()
    return ConfigResult(name, dataset_info(name, splits, result.bytes), {"test": [rel]} if result.rows else {},
                        counts, dict(reasons), {"test": dict(sorted(result.task_counts.items()))} if result.rows else {},
                        packs, result.member_bytes)


# --- the build ----------------------------------------------------------------------------------------
def build(spar_dir: str | os.PathLike, out_dir: str | os.PathLike, configs: list[str], *, max_shard_size: str = "500MB",
          resume: bool = False, license: str = "cc-by-nc-4.0", on_config: Callable[[ConfigResult], None] | None = None,
          workers: int = 1, engine: str = "local", address: str | None = None,
          on_pack: Callable[[], None] | None = None) -> BuildResult:
    """Build `configs` from `spar_dir` into `out_dir` and write the card for everything present there."""
    spar_dir, out_dir = Path(spar_dir), Path(out_dir)
    if not spar_dir.is_dir():
        raise SparError(f"{spar_dir}: SPAR_DIR not found")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        raise SparError(f"unknown config(s) {', '.join(unknown)}; choose from {', '.join(CONFIG_NAMES)}")
    settings = Settings(parse_size(max_shard_size, "--max-shard-size"), workers, engine, address, on_pack)
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_temp_files(out_dir)
    for stale in out_dir.glob(f"{TMP_PREFIX}*"):
        if not resume and stale.is_dir():
            shutil.rmtree(stale)
    present = list(all_built(out_dir))
    built: dict[str, ConfigResult] = {}
    for folder, names in families(configs, present):
        fingerprint = input_fingerprint(spar_dir, names, max_shard_size)
        states = {n: _load_state(out_dir, n, fingerprint) for n in names} if resume else {}
        if resume and all(states.values()):
            built.update(states)
            continue
        if CONFIGS[names[0]].kind == "bench":
            made = {names[0]: build_bench_config(spar_dir, out_dir, names[0], settings)}
        else:
            made = build_family(spar_dir, out_dir, folder, names, settings, fingerprint, resume)
        for name, result in made.items():
            _save_state(out_dir, result, fingerprint)
        built.update(made)
    result = BuildResult({n: built[n] for n in CONFIG_NAMES if n in built})
    if on_config is not None:
        for config in result.configs.values():
            on_config(config)
    atomic_write_text(out_dir / STATE_DIR / CARD_STATE,
                      json.dumps({"license": license, "spar_dir": str(spar_dir.resolve())}) + "\n")
    write_card(out_dir, all_built(out_dir), license=license)
    return result


def rewrite_card(out_dir: str | os.PathLike, repo: str) -> Path:
    """Re-render the card of a finished build with `repo` in its load lines (used by push)."""
    out_dir = Path(out_dir)
    state = out_dir / STATE_DIR / CARD_STATE
    license = json.loads(state.read_text(encoding="utf-8"))["license"] if state.is_file() else "cc-by-nc-4.0"
    return write_card(out_dir, all_built(out_dir), license=license, repo=repo)


def all_built(out_dir: Path) -> dict[str, ConfigResult]:
    """Every config with a state file and its packs present (earlier builds into the same folder count)."""
    found: dict[str, ConfigResult] = {}
    for name in CONFIG_NAMES:
        path = out_dir / STATE_DIR / f"{name}.json"
        if path.is_file():
            state = read_state(path)
            try:
                res = ConfigResult(**state["result"])
            except (KeyError, TypeError):
                continue
            if res.files and all((out_dir / f).is_file() for files in res.files.values() for f in files):
                found[name] = res
    return found

