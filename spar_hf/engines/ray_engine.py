"""Run spar-hf's independent units of work (scenes, configs, shards) as Ray tasks.

The work functions are the same top-level functions the local engine calls (e.g.
`spar_hf.generate.pipeline.process_scene`); Ray only decides where they run. Every unit writes its own
files under deterministic names and the driver does the same assembly step as the local engine,
so the output is byte-identical to a local run whatever the cluster size or completion order.

Fault tolerance: a worker that dies (OOM kill, node loss, `os._exit`) is a system failure that Ray
retries up to `MAX_RETRIES` times; `RETRY_EXCEPTIONS` (I/O errors, e.g. a flaky network file system)
are retried too. Deterministic bugs are not retried: they come back to the driver as the exception.
A scene is atomic (its writer clears the scene's folders first and writes the manifest last), so a
retried scene leaves no duplicate and no half-written file behind.
"""

from __future__ import annotations

import contextlib
import socket
import traceback
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from spar_hf.errors import SparError

MAX_RETRIES = 3
RETRY_EXCEPTIONS: list[type[BaseException]] = [OSError]
T = TypeVar("T")


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Use the running Ray session, or connect to `address`, or start a local one with `num_cpus`.

    Only a session started here is shut down on exit, so tests (and notebooks) can share one.
    """
    try:
        import ray  # the optional 'ray' extra: imported only by a run that asks for --engine ray
    except ImportError:  # pragma: no cover - ray is a declared dependency
        raise SparError("--engine ray needs the 'ray' package (pip install 'ray[default]')") from None
    if ray.is_initialized():
        yield ray
        return
    if address:
        _check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=True)
        except ConnectionError as exc:
            raise SparError(f"--ray-address {address}: {exc} (is `ray start --head` running there, and does this "
                            "process have the cluster's auth token? see docs/cluster.md)") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, not after Ray's long GCS retry loop, when nothing listens at HOST:PORT."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto", "ray://..." and other forms: let ray.init judge
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise SparError(f"--ray-address {address}: nothing reachable there ({exc}); start the head with "
                        f"`ray start --head --port {port}`") from None


def run_tasks(
    func: Callable[..., Any],
    items: Sequence[T],
    args: Iterable[tuple] | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> Iterator[tuple[T, Any]]:
    """Run `func(*args_i)` as one Ray task per item; yields (item, result | exception) as tasks finish.

    `args` defaults to `(item,)` per item. An exception a task raised (after its retries) is yielded,
    not raised, so one failed unit never loses the others; it carries `traceback_text`.
    """
    calls = list(args) if args is not None else [(item,) for item in items]
    if not items:
        return
    with ray_session(address, num_cpus) as ray:
        remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=RETRY_EXCEPTIONS)(func)
        pending = {remote.remote(*call): item for item, call in zip(items, calls)}
        waiting = list(pending)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1)
            item = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as exc:  # noqa: BLE001 - the caller records it against this unit
                result = unwrap(exc)
            yield item, result


def unwrap(exc: BaseException) -> BaseException:
    """The exception a task raised, as the local engine would see it (Ray wraps it in RayTaskError).

    Its `traceback_text` is the worker-side traceback; a lost worker stays a Ray error.
    """
    from ray.exceptions import RayTaskError  # optional extra, as in ray_session (which ran first)

    if isinstance(exc, RayTaskError) and isinstance(exc.cause, Exception):
        cause = exc.cause
        cause.traceback_text = exc.__dict__.get("traceback_str") or str(exc)  # dual classes only keep str()
        return cause
    exc.traceback_text = "".join(traceback.format_exception(exc))
    return exc
