"""`spar-hf predict`: ask a model behind an OpenAI-compatible endpoint every SPAR-Bench question.

Writes the predictions JSONL `spar-hf eval` scores, one line per answer as it arrives; `--resume`
continues a file an interrupted run left, sending only the ids it lacks. Questions without an
answer after the retries go to `<stem>.rejects.jsonl` (and are sent again by the next --resume).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spar_hf.errors import SparError
from spar_hf.eval.chat import PROTOCOLS
from spar_hf.utils.report import RejectLog, Summary


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="run a model behind an OpenAI-compatible endpoint (vLLM, SGLang, TGI, LMDeploy, an API) on SPAR-Bench",
        description="One chat request per question (the protocol's prompt and the row's images as data URLs); "
        "answers are appended to OUT as they arrive. The key comes from OPENAI_API_KEY when set.",
    )
    parser.add_argument("--dataset", required=True, help="HF dataset folder (or hub id) with the bench configs")
    parser.add_argument("--config", default="bench", help="config name, e.g. bench or bench-tiny (default: bench)")
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible root, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", required=True, help="model name as the endpoint serves it (checked against /models)")
    parser.add_argument("--out", required=True, help="predictions JSONL to write (appended to with --resume)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight at once (default: 4)")
    parser.add_argument("--resume", action="store_true", help="continue OUT: send only the ids it does not hold yet")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="lmms-eval",
                        help="whose request to reproduce: same prompt text, images after the text (lmms-eval) or "
                        "before it (vlmevalkit, strict); default lmms-eval")
    parser.add_argument("--max-tokens", type=int, default=100, help="max new tokens (default: 100, as lmms-eval)")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default: 0, greedy)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request before it is retried (default: 300)")
    parser.add_argument("--max-retries", type=int, default=5,
                        help="retries per question on 429/5xx/timeouts, exponential backoff (default: 5)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from spar_hf.eval.bench_data import read_columns, usable_rows
    from spar_hf.eval.endpoint import Endpoint, Fatal
    from spar_hf.eval.predict import api_key, questions_for, read_existing
    from spar_hf.eval.predict import run as send_all
    from spar_hf.eval.predict import trim_partial_line

    out = Path(args.out)
    if out.exists() and out.stat().st_size and not args.resume:
        raise SparError(f"{out} exists; pass --resume to continue it, or remove it")
    existing = read_existing(out, args.model) if args.resume else None
    done = existing.ids if existing else set()

    endpoint = Endpoint(args.base_url, args.model, api_key=api_key(), timeout=args.timeout, max_retries=args.max_retries,
                        max_tokens=args.max_tokens, temperature=args.temperature)
    try:
        endpoint.check_model()
        ids = {int(i) for i in read_columns(args.dataset, args.config, ["id"])["id"]}
        strangers = sorted(done - ids)
        if strangers:
            raise SparError(f"{out}: {len(strangers)} id(s) not in {args.dataset} (config {args.config}), e.g. "
                            f"{', '.join(map(str, strangers[:5]))}; is it the output of another bench?")
        if existing:
            trim_partial_line(out, existing)
        out.parent.mkdir(parents=True, exist_ok=True)

        summary = Summary("predict")
        rejects_path = out.with_name(out.stem + ".rejects.jsonl")
        bar = tqdm(total=len(ids), initial=len(done), desc=f"predict {args.model}", unit="q", disable=None)
        start = time.perf_counter()
        with RejectLog(rejects_path, summary) as rejects:
            rows = usable_rows(args.dataset, args.config, ["id", "task", "question", "image"], rejects)
            try:
                tally = send_all(endpoint, questions_for(rows, done, args.protocol), out, args.concurrency, bar.update)
            except Fatal as exc:
                raise SparError(f"{exc}; the answers received so far are in {out}: run again with --resume") from None
            for ident, reason in tally.failures:
                rejects.add(f"no answer: {reason}", record={"id": ident})
        bar.close()
    finally:
        endpoint.close()
    seconds = time.perf_counter() - start
    if rejects.count == 0:
        rejects_path.unlink()
    summary.n_out = len(done) + tally.answered
    summary.n_in = summary.n_out + summary.n_rejected
    summary.extra.update({
        "resumed": len(done), "sent": tally.sent, "retries": tally.retries, "model": args.model, "protocol": args.protocol,
        "prompt_tokens": tally.prompt_tokens, "completion_tokens": tally.completion_tokens,
        "seconds": f"{seconds:.1f}", "questions_per_s": f"{tally.sent / seconds:.2f}" if seconds > 0 else "-",
        "file": str(out),
    })
    print(summary.line())
    return 0
