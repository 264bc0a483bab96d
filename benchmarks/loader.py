"""Loader throughput: rows/s of our shard loader (decode included) against the PIL decoding limit,
and against streaming the same Parquet with `datasets`, in one run.

Makes a small build (synth -> generate -> build 7m) unless --dataset is given, shards one split,
then times three passes over the same rows, each decoding every image to an RGB PIL image, taking turns
every --chunk rows (CPU time of this process; the shared machine's speed drifts within seconds):
  ours      SparShards over the shard index (tar read, json, sample shuffle, decode, regroup), num_workers=0;
  limit     the rows' JPEG bytes, already in memory, decoded in a tight PIL loop;
  streaming load_dataset(HF_DIR, config, split, streaming=True) with images left undecoded, the same 256-row
            seeded sample shuffle as ours, then the same PIL decode (so both sides do the same work).
The JSON rates are rows over CPU seconds summed over all --repeats passes; best-pass rates and the median
of per-repeat (paired) ratios are printed too.
JSON ratio = ours / limit (target 0.85); the streaming comparison is printed on the lines before.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

TARGET = 0.85


def _interleaved(passes: dict, rows: int, repeats: int, chunk: int) -> dict[str, list[float]]:
    """CPU seconds per full pass, `repeats` passes per side. The sides take turns every `chunk` rows, so
    the machine's speed (which drifts by tens of percent within seconds on shared cores) is the same for
    all of them; whole passes one after another measured the neighbours more than the loaders."""
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeats):
        iters = {name: make() for name, make in passes.items()}
        spent = dict.fromkeys(passes, 0.0)
        counts = dict.fromkeys(passes, 0)
        while any(counts[name] < rows for name in passes):
            for name, it in iters.items():
                start = time.process_time()
                counts[name] += sum(1 for _ in itertools.islice(it, chunk))
                spent[name] += time.process_time() - start
        for name in passes:
            assert counts[name] == rows, (name, counts[name], rows)
            times[name].append(spent[name])
    return times


def _paired_ratio(times: dict[str, list[float]], ours: str, other: str) -> float:
    """Median over repeats of ours' rate / other's rate within the same repeat."""
    return statistics.median(o / u for u, o in zip(times[ours], times[other]))


def _make_build(tmp: Path, scenes: int, frames: int) -> Path:
    from spar_hf.cli import main

    assert main(["synth", "--out", str(tmp / "scenes"), "--scenes", str(scenes), "--frames", str(frames)]) == 0
    assert main(["generate", "--source", "synthetic", "--scenes", str(tmp / "scenes"), "--out", str(tmp / "spar"),
                 "--tasks", "depth_prediction_oc,depth_prediction_oo_mv,obj_spatial_relation_oo"]) == 0
    assert main(["build", "--from", str(tmp / "spar"), "--out", str(tmp / "hf"), "--configs", "7m"]) == 0
    return tmp / "hf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=None, help="existing HF_DIR (default: make a small one)")
    parser.add_argument("--config", default="7m")
    parser.add_argument("--split", default="train")
    parser.add_argument("--scale", action="store_true", help="bigger build (6 scenes x 16 frames) and 5 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--chunk", type=int, default=8, help="rows each side decodes before the next takes its turn")
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.scale else 7)

    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["HF_DATASETS_CACHE"] = str(tmp / "cache")  # datasets keys local folders by name, not content

        import datasets
        import pyarrow.parquet as pq
        from PIL import Image

        from spar_hf.shards.writer import find_parquet, write_shards
        from spar_hf.train.loader import SparShards

        datasets.disable_progress_bars()
        hf = Path(args.dataset) if args.dataset else _make_build(tmp, 6 if args.scale else 2, 16 if args.scale else 8)
        run = write_shards(hf, args.config, args.split, tmp / "shards", max_size=50_000_000)
        index = tmp / "shards" / f"spar-{args.config}-{args.split}.index.json"
        rows = run.index.samples
        images = [[im["bytes"] for im in r] for f in find_parquet(hf, args.config, args.split)
                  for r in pq.read_table(f, columns=[c for c in ("images", "image") if c in pq.read_schema(f).names])
                  .column(0).to_pylist()]
        n_images = sum(len(r) for r in images)

        def decode(data: bytes) -> Image.Image:  # the same single decode our loader does (decode_rgb)
            img = Image.open(io.BytesIO(data))
            img.load()
            return img if img.mode == "RGB" else img.convert("RGB")

        def ours():
            for sample in SparShards(str(index), seed=0, shuffle_buffer=256):
                assert sample["images"][0].mode == "RGB"
                yield sample

        def limit():  # each image dropped at once, so Pillow reuses one hot buffer: the tightest loop
            for row in images:
                for data in row:
                    decode(data)
                yield len(row)

        image_col = "images" if args.config != "bench" and not args.config.startswith("bench") else "image"

        def streaming():
            ds = datasets.load_dataset(str(hf), args.config, split=args.split, streaming=True)
            ds = ds.cast_column(image_col, datasets.List(datasets.Image(decode=False)))
            ds = ds.shuffle(seed=0, buffer_size=256)
            for row in ds:
                yield [decode(im["bytes"]) for im in row[image_col]]

        times = _interleaved({"limit": limit, "ours": ours, "streaming": streaming}, rows, repeats, args.chunk)
        best = {name: rows / min(t) for name, t in times.items()}
        rate = {name: rows * len(t) / sum(t) for name, t in times.items()}
    print(f"rows={rows} images={n_images} shards={len(run.index.shards)} repeats={repeats} chunk={args.chunk}")
    for label, r in (("all passes", rate), ("best pass", best)):
        print(f"{label}: ours={r['ours']:.1f} rows/s  PIL limit={r['limit']:.1f} rows/s  datasets streaming "
              f"parquet={r['streaming']:.1f} rows/s  ours/limit={r['ours'] / r['limit']:.3f}  "
              f"ours/streaming={r['ours'] / r['streaming']:.3f}")
    print(f"paired medians: ours/limit={_paired_ratio(times, 'ours', 'limit'):.3f}  "
          f"ours/streaming={_paired_ratio(times, 'ours', 'streaming'):.3f}")
    r_ours, r_limit = rate["ours"], rate["limit"]
    print(json.dumps({"benchmark": "loader", "metric": "rows decoded per CPU second (shard loader, num_workers=0)",
                      "unit": "rows/s", "value": round(r_ours, 2), "reference": round(r_limit, 2),
                      "ratio": round(r_ours / r_limit, 3), "target": TARGET}))


if __name__ == "__main__":
    main()
