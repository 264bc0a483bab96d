"""SpatialForge ingestion throughput and memory: records/s on a generated JSONL file, peak RSS at two sizes.

Generates Qwen/LLaVA-style records over all six tasks (64 small JPEGs in an Objects365-like folder)
under a temp dir, then runs `spatialforge.ingest` in a fresh subprocess per size (one core) and reads
that process's own peak RSS. Throughput is records per CPU-second of that process (one core; on a
shared machine wall time mostly measures the neighbours), wall rate printed too, and as a yardstick
for the machine the same file parsed with plain `json.loads`. Reference: 50,000 records/s (the
issue's target); ratio = ours / reference.
The JSON measures the installed hot path (pure Python, or Cython-compiled by `SPAR_HF_COMPILE=1 pip install`,
see setup.py); the larger file is also ingested with `SPAR_HF_PURE=1` (the same sources, interpreted) and
that rate printed.
Default sizes 50k and 200k records; `--scale` uses 250k and 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REFERENCE = 50_000.0
N_IMAGES = 64

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from spar_hf.ingest import spatialforge
from spar_hf.ingest.images import parse_image_roots
from spar_hf.ingest.spatialforge import ingest
ann, images, out = sys.argv[1:4]
t0, c0 = time.perf_counter(), time.process_time()
result = ingest([ann], parse_image_roots([f"objects365={images}"]), out, progress=False)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
t0, c0 = time.perf_counter(), time.process_time()
n = 0
with open(ann, "rb") as fh:
    for line in fh:
        json.loads(line)
        n += 1
parse_cpu = time.process_time() - c0
print(json.dumps({"n_in": result.summary.n_in, "n_out": result.summary.n_out, "wall": wall, "cpu": cpu,
                  "rss_mb": rss, "json_loads_per_cpu_s": n / parse_cpu,
                  "compiled": not spatialforge.__file__.endswith(".py")}))
"""


def make_images(root: Path) -> list[str]:
    from PIL import Image

    refs = []
    for i in range(N_IMAGES):
        rel = f"images/v2/patch{i % 8}/objects365_v2_{i:08d}.jpg"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (640 + 16 * (i % 4), 480), (i * 3 % 256, 80, 120)).save(path, "JPEG", quality=70)
        refs.append(rel)
    return refs


def make_annotations(path: Path, n: int, refs: list[str]) -> None:
    """n records cycling over the six tasks; about 1 in 50 is bad (out-of-range box)."""
    templates = [
        ("Locate the cup in the image and output its bbox.", '```json\n[{{"bbox_2d": [{b}], "label": "cup"}}]\n```'),
        ("Describe the object in region [{b}].", "A red cup on a wooden table."),
        ("How many chairs are there?", "{k}"),
        ("Which is closer to the camera, the chair [{b}] or the table [600, 100, 900, 500]?", "The chair."),
        ("Is the cup [{b}] to the left of the plate [600, 200, 700, 400]?", "Yes."),
        ("From the perspective of the person [{b}], is the dog on their left or right?", "Left."),
    ]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            q, a = templates[i % 6]
            x = i % 500
            b = f"{x}, {100 + i % 300}, {x + 200 + (1000 if i % 50 == 49 else 0)}, {500 + i % 400}"
            rec = {"id": f"r{i}", "image": refs[i % len(refs)],
                   "conversations": [{"from": "human", "value": "<image>\n" + q.format(b=b)},
                                     {"from": "gpt", "value": a.format(b=b, k=i % 7)}]}
            fh.write(json.dumps(rec) + "\n")


def run_child(ann: Path, refs_root: Path, out: Path, pure: bool = False) -> dict:
    env = dict(os.environ, TQDM_DISABLE="1")
    env.pop("SPAR_HF_PURE", None)
    if pure:
        env["SPAR_HF_PURE"] = "1"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(ann), str(refs_root), str(out)],
                          capture_output=True, text=True, env=env, check=True)
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["records_per_s"] = row["n_in"] / row["cpu"]
    row["records_per_wall_s"] = row["n_in"] / row["wall"]
    return row


def run_size(tmp: Path, n: int, refs_root: Path, refs: list[str], pure_too: bool = False) -> dict:
    ann = tmp / f"ann_{n}.jsonl"
    make_annotations(ann, n, refs)
    row = run_child(ann, refs_root, tmp / f"out_{n}")
    row["n"] = n
    row["bytes"] = ann.stat().st_size
    if pure_too:
        row["pure"] = run_child(ann, refs_root, tmp / f"out_{n}_pure", pure=True)
    ann.unlink()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", action="store_true", help="250k and 1M records instead of 50k and 200k")
    args = parser.parse_args()
    small, large = (250_000, 1_000_000) if args.scale else (50_000, 200_000)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-", dir="/tmp") as tmp:
        tmp = Path(tmp)
        refs = make_images(tmp / "o365")
        rows = [run_size(tmp, n, tmp / "o365", refs, pure_too=n == large) for n in (small, large)]
    for row in rows:
        print(f"n={row['n']:>9,d} file={row['bytes'] / 1e6:7.1f} MB  {row['records_per_s']:>9,.0f} records/CPU-s "
              f"({row['records_per_wall_s']:,.0f}/wall-s)  peak RSS {row['rss_mb']:6.1f} MB  out={row['n_out']:,d}  "
              f"[machine check: stdlib json.loads alone {row['json_loads_per_cpu_s']:,.0f} lines/CPU-s]")
    pure = rows[1]["pure"]
    print(f"hot path: {'compiled (Cython)' if rows[1]['compiled'] else 'pure Python (not compiled at install)'}; "
          f"the same {large:,} records with SPAR_HF_PURE=1 (interpreted): {pure['records_per_s']:,.0f} records/CPU-s "
          f"-> compiled/pure x{rows[1]['records_per_s'] / pure['records_per_s']:.2f}")
    growth = rows[1]["rss_mb"] / rows[0]["rss_mb"]
    print(f"peak RSS x{growth:.2f} for x{large // small} records (constant memory: ~x1)")
    value = rows[1]["records_per_s"]
    print(json.dumps({"benchmark": "ingest", "metric": f"SpatialForge JSONL ingest throughput ({large:,} records, per CPU-second of one core)",
                      "unit": "records/s", "value": round(value, 1), "reference": REFERENCE,
                      "ratio": round(value / REFERENCE, 3), "target": 1.0}))


if __name__ == "__main__":
    main()
