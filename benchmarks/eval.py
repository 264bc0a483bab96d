"""Seconds to score a full SPAR-Bench predictions file (7,207 questions) on one core.

Measures parsing the predictions JSONL, scoring every question and rendering the report, for the
default protocol (lmms-eval); the other protocols are printed for information. Rows and model
outputs are synthetic but shaped like real ones (numbers in sentences, option letters with
text, view-change strings). Reference: 1.0 s (the issue's limit); ratio = reference / value.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spar_hf.tasks.bench import BENCH_TASKS, CHOICE, NUMERIC, task_kind  # noqa: E402
from spar_hf.eval.evaluate import evaluate  # noqa: E402
from spar_hf.eval.report import render  # noqa: E402
from spar_hf.eval.predictions import read_predictions  # noqa: E402

FULL_BENCH = 7207
QUESTION = "Which object is closer to the red point? A. chair B. table C. lamp D. sofa"
KEYS = ["move_right", "move_left", "move_up", "move_down", "move_forward", "move_backward",
        "rotate_right", "rotate_left", "rotate_up", "rotate_down"]


def synthetic(n: int, seed: int = 0) -> tuple[dict[str, list], list[tuple[int, str]]]:
    rng = random.Random(seed)
    rows: dict[str, list] = {"id": [], "task": [], "answer": [], "question": []}
    preds = []
    for i in range(n):
        task = BENCH_TASKS[i % len(BENCH_TASKS)]
        kind = task_kind(task)
        if kind == NUMERIC:
            answer = f"{rng.uniform(0.2, 6):.1f}"
            pred = rng.choice([f"{rng.uniform(0.2, 6):.2f}", f"The distance is about {rng.uniform(0.2, 6):.1f} meters.",
                               "Point 1 is at 2.0 m and point 2 at 3.5 m", "I am not sure."])
        elif kind == CHOICE:
            answer = rng.choice("ABCD")
            pred = rng.choice(["A", "B", "C.", "D. sofa", "The answer is B", "<answer>C</answer>", ""])
        else:
            answer = ",".join(f"{k}:{rng.uniform(0, 40):.1f}" for k in rng.sample(KEYS, 3))
            pred = rng.choice([",".join(f"{k}:{rng.uniform(0, 40):.1f}" for k in rng.sample(KEYS, 3)),
                               "move right: 1.2, rotate left: 20", "The camera moved forward."])
        rows["id"].append(i)
        rows["task"].append(task)
        rows["answer"].append(answer)
        rows["question"].append(QUESTION)
        preds.append((i, pred))
    return rows, preds


def time_protocol(rows: dict[str, list], path: Path, protocol: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        predictions = read_predictions(path)
        result = evaluate(rows, predictions.by_id, protocol)
        render(result, "json", {"dataset": "synthetic"})
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the question count (default 1 = 7,207)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    n = int(FULL_BENCH * args.scale)
    rows, preds = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.jsonl"
        path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in preds))
        timings = {p: time_protocol(rows, path, p, args.repeat) for p in ("lmms-eval", "vlmevalkit", "strict")}
    for protocol, seconds in timings.items():
        print(f"{protocol:>10}: {seconds:.3f} s for {n} predictions ({n / seconds:,.0f} per s)")
    value = timings["lmms-eval"]
    reference = 1.0 * args.scale
    print(json.dumps({"benchmark": "eval", "metric": f"seconds to parse, score and report {n} predictions (lmms-eval)",
                      "unit": "s", "value": round(value, 4), "reference": reference,
                      "ratio": round(reference / value, 2), "target": 1.0}))


if __name__ == "__main__":
    main()
