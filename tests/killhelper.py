"""Run a `spar-hf` command in a subprocess and SIGKILL it after N milliseconds (crash tests).

`kill -9` gives the process no chance to clean up: no `finally`, no atexit, no flush. What is on
disk afterwards is exactly what a power cut or an OOM kill would leave, which is what `--resume`
must cope with.

    python tests/killhelper.py 1500 -- generate --source synthetic --scenes S --out O
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    killed: bool       # True when the process was still running at the deadline and got SIGKILL
    returncode: int
    seconds: float     # wall time from start to exit
    stderr: str
    started: float | None = None  # seconds until the trigger pattern first matched (None: never / no trigger)
    done: float | None = None     # seconds until the `done` pattern first matched


def spar_hf_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "spar_hf", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TQDM_DISABLE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def _matched(trigger: tuple[Path, str] | None) -> bool:
    return trigger is not None and any(Path(trigger[0]).glob(trigger[1]))


def run_and_kill(args: list[str], after_ms: float | None, trigger: tuple[Path, str] | None = None,
                 cwd: str | os.PathLike | None = None, timeout: float = 600,
                 done: tuple[Path, str] | None = None) -> Outcome:
    """Start `spar-hf ARGS`; SIGKILL its whole process group `after_ms` ms after the start, or after
    `trigger` = (folder, glob) first matches (i.e. once the command has begun writing).

    `after_ms=None` lets it finish (the reference run, still timing the trigger and when the `done`
    pattern, e.g. the file a command writes last, first matched). The command runs in
    its own session so worker processes it spawned die with it, as on a power cut.
    """
    errors = tempfile.TemporaryFile()  # a pipe could fill up and stall the command
    start = time.monotonic()
    proc = subprocess.Popen(spar_hf_command(args), cwd=cwd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=errors, start_new_session=True)
    started = None if trigger is not None else 0.0
    killed = False
    finished = None
    while proc.poll() is None:
        now = time.monotonic() - start
        if started is None and _matched(trigger):
            started = now
        if finished is None and _matched(done):
            finished = now
        if after_ms is not None and started is not None and now >= started + after_ms / 1000.0:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed = True
            break
        if now > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise TimeoutError(f"spar-hf {' '.join(args)} ran over {timeout} s")
        time.sleep(0.005)
    seconds = time.monotonic() - start
    errors.seek(0)
    stderr = errors.read().decode("utf-8", "replace")
    errors.close()
    return Outcome(killed, proc.returncode, seconds, stderr, started if trigger is not None else None, finished)


def run(args: list[str], trigger: tuple[Path, str] | None = None, cwd: str | os.PathLike | None = None,
        done: tuple[Path, str] | None = None) -> Outcome:
    """Run to completion (the uninterrupted reference run), timing when `trigger` and `done` first matched."""
    return run_and_kill(args, None, trigger, cwd, done=done)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    outcome = run_and_kill(argv[2:], float(argv[0]))
    print(f"killed={outcome.killed} returncode={outcome.returncode} seconds={outcome.seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
