"""Run a model on a SPAR-Bench dataset: one chat request per question, answers appended as they finish.

Each finished question is one JSONL line (`id`, `prediction`, `model`, `latency_s`,
`prompt_tokens`, `completion_tokens`, `finish_reason`, `retries`) written with a single write and
flushed at once, so a killed run keeps every answer it received and `--resume` sends only the
ids the file lacks. The file is what `spar-hf eval` reads (extra keys are ignored there).
Requests run on `concurrency` threads sharing one HTTP client; at most twice that many rows are
prepared ahead, so memory does not grow with the bench.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError
from spar_hf.eval.chat import chat_messages
from spar_hf.eval.endpoint import Completion, Endpoint, Fatal, QuestionFailed
from spar_hf.eval.predictions import parse_line


@dataclass
class Existing:
    """What an earlier run left in the output file."""

    ids: set[int] = field(default_factory=set)
    partial_bytes: int = 0  # a last line cut short by a kill, removed before appending


def read_existing(path: Path, model: str) -> Existing:
    """Ids already answered in `path`; SparError for a bad line, a repeated id or another model's answers.

    Only a last line without its newline is treated as cut short (a kill during the write): it is
    dropped and that question is sent again.
    """
    found = Existing()
    if not path.exists():
        return found
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    found.partial_bytes = len(data) - keep
    problems = []
    for number, line in enumerate(data[:keep].decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            ident, _ = parse_line(line)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        other = json.loads(line).get("model")
        if other is not None and other != model:
            problems.append(f"line {number}: answered by model {other!r}, not {model!r}")
        elif ident in found.ids:
            problems.append(f"line {number}: duplicate id {ident}")
        found.ids.add(ident)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise SparError(f"{path}: cannot resume: {'; '.join(problems[:5])}{more}")
    return found


def trim_partial_line(path: Path, existing: Existing) -> None:
    if existing.partial_bytes:
        with open(path, "r+b") as handle:
            handle.truncate(path.stat().st_size - existing.partial_bytes)


@dataclass
class Question:
    ident: int
    build: Callable[[], list[dict[str, Any]]]  # the chat messages, built on a worker thread (base64 work)


@dataclass
class Tally:
    sent: int = 0
    answered: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def answer_line(ident: int, model: str, done: Completion) -> str:
    record = {"id": ident, "prediction": done.text, "model": model, "latency_s": round(done.latency_s, 4),
              "prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
              "finish_reason": done.finish_reason, "retries": done.retries}
    return json.dumps(record, ensure_ascii=False) + "\n"


def _ask(endpoint: Endpoint, question: Question) -> tuple[int, Completion | str]:
    try:
        return question.ident, endpoint.complete(question.build())
    except QuestionFailed as exc:
        return question.ident, str(exc)


def run(endpoint: Endpoint, questions: Iterable[Question], out: Path, concurrency: int,
        progress: Callable[[int], None] | None = None) -> Tally:
    """Send every question, appending each answer to `out` the moment it arrives.

    A Fatal error (unreachable endpoint, refused key, unknown model) stops the run after the
    answers already received are written; questions that failed alone are returned in
    `Tally.failures` with their reason.
    """
    if concurrency < 1:
        raise SparError(f"--concurrency must be at least 1, got {concurrency}")
    tally = Tally()
    pending: set[Future] = set()
    with open(out, "a", encoding="utf-8") as handle, ThreadPoolExecutor(concurrency, thread_name_prefix="predict") as pool:
        def settle(futures: Iterable[Future]) -> None:
            fatal = None
            for future in futures:
                try:
                    ident, result = future.result()
                except Fatal as exc:
                    fatal = fatal or exc
                    continue
                if isinstance(result, str):
                    tally.failures.append((ident, result))
                else:
                    handle.write(answer_line(ident, endpoint.model, result))
                    handle.flush()
                    tally.answered += 1
                    tally.retries += result.retries
                    tally.prompt_tokens += result.prompt_tokens or 0
                    tally.completion_tokens += result.completion_tokens or 0
                if progress:
                    progress(1)
            if fatal is not None:
                raise fatal

        try:
            for question in questions:
                if len(pending) >= 2 * concurrency:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    settle(done)
                pending.add(pool.submit(_ask, endpoint, question))
                tally.sent += 1
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                settle(done)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # requests in flight finish; their answers are kept
            settle([f for f in pending if not f.cancelled() and f.exception() is None])
            raise
    return tally


def questions_for(rows: Iterator[tuple[dict[str, Any], list[bytes]]], done: set[int], protocol: str) -> Iterator[Question]:
    """A Question per row not already answered; the request body is built on the worker thread."""
    for row, images in rows:
        ident = int(row["id"])
        if ident in done:
            continue

        def build(task=row["task"], question=row["question"], images=images):
            return chat_messages(protocol, task, question, images)

        yield Question(ident, build=build)


def api_key() -> str | None:
    return os.environ.get("OPENAI_API_KEY") or None
