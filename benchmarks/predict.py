"""Questions per second that `spar-hf predict` sends to a server that answers at once.

A stub OpenAI-compatible server (tests/fixtures/openai_stub.py, its own process, 127.0.0.1) answers every
chat request as soon as it has read it. The bench is written with `datasets` in the hub schema:
N questions, 1 or 3 JPEG images each (640x480, about 60 KB, like SPAR-Bench's), so each request
carries about 100-250 KB of base64. Ours: the whole `spar-hf predict` command (dataset read,
prompts, base64, the openai client, one flushed line per answer), minus the process start-up.
Peer: a bare httpx loop posting request bodies built beforehand, on as many threads: what the
same server and loopback allow any client. ratio = ours / peer at concurrency 8.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from spar_hf.cli import main  # noqa: E402
from spar_hf.tasks.bench import BENCH_TASKS  # noqa: E402
from spar_hf.eval.chat import chat_messages  # noqa: E402

MODEL = "stub-vl"
DISTINCT_IMAGES = 24


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:480, 0:640]
    base = np.stack([(x * 0.3 + seed * 9) % 256, (y * 0.4 + seed * 5) % 256, ((x + y) * 0.2) % 256], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def write_bench(root: Path, n: int) -> list[tuple[str, str, list[bytes]]]:
    from datasets import Dataset, Features, List, Value
    from datasets import Image as ImageFeature

    images = [_jpeg(i) for i in range(DISTINCT_IMAGES)]
    rows = {k: [] for k in ("id", "img_type", "format_type", "task", "source", "image", "question", "answer")}
    plain = []
    for i in range(n):
        task = BENCH_TASKS[i % len(BENCH_TASKS)]
        count = 3 if task.endswith("_mv") else 1
        files = [images[(i + k) % DISTINCT_IMAGES] for k in range(count)]
        question = f"Question {i}: which object is closer to the camera? A. chair B. table C. lamp D. sofa"
        rows["id"].append(i)
        rows["img_type"].append("multi_view" if count > 1 else "single_view")
        rows["format_type"].append("select")
        rows["task"].append(task)
        rows["source"].append("scannet")
        rows["image"].append([{"bytes": f, "path": None} for f in files])
        rows["question"].append(question)
        rows["answer"].append("A")
        plain.append((task, question, files))
    features = Features({"id": Value("int64"), "img_type": Value("string"), "format_type": Value("string"),
                         "task": Value("string"), "source": Value("string"), "image": List(ImageFeature()),
                         "question": Value("string"), "answer": Value("string")})
    (root / "data").mkdir(parents=True)
    Dataset.from_dict(rows, features=features).to_parquet(str(root / "data" / "test-00000-of-00001.parquet"))
    return plain


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "openai_stub.py"), "--port", str(port), "--no-decode"],
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()  # "serving ..."
    return proc, f"http://127.0.0.1:{port}/v1"


def ours(bench: Path, url: str, out: Path, concurrency: int) -> tuple[float, int]:
    """Seconds of the predict run itself (from its summary line) and questions sent."""
    import contextlib

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = main(["predict", "--dataset", str(bench), "--config", "default", "--base-url", url, "--model", MODEL,
                     "--out", str(out), "--concurrency", str(concurrency)])
    assert code == 0, buffer.getvalue()
    summary = dict(part.split("=", 1) for part in buffer.getvalue().strip().splitlines()[-1].split() if "=" in part)
    assert summary["rejected"] == "0", summary
    return float(summary["seconds"]), int(summary["sent"])


def peer(url: str, plain: list[tuple[str, str, list[bytes]]], concurrency: int) -> float:
    bodies = [json.dumps({"model": MODEL, "messages": chat_messages("lmms-eval", task, question, files), "max_tokens": 100,
                          "temperature": 0}).encode() for task, question, files in plain]
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        def post(body: bytes) -> None:
            response = client.post(url + "/chat/completions", content=body, headers={"Content-Type": "application/json"})
            response.raise_for_status()

        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(post, bodies))
        return time.perf_counter() - start


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="questions = 400 x scale")
    args = parser.parse_args()
    n = max(20, int(400 * args.scale))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plain = write_bench(tmp / "bench", n)
        payload = sum(len(f) for _, _, files in plain for f in files) * 4 / 3 / n / 1024
        print(f"{n} questions, {sum(len(files) for _, _, files in plain)} images, about {payload:.0f} KB of base64 per request")
        server, url = start_server()
        try:
            rates = {}
            for concurrency in (1, 8):
                seconds, sent = ours(tmp / "bench", url, tmp / f"preds-{concurrency}.jsonl", concurrency)
                bare = peer(url, plain, concurrency)
                rates[concurrency] = (sent / seconds, n / bare)
                print(f"concurrency {concurrency}: spar-hf predict {sent / seconds:7.1f} q/s ({seconds:.2f} s), "
                      f"bare httpx {n / bare:7.1f} q/s ({bare:.2f} s)")
        finally:
            server.terminate()
            server.wait()
    value, reference = rates[8]
    print(json.dumps({"benchmark": "predict", "metric": "questions per second sent by spar-hf predict at concurrency 8 "
                      "to a server that answers at once", "unit": "q/s", "value": round(value, 1),
                      "reference": round(reference, 1), "ratio": round(value / reference, 3), "target": 0.25}))


if __name__ == "__main__":
    main_()
