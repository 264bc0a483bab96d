"""`spar-hf prompts`: the exact prompt and the image files of every SPAR-Bench question.

Writes FILE (JSONL: id, task, prompt, images) and the images beside it in FILE's folder under
`<stem>_images/`, named `<id>_<k>.<ext>` with the bytes copied unchanged from the dataset; the
`images` paths are relative to FILE's folder. Answers are not written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spar_hf.utils.atomic import atomic_open, atomic_write_bytes
from spar_hf.utils.outdir import check_folder
from spar_hf.utils.report import RejectLog, Summary

BATCH = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prompts",
        help="write the exact prompt and image files per SPAR-Bench question (JSONL)",
        description="Write the prompt each model sees (lmms-eval's sparbench wording) and the images, per id.",
    )
    parser.add_argument("--dataset", required=True, help="HF dataset folder (or hub id) with the bench configs")
    parser.add_argument("--config", default="bench", help="config name (default: bench)")
    parser.add_argument("--out", required=True, help="JSONL to write; images go to <stem>_images/ beside it")
    parser.add_argument("--variant", choices=("default", "gpt4v", "gemini_api"), default="default",
                        help="lmms-eval prompt variant (changes the numeric-task suffix only)")
    parser.add_argument("--pre-prompt", default="", help="text before the first newline (lmms-eval: empty)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.eval.bench_data import image_extension, usable_rows
    from spar_hf.eval.prompts import build_prompt

    out = Path(args.out)
    image_dir_name = f"{out.stem}_images"
    image_dir = check_folder(out.parent / image_dir_name, "--out images folder")
    summary = Summary("prompts")
    rejects_path = out.with_name(out.stem + ".rejects.jsonl")
    with atomic_open(out, "w") as handle, RejectLog(rejects_path, summary) as rejects:
        bar = tqdm(desc="prompts", unit="q", disable=None)
        for row, images in usable_rows(args.dataset, args.config, ["id", "task", "question", "image"], rejects, BATCH):
            bar.update(1)
            ident = int(row["id"])
            names = []
            for k, data in enumerate(images):
                name = f"{image_dir_name}/{ident}_{k}.{image_extension(data)}"
                atomic_write_bytes(out.parent / name, data)
                names.append(name)
            prompt = build_prompt(row["task"], row["question"], variant=args.variant, pre_prompt=args.pre_prompt)
            record = {"id": ident, "task": row["task"], "prompt": prompt, "images": names}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            summary.n_out += 1
        bar.close()
    summary.n_in = summary.n_out + summary.n_rejected
    if rejects.count == 0:
        rejects_path.unlink()
    summary.extra["images_dir"] = str(image_dir)
    print(summary.line())
    return 0
