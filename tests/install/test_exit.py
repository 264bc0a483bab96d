"""A script that streams with datasets and stops part-way exits 0 once spar_hf is imported (spar_hf/utils/arrow_exit.py).

The upstream fault (huggingface/datasets#7467, apache/arrow#45214): Arrow pool threads still reading
when the interpreter finalizes need the GIL, Python ends them with pthread_exit, and the process
aborts (exit 134) or hangs. Each streaming script here runs 20 times: one unclean exit fails the test.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest
from PIL import Image

from spar_hf.cli import main
from spar_hf.utils import arrow_exit

README = Path(__file__).resolve().parents[2] / "README.md"
RUNS = 20

# An Arrow IO-pool read that is still in Python (sleeping) when the main thread ends: the exit hook must
# wait for it; without the hook the process dies as upstream reports. argv[1]: "hook" or "no-hook".
POOL_READ_AT_EXIT = r"""
import atexit, io, sys, threading, time
import pyarrow as pa, pyarrow.dataset as pds, pyarrow.parquet as pq
from spar_hf.utils import arrow_exit
if sys.argv[1] == "no-hook":
    atexit.unregister(arrow_exit._at_exit)
buf = io.BytesIO()
pq.write_table(pa.table({"x": list(range(1000))}), buf, row_group_size=100)
python_threads = {threading.get_native_id()}

class SlowFile(io.BytesIO):
    def read(self, n=-1):
        if threading.get_native_id() not in python_threads:  # a read on Arrow's own thread
            time.sleep(0.5)
        return super().read(n)

fragment = pds.ParquetFileFormat().make_fragment(SlowFile(buf.getvalue()))
def consume():
    python_threads.add(threading.get_native_id())
    next(iter(fragment.to_batches()))
threading.Thread(target=consume, daemon=True).start()
time.sleep(0.1)
print("main done", flush=True)
"""

# datasets' imagefolder over a zip pack (the layout #18 moves 7m to): one row from a stream, then exit.
ZIP_STREAM = """
import spar_hf
from datasets import load_dataset
ds = load_dataset("imagefolder", data_dir="zipped", streaming=True, split="train")
row = next(iter(ds))
assert len(row["images"]) == 2 and row["images"][0].size == (32, 24), row
print("ok")
"""


def _env(tmp: Path) -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(tmp / "hf-home"))


def _runs(code: str, cwd: Path, args: tuple[str, ...] = (), n: int = RUNS) -> list[tuple[int | str, str]]:
    """(exit code or "hang", stderr tail) of `n` fresh interpreters running `code`, two at a time."""

    def once(_: int) -> tuple[int | str, str]:
        try:
            done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=_env(cwd), capture_output=True,
                                  text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return "hang", ""
        return done.returncode, done.stderr[-800:]

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(once, range(n)))


def _unclean(results: list[tuple[int | str, str]]) -> list[tuple[int | str, str]]:
    return [r for r in results if r[0] != 0]


class GatedFile(io.BytesIO):
    """Reads made on Arrow's own threads wait for `gate`: one pool task stays running until the test opens it."""

    def __init__(self, data: bytes, python_threads: set[int]):
        super().__init__(data)
        self.python_threads = python_threads
        self.gate, self.entered = threading.Event(), threading.Event()

    def read(self, n=-1):
        if threading.get_native_id() not in self.python_threads:
            self.entered.set()
            self.gate.wait(60)
        return super().read(n)


def test_wait_for_arrow_waits_for_a_running_pool_read():
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(1000))}), buf, row_group_size=100)
    python_threads = {threading.get_native_id()}
    gated = GatedFile(buf.getvalue(), python_threads)
    fragment = pds.ParquetFileFormat().make_fragment(gated)
    rows = []

    def consume():
        python_threads.add(threading.get_native_id())
        rows.append(next(iter(fragment.to_batches())).num_rows)

    reader = threading.Thread(target=consume)
    reader.start()
    try:
        assert gated.entered.wait(30)
        assert arrow_exit.arrow_tasks() >= 1  # the gated read is a task of Arrow's IO pool
        started = time.monotonic()
        assert arrow_exit.wait_for_arrow(0.2) is False  # still running at the deadline
        assert time.monotonic() - started >= 0.2
    finally:
        gated.gate.set()
        reader.join(30)
    assert arrow_exit.wait_for_arrow() is True
    assert arrow_exit.arrow_tasks() == 0
    assert rows == [100]


def test_exit_hook_waits_for_a_pool_read_that_ends_in_python(tmp_path):
    """Deterministic: the read outlives the main thread by 0.4 s. Without the hook the process never exits 0."""
    assert _unclean(_runs(POOL_READ_AT_EXIT, tmp_path, ("hook",), n=5)) == []
    without = _runs(POOL_READ_AT_EXIT, tmp_path, ("no-hook",), n=3)
    assert len(_unclean(without)) == 3, without
    assert all(code in (-6, "hang") or "terminate called" in err for code, err in without), without


def test_importing_spar_hf_registers_the_hook_once(tmp_path):
    code = ("import pyarrow, spar_hf\n"
            "from spar_hf import arrow_exit\n"
            "arrow_exit.install(); arrow_exit.install()\n"
            "arrow_exit.wait_for_arrow = lambda: print('waited', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "waited\n"), done.stderr


def _readme_streaming_examples() -> list[str]:
    """The python blocks of README's streaming section, as written."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^### Streaming.*?(?=^#{2,3} )", text, flags=re.S | re.M)
    assert section, "README has no '### Streaming' section"
    blocks = re.findall(r"```python\n(.*?)```", section.group(0), flags=re.S)
    assert blocks and all("streaming=True" in b for b in blocks)
    return blocks


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory) -> Path:
    """A real `spar-hf demo` build (2 scenes x 8 frames): 7m shards of 32-row groups of JPEGs, as users stream."""
    root = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(root / "spar"), "--scenes", "2", "--frames", "8"]) == 0
    return root


def test_readme_streaming_examples_exit_0_every_time(demo_build):
    for code in _readme_streaming_examples():
        results = _runs(code, demo_build)
        assert _unclean(results) == [], f"{len(_unclean(results))}/{RUNS} unclean exits of:\n{code}\n{_unclean(results)[:2]}"


def _zip_pack(folder: Path, rows: int = 500, row_group: int = 32, columns: int = 20, width: int = 2000) -> None:
    """One zip: 6 JPEGs and a metadata.parquet (file_names: two of them per row, plus wide text columns in
    32-row groups, so a stream has reads in flight after its first row)."""
    rng = np.random.default_rng(0)
    (folder / "train").mkdir(parents=True)
    names = [f"img{i}.jpg" for i in range(6)]
    with zipfile.ZipFile(folder / "train" / "pack-00000.zip", "w") as pack:
        for name in names:
            jpeg = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(jpeg, "JPEG")
            pack.writestr(name, jpeg.getvalue())
        table = {"file_names": [names[2 * (i % 3): 2 * (i % 3) + 2] for i in range(rows)]}
        for c in range(columns):
            table[f"text{c}"] = [rng.bytes(width // 2).hex() for _ in range(rows)]
        metadata = io.BytesIO()
        pq.write_table(pa.table(table), metadata, row_group_size=row_group)
        pack.writestr("metadata.parquet", metadata.getvalue())


def test_imagefolder_zip_stream_exits_0_every_time(tmp_path):
    _zip_pack(tmp_path / "zipped")
    results = _runs(ZIP_STREAM, tmp_path)
    assert _unclean(results) == [], f"{len(_unclean(results))}/{RUNS} unclean exits: {_unclean(results)[:2]}"
