"""Build and shard at growing size: bytes per QA row, build rows/s with 1 and 2 workers, and a projection to SPAR-7M.

Makes N synthetic scenes (--scenes) with every task, builds `7m` + `7m-rgbd` with --workers 1 and 2 (the two
builds must be byte-identical; one scene per pack, as SPAR-7M's ~4,500 scenes make hundreds of packs),
shards the 7m train split, and prints:
- sizes: the SPAR layout (images, depth, poses, QA), the packs shared by 7m/7m-rgbd, the 7m train shards,
  bytes per QA row, distinct frames stored, and what one-copy-per-row storage would have held;
- build throughput: QA rows per wall second with 1 and 2 workers, and MB/s of frames packed;
- a projection to SPAR-7M (7M QA rows over 4,500 scenes, --frames-per-scene keyframes each, 1296x968 colour
  of --colour-kb and 640x480 depth of --depth-kb): pack bytes = frames x (colour + depth) + rows x metadata
  bytes per row measured here. Build time = rows x (seconds per row) + bytes x (seconds per byte): seconds
  per byte from copying the same frames into a zip with plain zipfile (the raw copy), seconds per row from
  the one-worker build minus that copy; spread over 16 workers at the efficiency measured from 1 to 2.
JSON: value = bytes of the 7m-rgbd packs, reference = bytes of the SPAR layout they came from, ratio =
reference / value (sizes: lower is better), target 1/1.5 (packs at most 1.5x the layout; compass goal 1.1x).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

SPAR_ROWS = 7_000_000
SPAR_SCENES = 4_500
CORES = 16
TARGET = round(1 / 1.5, 3)


def _bytes(root: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in root.rglob(pattern) if p.is_file())


def _raw_copy(files: list[Path], target: Path) -> float:
    """Seconds to copy the files into a stored zip with plain zipfile: the floor of any pack writer."""
    import zipfile

    start = time.perf_counter()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.writestr(str(path), path.read_bytes())
    return time.perf_counter() - start


def _timed(argv: list[str]) -> float:
    from spar_hf.cli import main

    start = time.perf_counter()
    assert main(argv) == 0, argv
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=5, help="synthetic scenes (default 5)")
    parser.add_argument("--frames", type=int, default=24, help="frames per synthetic scene (default 24)")
    parser.add_argument("--scale", action="store_true", help="8 scenes x 48 frames")
    parser.add_argument("--frames-per-scene", type=int, default=250,
                        help="SPAR-7M keyframes per scene for the projection (the issue's 100-200 GB of frames "
                             "at ~150 KB is 150-300 per scene)")
    parser.add_argument("--colour-kb", type=float, default=150.0, help="bytes of one 1296x968 JPEG (KB)")
    parser.add_argument("--depth-kb", type=float, default=None,
                        help="bytes of one 640x480 16-bit depth PNG (KB; default: measured on the synthetic frames)")
    args = parser.parse_args()
    scenes, frames = (8, 48) if args.scale else (args.scenes, args.frames)

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["HF_DATASETS_CACHE"] = str(tmp / "cache")
        from spar_hf.builders.run import all_built
        from spar_hf.packs import Pack

        _timed(["synth", "--out", str(tmp / "scenes"), "--scenes", str(scenes), "--frames", str(frames)])
        _timed(["generate", "--source", "synthetic", "--scenes", str(tmp / "scenes"), "--out", str(tmp / "spar"),
                "--workers", "2"])
        layout = tmp / "spar"
        walls = {}
        for workers in (1, 2):
            out = tmp / f"hf{workers}"
            walls[workers] = _timed(["build", "--from", str(layout), "--out", str(out), "--configs", "7m,7m-rgbd",
                                     "--workers", str(workers), "--max-shard-size", "1"])  # a pack per scene, as at scale
        one, two = ({p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "7m").rglob("*.zip"))}
                    for root in (tmp / "hf1", tmp / "hf2"))
        assert one == two, "1 and 2 workers must give byte-identical packs"
        hf = tmp / "hf1"
        built = all_built(hf)
        rows = sum(built["7m"].splits.values())
        pack_bytes = built["7m-rgbd"].pack_bytes
        layout_bytes = _bytes(layout)
        shard_wall = _timed(["shard", "--dataset", str(hf), "--config", "7m", "--split", "train", "--out",
                             str(tmp / "shards")])
        shard_bytes = _bytes(tmp / "shards", "*.tar")
        colour = depth = metadata = 0
        n_colour = n_depth = 0
        per_row_copies = 0
        frame_files: list[Path] = []
        for path in sorted((hf / "7m").rglob("*.zip")):
            with Pack(path) as pack:
                for name in pack.names():
                    if name.startswith("metadata-"):
                        metadata += pack.size(name)
                    elif "/image_depth/" in name or "/video_depth/" in name:
                        depth += pack.size(name)
                        n_depth += 1
                    else:
                        colour += pack.size(name)
                        n_colour += 1
                table = pack.metadata("7m-rgbd", ["file_names", "depth_file_names"])
                for names, depths in zip(table.column("file_names").to_pylist(), table.column("depth_file_names").to_pylist()):
                    per_row_copies += sum(pack.size(n) for n in names + depths)
                frame_files += [layout / n.split("/", 1)[0] / "images" / n.split("/", 1)[1]
                                for n in pack.names() if not n.startswith("metadata-")]
        copy_wall = _raw_copy(frame_files, tmp / "raw.zip")
    depth_kb = args.depth_kb if args.depth_kb is not None else depth / max(n_depth, 1) / 1000
    per_row_meta = metadata / rows
    spar_frames = SPAR_SCENES * args.frames_per_scene
    spar_bytes = spar_frames * (args.colour_kb + depth_kb) * 1000 + SPAR_ROWS * per_row_meta
    rate1, rate2 = rows / walls[1], rows / walls[2]
    efficiency = min(rate2 / (2 * rate1), 1.0)
    per_byte = copy_wall / (colour + depth)
    per_row = max(walls[1] - copy_wall, 0.0) / rows
    wall16 = (SPAR_ROWS * per_row + spar_bytes * per_byte) / (CORES * efficiency)
    copy_mb_s = (colour + depth) / 1e6 / copy_wall
    print(f"scenes={scenes} frames={frames} rows={rows} distinct colour={n_colour} depth={n_depth}")
    print(f"layout={layout_bytes:,} B  packs (7m + 7m-rgbd, shared)={pack_bytes:,} B ({pack_bytes / layout_bytes:.2f}x)  "
          f"7m train shards={shard_bytes:,} B ({shard_bytes / layout_bytes:.2f}x)  one copy per row would be "
          f"{per_row_copies:,} B ({per_row_copies / pack_bytes:.0f}x the packs)")
    print(f"bytes per QA row: packs={pack_bytes / rows:,.0f} (metadata {per_row_meta:,.0f})  shards={shard_bytes / rows:,.0f}")
    print(f"build 7m+7m-rgbd: 1 worker {walls[1]:.1f} s = {rate1:.0f} rows/s, 2 workers {walls[2]:.1f} s = {rate2:.0f} rows/s "
          f"(efficiency {efficiency:.2f}); raw copy of the frames into a zip {copy_wall:.2f} s ({copy_mb_s:.0f} MB/s); "
          f"{per_row * 1e6:.0f} us per row besides; shard 7m/train {shard_wall:.1f} s")
    print(f"SPAR-7M projection: {spar_frames:,} frames x ({args.colour_kb:.0f} + {depth_kb:.0f} KB) + {SPAR_ROWS:,} rows x "
          f"{per_row_meta:,.0f} B = {spar_bytes / 1e9:,.0f} GB of packs for 7m + 7m-rgbd (one copy per row: "
          f"~{spar_bytes / 1e9 * per_row_copies / pack_bytes / 1000:,.1f} TB); build on {CORES} cores ~{wall16 / 3600:.1f} h")
    print(json.dumps({"benchmark": "scale", "metric": "bytes of the 7m-rgbd packs vs the SPAR layout they came from",
                      "unit": "bytes", "value": pack_bytes, "reference": layout_bytes,
                      "ratio": round(layout_bytes / pack_bytes, 3), "target": TARGET}))


if __name__ == "__main__":
    main()
