"""Output folders and resume integrity (reliability round two): an --out that is a file is a clear
error in every command, a second run into a folder in use is refused, and `spar_hf.utils.outputs` tells
which recorded outputs changed after they were written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.utils.outdir import LOCK_NAME, output_folder


def _inputs(tmp_path: Path) -> dict[str, Path]:
    """Inputs each command accepts far enough to reach its --out (they need not hold data)."""
    (tmp_path / "imgs").mkdir()
    (tmp_path / "scenes").mkdir()
    spar = tmp_path / "spar" / "scannet" / "qa_jsonl"
    spar.mkdir(parents=True)
    ann = tmp_path / "ann.jsonl"
    ann.write_text("")
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w"):
        pass
    return {"imgs": tmp_path / "imgs", "scenes": tmp_path / "scenes", "spar": tmp_path / "spar", "ann": ann,
            "archive": archive}


FOLDER_COMMANDS = {
    "synth": lambda i, out: ["synth", "--out", out],
    "generate": lambda i, out: ["generate", "--source", "synthetic", "--scenes", str(i["scenes"]), "--out", out],
    "build": lambda i, out: ["build", "--from", str(i["spar"]), "--out", out],
    "ingest": lambda i, out: ["ingest", "spatialforge", "--annotations", str(i["ann"]), "--images",
                              f"fs={i['imgs']}", "--out", out],
    "export": lambda i, out: ["export", "internvl", "--from", str(i["spar"]), "--out", out],
    "shard": lambda i, out: ["shard", "--dataset", str(i["spar"]), "--config", "7m", "--split", "train", "--out", out],
    "unpack": lambda i, out: ["unpack", str(i["archive"]), "--out", out],
    "demo": lambda i, out: ["demo", "--out", out],
    "space": lambda i, out: ["space", "--bundle", out],
}


@pytest.mark.parametrize("command", sorted(FOLDER_COMMANDS))
def test_an_out_that_is_a_file_is_a_one_line_error(tmp_path, capsys, command):
    """Before: generate, ingest, export, shard, build and unpack raised FileExistsError / NotADirectoryError
    tracebacks from mkdir."""
    inputs = _inputs(tmp_path)
    target = tmp_path / "taken"
    target.write_text("a file")
    flag = "--bundle" if command == "space" else "--out"
    where = target / "synthetic" if command == "generate" else target / "spatialforge" if command == "ingest" else target
    what = "is an existing file" if where == target else f"is inside {target}, which is a file"
    assert main(FOLDER_COMMANDS[command](inputs, str(target))) == 2
    assert capsys.readouterr().err == f"spar-hf {command}: error: {flag} {where}: {what}, not a folder\n"
    assert target.read_text() == "a file"


def test_a_file_output_whose_place_is_a_folder_or_under_a_file_is_a_one_line_error(tmp_path):
    from spar_hf.utils.atomic import atomic_write_text

    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(SparError, match=r"dir: is a folder; expected a file to write$"):
        atomic_write_text(tmp_path / "dir", "y")
    with pytest.raises(SparError, match=r"file/out\.json: cannot be written: a file stands where its folder .*file "
                                        r"should be$"):
        atomic_write_text(tmp_path / "file" / "out.json", "y")


LOCKED = {c: f for c, f in FOLDER_COMMANDS.items() if c not in ("demo", "space")}


@pytest.mark.parametrize("command", sorted(LOCKED))
def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path, capsys, command):
    """Two runs into one --out swept each other's temp files and lost the build; the second now stops at once."""
    inputs = _inputs(tmp_path)
    out = tmp_path / "out"
    locked = out / "synthetic" if command == "generate" else out / "spatialforge" if command == "ingest" else out
    with output_folder(locked, "build"):
        assert main(LOCKED[command](inputs, str(out))) == 2
    assert capsys.readouterr().err == (f"spar-hf {command}: error: --out {locked}: spar-hf build (pid {os.getpid()}) "
                                       "is writing this folder; wait for it to finish or choose another --out\n")
    assert not (locked / LOCK_NAME).exists()


HOLDER = """
import sys, time
from spar_hf.utils.outdir import output_folder
with output_folder(sys.argv[1], "shard"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_the_lock_is_held_by_another_process_and_dropped_when_it_is_killed(tmp_path, capsys):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(SparError, match=rf"spar-hf shard \(pid {holder.pid}\) is writing this folder"):
            with output_folder(out, "build"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (out / LOCK_NAME).exists()  # a killed run leaves the file, not the lock
    with output_folder(out, "build") as folder:
        assert folder == out and (out / LOCK_NAME).read_text() == f"spar-hf build (pid {os.getpid()})\n"
    assert list(out.iterdir()) == []


# --- resume integrity: spar_hf.utils.outputs ----------------------------------------------------------

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 test vector "abc"


def test_outputs_records_size_and_sha256(tmp_path):
    from spar_hf.utils.outputs import record_outputs

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.bin").write_bytes(b"abc")
    (tmp_path / "e.bin").write_bytes(b"")
    assert record_outputs(tmp_path, ["sub/a.bin", "e.bin"]) == {
        "e.bin": {"bytes": 0, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        "sub/a.bin": {"bytes": 3, "sha256": ABC_SHA256}}


def test_changed_outputs_finds_truncated_zero_filled_and_deleted_files(tmp_path):
    from spar_hf.utils.outputs import changed_outputs, read_state, record_outputs, write_state

    for name in ("kept", "cut", "zeroed", "gone"):
        (tmp_path / f"{name}.tar").write_bytes(name.encode() * 1000)
    state = {"outputs": record_outputs(tmp_path, [f"{n}.tar" for n in ("kept", "cut", "zeroed", "gone")])}
    write_state(tmp_path / "state.json", state)
    (tmp_path / "cut.tar").write_bytes(b"cut" * 500)          # truncated after it was written
    (tmp_path / "zeroed.tar").write_bytes(bytes(6000))        # same size, zero-filled
    (tmp_path / "gone.tar").unlink()
    recorded = read_state(tmp_path / "state.json")["outputs"]
    assert changed_outputs(tmp_path, recorded) == ["cut.tar", "gone.tar", "zeroed.tar"]
    assert changed_outputs(tmp_path, recorded, checksums=False) == ["cut.tar", "gone.tar"]  # sizes only: cheaper


@pytest.mark.parametrize("text, reason", [
    ('{"outputs": {"a.tar": {"bytes": 3', "truncated or not JSON: Expecting ',' delimiter: line 1 column 34 (char 33)"),
    ("", "empty"),
    ("[1, 2]", None),
])
def test_a_damaged_state_file_is_a_clear_error(tmp_path, text, reason):
    from spar_hf.utils.outputs import read_state

    path = tmp_path / "state.json"
    path.write_text(text)
    expected = (f"{path}: resume state is {reason}; delete it to start this output over" if reason else
                f"{path}: resume state is not a JSON object but list; delete it to start this output over")
    with pytest.raises(SparError) as err:
        read_state(path)
    assert str(err.value) == expected
    assert read_state(tmp_path / "absent.json") is None


def test_a_malformed_record_in_the_state_names_the_output(tmp_path):
    from spar_hf.utils.outputs import changed_outputs

    with pytest.raises(SparError, match=r"^state\.json: output 'a\.tar' has no bytes/sha256 record \(\{'bytes': '3'\}\)$"):
        changed_outputs(tmp_path, {"a.tar": {"bytes": "3"}}, where="state.json")
