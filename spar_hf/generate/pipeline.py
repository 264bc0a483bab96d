"""The generate pipeline: scene -> keyframes -> visibility -> (video clip) -> task generators -> layout.

`process_scene(job)` does one scene end to end and is a top-level, picklable function, so any
engine (this process, a process pool, Ray tasks) can run it. A scene is atomic: its manifest is
written last, and `run_generate` assembles qa_jsonl from the per-scene parts in sorted scene
order only after every scene is done, so the bytes never depend on worker count or order.

Engines: `ENGINES` maps a name to a function that takes (jobs, workers, **engine_options) and yields
(job, result) pairs in any order, where result is `process_scene`'s dict or the exception it raised.

Fault injection for tests: when the environment variable named by `FAULT_ENV` holds a file path, the
first Ray scene task that creates that file kills its worker with `os._exit(1)` just before writing the
scene manifest (images and parts already written, a half-written temp manifest left behind).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tqdm import tqdm

import spar_hf.layout.writer as layout_writer
from spar_hf import __version__
from spar_hf.engines.ray_engine import run_tasks
from spar_hf.engines.units import run_units
from spar_hf.errors import SparError
from spar_hf.generate.keyframes import keyframes_for
from spar_hf.generate.video import sample_clip
from spar_hf.generate.visibility import compute_scene_records
from spar_hf.layout.split import DEFAULT_VAL_FRACTION, assign_splits
from spar_hf.layout.writer import (MANIFEST, FrameData, assemble, consistent_manifest, scene_parts_dir,
                                   write_rejected_scene, write_scene)
from spar_hf.records import SceneRecords
from spar_hf.scene.model import Frame, Scene
from spar_hf.scene.sources import list_scenes, read_scene
from spar_hf.tasks.taskdef import GenConfig
from spar_hf.tasks.registry import TaskSpec, select_tasks
from spar_hf.utils.atomic import sweep_temp_files
from spar_hf.utils.rng import scene_rng

FAULT_ENV = "SPAR_HF_RAY_FAULT_MARKER"


@dataclass(frozen=True)
class SceneJob:
    """Everything one scene needs; plain data so it pickles across processes."""

    source: str
    scene_dir: str
    scene: str  # folder name = scene id
    source_out: str  # <out>/<source>
    tasks: tuple[str, ...]
    seed: int
    task_config: tuple[tuple[str, Any], ...] = ()

    def params(self) -> dict[str, Any]:
        """What the manifest must match for a resume to reuse this scene."""
        return {"source": self.source, "seed": self.seed, "tasks": list(self.tasks),
                "config": dict(self.task_config), "version": __version__}


def _frame_data(frame: Frame) -> FrameData:
    return FrameData(frame.index, frame.color_path, frame.depth_path, float(frame.depth_scale), frame.pose, frame.intrinsics)


def _video_records(scene: Scene) -> list:
    """ImageRecords of the scene's clip frames in clip order."""
    clip = sample_clip(scene)
    by_index = {rec.frame_index: rec for rec in compute_scene_records(scene, clip).images}
    return [by_index[i] for i in clip if i in by_index]


def build_scene_records(scene: Scene, keyframes: Sequence[int], with_video: bool = False) -> SceneRecords:
    """Visibility on the kept keyframes -> SceneRecords, plus the video clip's records when asked."""
    records = compute_scene_records(scene, list(keyframes))
    if with_video:
        records.video = _video_records(scene)
    return records


def generate_qa(records: SceneRecords, specs: Sequence[TaskSpec], seed: int, task_config: dict[str, Any] | None = None) -> tuple[list, Counter]:
    """Run the task generators on one scene's records; each task draws from its own seeded stream.

    All generators share one `GenConfig` (thresholds and sizes, from `task_config`); they count
    discarded candidates in its `skipped` Counter ("<task>: <reason>"), returned here.
    """
    try:
        config = GenConfig(**(task_config or {}))
    except TypeError as exc:
        raise SparError(f"bad task option: {exc}") from None
    scene_id = records.scene.id
    qa: list = []
    for spec in specs:
        qa.extend(spec.generate(records, scene_rng(seed, scene_id, spec.name), config))
    return qa, config.skipped


def process_scene(job: SceneJob) -> dict[str, Any]:
    """Generate and write one scene; returns its manifest. Bad scene input -> a 'rejected' manifest."""
    out = Path(job.source_out)
    params = job.params()
    (scene_parts_dir(out, job.scene) / MANIFEST).unlink(missing_ok=True)
    try:
        scene = read_scene(job.source, job.scene_dir)
        if scene.id != job.scene:
            raise SparError(f"{job.scene_dir}: scene id {scene.id!r} differs from its folder name")
        if not scene.frames:
            raise SparError(f"{job.scene_dir}: no usable frames")
    except SparError as exc:
        return write_rejected_scene(out, job.scene, params, f"bad scene: {exc}")

    specs = select_tasks(list(job.tasks))
    selected = keyframes_for(scene.source, scene.frames)
    records = build_scene_records(scene, selected, with_video=any(spec.view == "video" for spec in specs))
    kept = [rec.frame_index for rec in records.images]  # visibility may drop frames (unreadable depth)
    clip = [rec.frame_index for rec in records.video]
    qa, skips = generate_qa(records, specs, job.seed, dict(job.task_config))

    frame_ids = sorted(set(kept) | set(clip))
    frames = {i: _frame_data(scene.frame_by_index(i)) for i in frame_ids}
    rows: Counter = Counter(f"{r.task}/{r.format}" for r in qa)
    stats = {
        "frames": len(scene.frames),
        "keyframes": len(kept),
        "keyframes_selected": len(selected),
        "keyframes_with_objects": sum(1 for rec in records.images if rec.visible),
        "objects": len(scene.objects),
        "objects_visible": len(records.objects),
        "video_frames": len(clip),
        "generated": dict(sorted(rows.items())),
        "skips": dict(sorted((str(k), int(v)) for k, v in skips.items())),
        "frames_skipped": dict(sorted(scene.skipped.items())),
    }
    task_formats = {spec.name: tuple(spec.formats) for spec in specs}
    return write_scene(out, scene.id, qa, frames, kept, clip, task_formats, params, stats)


def run_local(jobs: Sequence[SceneJob], workers: int = 1) -> Iterator[tuple[SceneJob, Any]]:
    """Run scenes in this process (workers <= 1) or a spawn process pool; yields (job, result|exception):
    one scene's crash must not lose the others."""
    for i, result in run_units(process_scene, jobs, workers=workers, keep_going=True):
        yield jobs[i], result


def _scene_task(job: SceneJob, fault_marker: str | None) -> dict[str, Any]:
    """The Ray task for one scene: `process_scene`, with the optional test fault armed."""
    if fault_marker and _claim(fault_marker):
        _die_before_manifest()
    return process_scene(job)


def _claim(marker: str) -> bool:
    """True for exactly one caller across all workers: whoever creates the marker file first."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _die_before_manifest() -> None:
    """Make this worker process exit mid-scene: after the images and parts, during the manifest write."""

    def crash(source_dir: Any, scene: str, manifest: dict[str, Any]) -> None:
        parts = layout_writer.scene_parts_dir(source_dir, scene)
        (parts / f".tmp-{layout_writer.MANIFEST}.killed").write_text('{"version": ')
        os._exit(1)

    layout_writer.write_manifest = crash


def run_ray(jobs: Sequence[SceneJob], workers: int = 1, address: str | None = None) -> Iterator[tuple[SceneJob, Any]]:
    """One Ray task per scene (`spar_hf.engines.ray_engine.run_tasks`); yields (job, result|exception).

    `workers` sizes a local Ray session (ignored when connecting to a cluster, which schedules by
    its own CPUs); `address` is `HOST:6379` of a running cluster head (or "auto"). Jobs go with absolute
    paths: a worker's working directory need not be the driver's.
    """
    fault = os.environ.get(FAULT_ENV) or None
    calls = [(dataclasses.replace(job, scene_dir=os.path.abspath(job.scene_dir), source_out=os.path.abspath(job.source_out)),
              fault) for job in jobs]
    yield from run_tasks(_scene_task, jobs, calls, address=address, num_cpus=workers)


Engine = Callable[..., Iterator[tuple[SceneJob, Any]]]
ENGINES: dict[str, Engine] = {"local": run_local, "ray": run_ray}


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise SparError(f"unknown engine {name!r}; choose one of {', '.join(sorted(ENGINES))}")
    return ENGINES[name]


@dataclass
class GenerateReport:
    """What a generate run did, for the command's summary and for tests."""

    scenes: int = 0
    done: int = 0
    resumed: int = 0
    rejected: int = 0
    crashed: int = 0
    records: int = 0
    record_rejects: int = 0
    rows: Counter = field(default_factory=Counter)  # (split, task, format) -> lines
    skips: Counter = field(default_factory=Counter)
    frames_skipped: Counter = field(default_factory=Counter)  # by the reader or visibility, by reason
    reject_reasons: Counter = field(default_factory=Counter)
    keyframes: int = 0
    frames: int = 0
    splits: dict[str, str] = field(default_factory=dict)
    swept: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy (dataclasses.asdict would rebuild Counters from (key, value) pairs)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(sorted(value.items())) if isinstance(value, dict) else value
        out["rows"] = {"/".join(k): v for k, v in sorted(self.rows.items())}
        return out


def run_generate(
    source: str,
    scenes_root: str | Path,
    out: str | Path,
    tasks: str | Sequence[str] | None = None,
    seed: int = 0,
    workers: int = 1,
    engine: str = "local",
    resume: bool = False,
    val_fraction: float | None = None,
    task_config: dict[str, Any] | None = None,
    progress: bool = True,
    engine_options: dict[str, Any] | None = None,
) -> GenerateReport:
    """Generate SPAR-7M QA for every scene under `scenes_root` into `out/<source>/`."""
    specs = select_tasks(tasks)
    if not specs:
        raise SparError("no task generators are registered")
    run = get_engine(engine)
    scene_dirs = list_scenes(source, scenes_root)
    if not scene_dirs:
        raise SparError(f"{scenes_root}: no {source} scenes found")
    source_out = Path(out) / source
    source_out.mkdir(parents=True, exist_ok=True)
    report = GenerateReport(scenes=len(scene_dirs))
    report.swept = sweep_temp_files(source_out)
    config = tuple(sorted((task_config or {}).items()))
    jobs = [SceneJob(source, str(d), Path(d).name, str(source_out), tuple(s.name for s in specs), int(seed), config)
            for d in scene_dirs]
    names = [job.scene for job in jobs]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SparError(f"{scenes_root}: duplicate scene names {', '.join(dupes)}")

    manifests: dict[str, dict[str, Any]] = {}
    todo = []
    for job in jobs:
        found = consistent_manifest(source_out, job.scene, job.params()) if resume else None
        if found is not None:
            manifests[job.scene] = found
            report.resumed += 1
        else:
            todo.append(job)
    crashes: list[dict[str, Any]] = []
    bar = tqdm(total=len(jobs), initial=report.resumed, desc=f"generate {source}", unit="scene", disable=not progress)
    for job, result in run(todo, workers, **(engine_options or {})):
        if isinstance(result, BaseException):
            report.crashed += 1
            crashes.append({"file": job.scene_dir, "line": None, "reason": f"crash: {type(result).__name__}: {result}",
                            "record": {"scene": job.scene, "traceback": getattr(result, "traceback_text", "")}})
        else:
            manifests[job.scene] = result
        bar.update(1)
    bar.close()

    for scene, manifest in manifests.items():
        if manifest.get("status") == "rejected":
            report.rejected += 1
            report.reject_reasons[manifest["reason"].split(":")[0]] += 1
            continue
        report.done += 1
        stats = manifest["stats"]
        report.frames += stats.get("frames", 0)
        report.keyframes += stats.get("keyframes", 0)
        report.skips.update(stats.get("skips", {}))
        report.frames_skipped.update(stats.get("frames_skipped", {}))
        report.record_rejects += manifest.get("rejected", 0)
        report.reject_reasons.update(manifest.get("reject_reasons", {}))
    report.reject_reasons.update(Counter("crash" for _ in crashes))

    fraction = DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction
    usable = sorted(s for s, m in manifests.items() if m.get("status") == "done")
    report.splits = assign_splits(usable, fraction)
    result = assemble(source_out, usable + sorted(s for s, m in manifests.items() if m.get("status") != "done"),
                      report.splits, {spec.name: tuple(spec.formats) for spec in specs}, crashes)
    report.rows = result.rows
    report.records = sum(result.rows.values())
    return report
