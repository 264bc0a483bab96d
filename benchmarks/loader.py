"""Loader throughput: rows/s of `make_loader` (the README training path) against decoding every row's views
with PIL (the old per-row limit), on the same rows, in one run; plus how many scenes a batch mixes.

Makes a build (synth -> generate every task -> build 7m) unless --dataset is given, shards one split
(samples are chunks of a scene's rows holding each image once), then times these passes over the same
rows, taking turns every --turn rows (CPU time of this process; the shared machine's speed drifts within
seconds, so only sides measured side by side compare):
  limit   every row's JPEG views, already in memory, decoded to RGB PIL images row after row (a view shown
          by 20 rows is decoded 20 times): what a loader over one-sample-per-row shards cannot beat;
  ours    make_loader(index, batch_size=--batch-size, num_workers=0): tar read, json, chunk pool shuffle
          (--shuffle-chunks), each image decoded once per chunk, rows packed into one uint8 tensor with
          offsets: what a training loop receives. The JSON value;
  padded  (printed) the same with layout="padded" ([B, V, 3, H, W] + view mask);
  pil     (printed) SparShards(index) yielding one row at a time with RGB PIL images.
Scenes per batch: distinct scenes in each 32-row batch of ours, next to the same number for per-row
shards (one sample per row, in the order the per-row build wrote them: the layout's file order, task
folder by task folder, each holding every scene; through a 256-row webdataset shuffle; simulated on the
rows' scene names, so it needs no image).
JSON ratio = ours / limit (target 2, compass goal 10).
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

TARGET = 2.0
SCENE_BATCH = 32


def _interleaved(passes: dict, rows: int, repeats: int, turn: int) -> dict[str, list[float]]:
    """CPU seconds per full pass, `repeats` passes per side; each side's iterator yields row counts and the
    sides take turns every `turn` rows, so drift of the machine's speed hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeats):
        iters = {name: make() for name, make in passes.items()}
        spent = dict.fromkeys(passes, 0.0)
        counts = dict.fromkeys(passes, 0)
        while any(counts[name] < rows for name in passes):
            for name, it in iters.items():
                goal = counts[name] + turn
                start = time.process_time()
                for n in it:
                    counts[name] += n
                    if counts[name] >= goal:
                        break
                spent[name] += time.process_time() - start
        for name in passes:
            assert counts[name] == rows, (name, counts[name], rows)
            times[name].append(spent[name])
    return times


def _make_build(tmp: Path, scenes: int, frames: int) -> Path:
    from spar_hf.cli import main

    assert main(["synth", "--out", str(tmp / "scenes"), "--scenes", str(scenes), "--frames", str(frames)]) == 0
    assert main(["generate", "--source", "synthetic", "--scenes", str(tmp / "scenes"), "--out", str(tmp / "spar"),
                 "--workers", "2", "--val-fraction", "0"]) == 0
    assert main(["build", "--from", str(tmp / "spar"), "--out", str(tmp / "hf"), "--configs", "7m", "--workers", "2"]) == 0
    return tmp / "hf"


def _per_row_scenes(scenes_in_build_order: list[str], seed: int) -> float:
    """Mean distinct scenes per 32-row batch for one-sample-per-row shards read through a 256-row shuffle."""
    import webdataset as wds

    order = list(wds.filters._shuffle(iter(scenes_in_build_order), 256, 256, random.Random(seed)))
    return _mean_scenes(order)


def _mean_scenes(scenes: list[str]) -> float:
    batches = [scenes[i:i + SCENE_BATCH] for i in range(0, len(scenes) - SCENE_BATCH + 1, SCENE_BATCH)]
    return statistics.mean(len(set(b)) for b in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=None, help="existing HF_DIR (default: make one)")
    parser.add_argument("--config", default="7m")
    parser.add_argument("--split", default="train")
    parser.add_argument("--scale", action="store_true", help="bigger build (4 scenes x 96 frames: fewer rows per image, closer to SPAR-7M) and 5 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--turn", type=int, default=64, help="rows each side handles before the next takes its turn")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--shuffle-chunks", type=int, default=8)
    parser.add_argument("--chunk-frames", type=int, default=32)
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.scale else 3)

    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["HF_DATASETS_CACHE"] = str(tmp / "cache")

        from PIL import Image

        from spar_hf.shards.source import config_files, read_file
        from spar_hf.shards.writer import write_shards
        from spar_hf.train.loader import SparShards, make_loader

        hf = Path(args.dataset) if args.dataset else _make_build(tmp, 4 if args.scale else 3, 96 if args.scale else 24)
        run = write_shards(hf, args.config, args.split, tmp / "shards", max_size=200_000_000, max_frames=args.chunk_frames)
        index = tmp / "shards" / f"spar-{args.config}-{args.split}.index.json"
        rows = run.index.rows
        files = config_files(hf, args.config, args.split)
        views, scenes, file_order = [], [], []
        for i in range(len(files.files)):
            data = read_file(files, i)
            blobs = {}
            for keys, text in zip(data.views, data.text):
                views.append([blobs.setdefault(k, data.fetch(k)) for k in keys])
                scenes.append(str(text.get("scene", "")))
                file_order.append((str(text.get("task", "")), str(text.get("format", ""))))
            data.close()
        # packs are scene by scene, each scene in file order: a stable sort by task folder gives the layout's order
        layout_order = [scenes[i] for i in sorted(range(len(scenes)), key=file_order.__getitem__)]
        distinct = len({id(v) for row in views for v in row})
        shown = sum(len(row) for row in views)
        bs = args.batch_size

        def decode(data: bytes) -> Image.Image:  # Pillow's decode to an RGB image
            img = Image.open(io.BytesIO(data))
            img.load()
            return img if img.mode == "RGB" else img.convert("RGB")

        def limit():
            for row in views:
                for data in row:
                    decode(data)
                yield 1

        def loader(layout: str):
            def passes():
                for batch in make_loader(str(index), batch_size=bs, num_workers=0, seed=0, layout=layout,
                                         shuffle_chunks=args.shuffle_chunks):
                    yield len(batch["id"])
            return passes

        def pil():
            for row in SparShards(str(index), seed=0, shuffle_chunks=args.shuffle_chunks):
                assert row["images"][0].mode == "RGB"
                yield 1

        sides = {"limit": limit, "ours": loader("packed"), "padded": loader("padded"), "pil": pil}
        for make in sides.values():  # warm-up: imports, first shard open, page cache
            for _ in make():
                pass
        gc.collect()
        gc.freeze()  # the heap of imports: a full collection of it lands on whichever side triggers it
        times = _interleaved(sides, rows, repeats, args.turn)
        rate = {name: rows * len(t) / sum(t) for name, t in times.items()}
        ours_scenes = [row["json"].get("scene", "") for row in SparShards(str(index), seed=0, decode_images=False,
                                                                             shuffle_chunks=args.shuffle_chunks)]
        scenes_ours, scenes_per_row = _mean_scenes(ours_scenes), _per_row_scenes(layout_order, 0)
    print(f"rows={rows} views shown={shown} distinct images={distinct} ({shown / distinct:.1f} views per image) "
          f"samples={run.index.samples} shards={len(run.index.shards)} scenes={len(set(scenes))} repeats={repeats} "
          f"batch_size={bs} shuffle_chunks={args.shuffle_chunks} chunk_frames={args.chunk_frames}")
    print(f"rows/CPU-s: ours={rate['ours']:.1f}  padded={rate['padded']:.1f}  pil={rate['pil']:.1f}  "
          f"PIL per-row limit={rate['limit']:.1f}  ours/limit={rate['ours'] / rate['limit']:.2f}  "
          f"padded/limit={rate['padded'] / rate['limit']:.2f}  pil/limit={rate['pil'] / rate['limit']:.2f}")
    print(f"distinct scenes per {SCENE_BATCH}-row batch: ours={scenes_ours:.2f}  "
          f"per-row shards with a 256-row shuffle={scenes_per_row:.2f}")
    print(json.dumps({"benchmark": "loader",
                      "metric": f"QA rows per CPU second into packed batches (make_loader, batch {bs}, num_workers=0) "
                                "vs decoding every row's views with PIL",
                      "unit": "rows/s", "value": round(rate["ours"], 2), "reference": round(rate["limit"], 2),
                      "ratio": round(rate["ours"] / rate["limit"], 3), "target": TARGET}))


if __name__ == "__main__":
    main()
