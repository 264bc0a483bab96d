"""Security: archive extraction cannot write outside its target, and no data is ever unpickled or eval'd.

Every hostile archive is built by hand here (tarfile / zipfile with crafted member headers), so the
expected outcome is known without running our code: each crafted member must be refused, every
ordinary member extracted, and nothing may appear outside the target folder.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import os
import pickle
import shutil
import tarfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from spar_hf.cli import main
from spar_hf.errors import SparError
from spar_hf.utils.safe_extract import safe_extract, unsafe_name
from spar_hf.utils.sizes import parse_size

REPO = Path(__file__).resolve().parents[2]


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w") -> Path:
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    return info


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3
    return info


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.mark.parametrize("name, expected", [
    ("a/b.txt", None),
    ("/etc/passwd", "absolute path"),
    ("../up.txt", "'..' component escapes the target"),
    ("a/../../up.txt", "'..' component escapes the target"),
    ("C:\\windows\\x", "absolute path"),
    ("..\\up.txt", "'..' component escapes the target"),
    ("a/..b/c", None),  # '..b' is an ordinary name
])
def test_unsafe_names(name, expected):
    assert unsafe_name(name) == expected


def test_hostile_tar_members_are_refused_and_nothing_escapes(tmp_path):
    sandbox = tmp_path / "sandbox"
    out = sandbox / "out"
    archive = _tar(tmp_path / "evil.tar", [
        (_file("ok/a.txt"), b"fine"),
        (_file("/abs_evil.txt"), b"x"),
        (_file("../up_evil.txt"), b"x"),
        (_file("ok/../../up2_evil.txt"), b"x"),
        (_link("ok/etc", "/etc", tarfile.SYMTYPE), None),           # absolute symlink
        (_link("ok/up", "../../..", tarfile.SYMTYPE), None),        # relative symlink escaping
        (_link("ok/pw", "/etc/passwd", tarfile.LNKTYPE), None),     # hard link to a system file
        (_link("ok/h", "../../outside.txt", tarfile.LNKTYPE), None),
        (_special("ok/null", tarfile.CHRTYPE), None),
        (_special("ok/disk", tarfile.BLKTYPE), None),
        (_special("ok/fifo", tarfile.FIFOTYPE), None),
        (_link("ok/b.txt", "a.txt", tarfile.SYMTYPE), None),        # a link that stays inside: allowed
    ])
    before = _files_under(tmp_path) - {"evil.tar"}
    result = safe_extract([archive], out)
    assert result.members == 12
    assert result.extracted == 2
    refused = {r.member for r in result.refused}
    assert refused == {"/abs_evil.txt", "../up_evil.txt", "ok/../../up2_evil.txt", "ok/etc", "ok/up", "ok/pw",
                       "ok/h", "ok/null", "ok/disk", "ok/fifo"}
    assert all(r.reason for r in result.refused)
    assert _files_under(out) == {"ok/a.txt", "ok/b.txt"}
    assert (out / "ok" / "b.txt").is_symlink() and (out / "ok" / "b.txt").read_text() == "fine"
    assert _files_under(tmp_path) - {"evil.tar"} - {f"sandbox/out/{p}" for p in _files_under(out)} == before
    assert not list(out.glob(".tmp-*"))


def test_setuid_bits_are_dropped(tmp_path):
    info = _file("run.sh")
    info.mode = 0o4777
    archive = _tar(tmp_path / "m.tar", [(info, b"#!/bin/sh\n")])
    safe_extract([archive], tmp_path / "out")
    mode = (tmp_path / "out" / "run.sh").stat().st_mode
    assert not mode & 0o4000 and not mode & 0o002


def _zip(path: Path, entries: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, unix_mode in entries:
            info = zipfile.ZipInfo(name)
            if unix_mode is not None:
                info.create_system = 3
                info.external_attr = unix_mode << 16
            archive.writestr(info, data)
    return path


def test_hostile_zip_members_are_refused(tmp_path):
    out = tmp_path / "sandbox" / "out"
    archive = _zip(tmp_path / "evil.zip", [
        ("ok/a.txt", b"fine", 0o100644),
        ("../up_evil.txt", b"x", None),
        ("/abs_evil.txt", b"x", None),
        ("ok\\..\\..\\win_evil.txt", b"x", None),
        ("ok/link", b"/etc/passwd", 0o120777),   # a unix symlink entry
        ("ok/fifo", b"", 0o010644),
        ("ok/dir/", b"", 0o040755),
    ])
    result = safe_extract([archive], out)
    assert {r.member for r in result.refused} == {"../up_evil.txt", "/abs_evil.txt", "ok\\..\\..\\win_evil.txt",
                                                  "ok/link", "ok/fifo"}
    assert _files_under(out) == {"ok/a.txt"} and (out / "ok" / "dir").is_dir()
    assert not (tmp_path / "up_evil.txt").exists() and not (tmp_path / "sandbox" / "up_evil.txt").exists()


def test_zip_member_with_permissions_but_no_file_type_is_a_regular_file(tmp_path):
    """zipfile's writestr(name, ...) stores mode 0o600 with no S_IFREG bits; it was refused as a special file."""
    archive = _zip(tmp_path / "plain.zip", [("a.txt", b"fine", 0o600), ("d/b.txt", b"too", 0o644)])
    result = safe_extract([archive], tmp_path / "out")
    assert (result.extracted, result.refused, result.bytes_written) == (2, [], 7)
    assert (tmp_path / "out" / "d" / "b.txt").read_bytes() == b"too"

def test_split_tar_gz_parts_are_joined_like_cat(tmp_path):
    """The release's `cat spar-*.tar.gz | tar -xzf -`: one gzip stream cut into byte ranges."""
    src = {f"spar/scannet/qa_jsonl/train/t/fill/fill_{i}.jsonl": os.urandom(3000) for i in range(5)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in src.items():
            info = _file(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    blob = buf.getvalue()
    cuts = [0, len(blob) // 3, 2 * len(blob) // 3, len(blob)]
    parts = []
    for i in range(3):
        part = tmp_path / f"spar-{i:02d}.tar.gz"  # only the first part starts with a gzip header
        part.write_bytes(blob[cuts[i]:cuts[i + 1]])
        parts.append(part)
    result = safe_extract(parts, tmp_path / "out")
    assert result.extracted == 5 and not result.refused
    assert {n: (tmp_path / "out" / n).read_bytes() for n in src} == src


def test_truncated_archive_is_an_error_and_moves_nothing_into_place(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i in range(3):
            data = os.urandom(20000)
            info = _file(f"f{i}.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])  # the second member is cut mid-data
    out = tmp_path / "out"
    with pytest.raises(SparError, match="cut.tar.gz: damaged or truncated archive"):
        safe_extract([cut], out)
    assert list(out.iterdir()) == []


def test_zip_with_corrupt_deflate_data_is_an_error_not_a_traceback(tmp_path):
    """Flipped bytes in a member's deflate stream raised zlib.error out of the CLI."""
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", bytes(range(256)) * 200)
    blob = bytearray(archive.read_bytes())
    data_start = 30 + len("a.bin")  # local header (30 bytes) + name, no extra field
    for i in range(data_start + 10, data_start + 200):
        blob[i] ^= 0x55
    archive.write_bytes(bytes(blob))
    with pytest.raises(SparError, match="bad.zip: damaged or truncated zip archive"):
        safe_extract([archive], tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []

def test_stale_staging_from_a_killed_run_is_removed(tmp_path):
    out = tmp_path / "out"
    (out / ".tmp-unpack-dead" / "x").mkdir(parents=True)
    archive = _tar(tmp_path / "a.tar", [(_file("a.txt"), b"1")])
    safe_extract([archive], out)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]


def test_unpack_cli_lists_refusals_and_exits_1(tmp_path, capsys):
    archive = _tar(tmp_path / "evil.tar.gz", [(_file("ok.txt"), b"1"), (_file("../evil.txt"), b"x")], mode="w:gz")
    assert main(["unpack", str(archive), "--out", str(tmp_path / "out")]) == 1
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("unpack: in=2 out=1 rejected=1")
    rows = [json.loads(line) for line in (tmp_path / "out" / "unpack_rejects.jsonl").read_text().splitlines()]
    assert rows == [{"file": "evil.tar.gz", "line": None, "reason": "'..' component escapes the target",
                     "record": {"member": "../evil.txt"}}]
    assert not (tmp_path / "evil.txt").exists()


def test_unpack_cli_missing_archive_exits_2(tmp_path, capsys):
    assert main(["unpack", str(tmp_path / "nope.tar"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.tar: archive not found" in capsys.readouterr().err


# --- size cap (zip/tar bombs) ------------------------------------------------------------------

def _thousand_byte_members(*names: str) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [(_file(name), name[0].encode() * 1000) for name in names]


def _staging_sizes(monkeypatch) -> list[dict[str, int]]:
    """What each staging folder held when it was removed (file -> bytes), recorded by wrapping rmtree."""
    import spar_hf.utils.safe_extract as module

    seen: list[dict[str, int]] = []
    real_rmtree = shutil.rmtree

    def recording_rmtree(path, *args, **kwargs):
        root = Path(path)
        seen.append({str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()})
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(module.shutil, "rmtree", recording_rmtree)
    return seen


def test_cap_stops_at_the_tar_member_that_crosses_it_and_moves_nothing(tmp_path):
    archive = _tar(tmp_path / "three.tar.gz", _thousand_byte_members("a.txt", "b.txt", "c.txt"), mode="w:gz")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("kept")
    # a: 1,000 <= 2,500; b: 2,000 <= 2,500; c would make 3,000 > 2,500
    expected = ("three.tar.gz: member 'c.txt' would bring the extracted total to 3,000 bytes, over the cap of "
                "2,500 bytes (--max-bytes raises it); nothing from this archive was moved into place")
    with pytest.raises(SparError) as err:
        safe_extract([archive], out, max_bytes=2500)
    assert str(err.value) == expected
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]


def test_cap_equal_to_the_total_extracts_everything(tmp_path):
    archive = _tar(tmp_path / "three.tar.gz", _thousand_byte_members("a.txt", "b.txt", "c.txt"), mode="w:gz")
    result = safe_extract([archive], tmp_path / "out", max_bytes=3000)
    assert (result.extracted, result.bytes_written) == (3, 3000)
    assert (tmp_path / "out" / "c.txt").read_bytes() == b"c" * 1000


def test_cap_on_zip_members(tmp_path):
    archive = _zip(tmp_path / "three.zip", [(n, n[0].encode() * 1000, None) for n in ("a.txt", "b.txt", "c.txt")])
    with pytest.raises(SparError, match=r"^three\.zip: member 'c\.txt' would bring the extracted total to 3,000 "
                                        r"bytes, over the cap of 2,999 bytes \(--max-bytes raises it\)"):
        safe_extract([archive], tmp_path / "out", max_bytes=2999)
    assert list((tmp_path / "out").iterdir()) == []
    result = safe_extract([archive], tmp_path / "out2", max_bytes=3000)
    assert result.bytes_written == 3000 and _files_under(tmp_path / "out2") == {"a.txt", "b.txt", "c.txt"}


def test_cap_counts_every_archive_of_the_call(tmp_path):
    first = _tar(tmp_path / "first.tar", [(_file("a.txt"), b"a" * 2000)])
    second = _tar(tmp_path / "second.tar", [(_file("b.txt"), b"b" * 1000)])
    out = tmp_path / "out"
    with pytest.raises(SparError, match=r"^second\.tar: member 'b\.txt' would bring the extracted total to 3,000 "
                                        r"bytes, over the cap of 2,500 bytes"):
        safe_extract([first, second], out, max_bytes=2500)
    assert _files_under(out) == {"a.txt"}  # the first archive was complete and is in place
    assert not list(out.glob(".tmp-*"))


def test_default_cap_is_the_free_space_of_the_target(tmp_path, monkeypatch):
    import spar_hf.utils.safe_extract as module

    monkeypatch.setattr(module.shutil, "disk_usage", lambda path: SimpleNamespace(total=10_000, used=7_500, free=2_500))
    archive = _tar(tmp_path / "three.tar", _thousand_byte_members("a.txt", "b.txt", "c.txt"))
    out = tmp_path / "out"
    with pytest.raises(SparError) as err:
        safe_extract([archive], out)
    assert str(err.value) == (f"three.tar: member 'c.txt' would bring the extracted total to 3,000 bytes, over the "
                              f"cap of 2,500 bytes (the free space of {out} at the start; --max-bytes raises it); "
                              "nothing from this archive was moved into place")


class _Zeros(io.RawIOBase):
    """n zero bytes, without holding them in memory."""

    def __init__(self, n: int):
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_tar_gz_bomb_is_refused_before_its_member_is_written(tmp_path, monkeypatch):
    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name, size in (("a.bin", 600_000), ("bomb.bin", 50_000_000)):
            info = _file(name)
            info.size = size
            tar.addfile(info, _Zeros(size))
    assert archive.stat().st_size < 100_000  # 50.6 MB of zeros compress to ~50 KB
    staged = _staging_sizes(monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(SparError, match=r"^bomb\.tar\.gz: member 'bomb\.bin' would bring the extracted total to "
                                        r"50,600,000 bytes, over the cap of 1,000,000 bytes"):
        safe_extract([archive], out, max_bytes=1_000_000)
    assert staged == [{"a.bin": 600_000}]  # the bomb member was never started
    assert list(out.iterdir()) == []


def test_zip_bomb_via_cli_exits_2_with_the_message(tmp_path, capsys):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("bomb.bin", "w") as member:
            shutil.copyfileobj(_Zeros(50_000_000), member, 1 << 20)
    assert archive.stat().st_size < 100_000
    out = tmp_path / "out"
    assert main(["unpack", str(archive), "--out", str(out), "--max-bytes", "1MB"]) == 2
    assert capsys.readouterr().err == (
        "spar-hf unpack: error: bomb.zip: member 'bomb.bin' would bring the extracted total to 50,000,000 bytes, "
        "over the cap of 1,000,000 bytes (--max-bytes raises it); nothing from this archive was moved into place\n")
    assert list(out.iterdir()) == []


def test_unpack_cli_cap_on_a_tar_gz(tmp_path, capsys):
    archive = _tar(tmp_path / "three.tar.gz", _thousand_byte_members("a.txt", "b.txt", "c.txt"), mode="w:gz")
    assert main(["unpack", str(archive), "--out", str(tmp_path / "out"), "--max-bytes", "2500"]) == 2
    assert "three.tar.gz: member 'c.txt' would bring the extracted total to 3,000 bytes" in capsys.readouterr().err
    assert list((tmp_path / "out").iterdir()) == []
    assert main(["unpack", str(archive), "--out", str(tmp_path / "out"), "--max-bytes", "3000"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("unpack: in=3 out=3 rejected=0 bytes=3000")


@pytest.mark.parametrize("value, message", [
    ("lots", "--max-bytes 'lots': expected bytes or a size like 1GB, 500MB, 1GiB"),
    ("-5GB", "--max-bytes '-5GB': must not be negative"),
])
def test_unpack_cli_bad_max_bytes_exits_2(tmp_path, capsys, value, message):
    archive = _tar(tmp_path / "a.tar", [(_file("a.txt"), b"1")])
    assert main(["unpack", str(archive), "--out", str(tmp_path / "out"), f"--max-bytes={value}"]) == 2
    assert capsys.readouterr().err == f"spar-hf unpack: error: {message}\n"


@pytest.mark.parametrize("text, expected", [
    ("2500", 2500),
    ("1MB", 1_000_000),
    ("500GB", 500_000_000_000),
    ("1GiB", 1_073_741_824),
    ("4KiB", 4096),
])
def test_parse_size_bytes_and_units(text, expected):
    assert parse_size(text, "--max-bytes") == expected


def _lying_zip(path: Path, data: bytes, declared: int, crc: int) -> Path:
    """A one-member deflated zip whose headers (local and central) claim `declared` bytes and `crc`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m.bin", data)
    blob = bytearray(path.read_bytes())
    local = blob.index(b"PK\x03\x04")
    central = blob.index(b"PK\x01\x02")
    for offset_crc, offset_size in ((local + 14, local + 22), (central + 16, central + 24)):
        blob[offset_crc:offset_crc + 4] = crc.to_bytes(4, "little")
        blob[offset_size:offset_size + 4] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(blob))
    return path


def test_zip_header_understating_the_size_cannot_write_more_than_declared(tmp_path):
    import zlib

    data = b"A" * 1000 + b"B" * 99_000  # 100,000 real bytes, the header says 1,000
    archive = _lying_zip(tmp_path / "liar.zip", data, 1000, zlib.crc32(b"A" * 1000))
    result = safe_extract([archive], tmp_path / "out", max_bytes=5000)
    assert result.bytes_written == 1000
    assert (tmp_path / "out" / "m.bin").read_bytes() == b"A" * 1000
    # with the CRC of the whole data the cut member fails its check: damaged, nothing moved into place
    archive = _lying_zip(tmp_path / "liar2.zip", data, 1000, zlib.crc32(data))
    with pytest.raises(SparError, match="liar2.zip: damaged or truncated zip archive"):
        safe_extract([archive], tmp_path / "out2", max_bytes=5000)
    assert list((tmp_path / "out2").iterdir()) == []


def test_tar_member_with_a_negative_size_is_refused(tmp_path):
    neg = bytearray(_tar(tmp_path / "h.tar", [(_file("neg"), b"")]).read_bytes()[:512])
    neg[124:136] = b"\xff" + (256 ** 11 - 5).to_bytes(11, "big")  # base-256 size -5
    neg[148:156] = b" " * 8
    neg[148:156] = b"%06o\x00 " % sum(neg)
    after = _tar(tmp_path / "after.tar", [(_file("after.txt"), b"z" * 40_000)]).read_bytes()
    archive = tmp_path / "neg.tar"
    archive.write_bytes(bytes(neg) + after)
    result = safe_extract([archive], tmp_path / "out")
    assert [(r.member, r.reason) for r in result.refused] == [("neg", "negative size -5 in the header")]
    assert (result.extracted, result.bytes_written) == (1, 40_000)
    assert _files_under(tmp_path / "out") == {"after.txt"}


# --- no code from data -------------------------------------------------------------------------

CODE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}


def _dangerous_calls(path: Path, root: Path = REPO) -> list[str]:
    """AST scan: imports of pickling modules, eval/exec calls, torch.load without weights_only=True,
    allow_pickle=True anywhere, yaml.load without a safe loader."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in CODE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in CODE_MODULES:
            found.append(f"{where}: from {node.module} import")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            kwargs = {k.arg: k.value for k in node.keywords}
            if isinstance(func, ast.Name) and name in ("eval", "exec", "compile", "__import__"):
                found.append(f"{where}: {name}()")
            if owner == "torch" and name == "load":
                weights = kwargs.get("weights_only")
                if not (isinstance(weights, ast.Constant) and weights.value is True):
                    found.append(f"{where}: torch.load without weights_only=True")
            if owner == "yaml" and name in ("load", "load_all") and "Loader" not in kwargs:
                found.append(f"{where}: yaml.{name} without a loader")
            allow = kwargs.get("allow_pickle")
            if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
                found.append(f"{where}: allow_pickle not False")
    return found


def test_package_never_unpickles_or_evals_data():
    files = [p for d in ("spar_hf", "builders", "spaces") for p in sorted((REPO / d).rglob("*.py"))]
    assert len(files) > 50
    problems = [hit for p in files for hit in _dangerous_calls(p)]
    assert problems == []


def test_the_scan_itself_catches_each_pattern(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("import pickle\nimport numpy as np, torch, yaml\neval('1')\ntorch.load('m')\n"
                   "np.load('x', allow_pickle=True)\nyaml.load('a')\ntorch.load('m', weights_only=True)\n")
    hits = _dangerous_calls(bad, tmp_path)
    assert [h.split(": ", 1)[1] for h in hits] == ["import pickle", "eval()", "torch.load without weights_only=True",
                                                   "allow_pickle not False", "yaml.load without a loader"]


class _Boom:
    """Unpickling this creates a folder: proof that a loader ran code from the data."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("decode_images", [True, False])
def test_training_loader_does_not_unpickle_shard_members(tmp_path, decode_images):
    """webdataset's default decoders unpickle `.pyd`/`.pickle` and torch.load `.pth`; our loader keeps them as bytes."""
    from PIL import Image

    from spar_hf.train.loader import SparShards

    marker = tmp_path / "PWNED"
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(jpeg, "JPEG")
    payload = pickle.dumps(_Boom(marker))
    shard = tmp_path / "shard-000000.tar"
    meta = {"format": 2, "frames": ["a.jpg"], "has_depth": False, "rows": [{"id": "r", "task": "t", "views": [0]}]}
    members = [("k0.json", json.dumps(meta).encode()),
               ("k0.0.jpg", jpeg.getvalue()), ("k0.evil.pyd", payload), ("k0.evil.pickle", payload),
               ("k0.evil.pkl.gz", gzip.compress(payload))]
    _tar(shard, [(_file(name), data) for name, data in members])
    samples = list(SparShards([str(shard)], shuffle_chunks=1, decode_images=decode_images))
    assert len(samples) == 1
    assert not marker.exists()


# --- links re-pointed after their check; path resolution overflow (round two) --------------------

def _dir(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def _outside_files(tmp_path: Path, out: Path) -> set[str]:
    """Every file or link under tmp_path that is neither an archive given to unpack nor under out."""
    return {p for p in _files_under(tmp_path) if not p.endswith((".tar", ".zip"))
            and not (tmp_path / p).resolve(strict=False).is_relative_to(out.resolve())
            and not (tmp_path / p).absolute().is_relative_to(out.absolute())}


def _links_resolve_inside(out: Path) -> bool:
    return all(link.resolve().is_relative_to(out.resolve()) for link in out.rglob("*") if link.is_symlink())


def test_a_link_re_pointed_by_a_later_member_is_refused(tmp_path):
    """`l -> d/../..` is inside while `d -> p/q`; the later `d -> .` made l point two folders above out."""
    out = tmp_path / "sandbox" / "deep" / "out"
    first = _tar(tmp_path / "first.tar", [
        (_dir("p/q"), None),
        (_link("d", "p/q", tarfile.SYMTYPE), None),
        (_link("l", "d/../..", tarfile.SYMTYPE), None),
        (_link("d", ".", tarfile.SYMTYPE), None),
    ])
    result = safe_extract([first], out)
    assert {r.member: r.reason for r in result.refused} == {
        "l": "link target 'd/../..' has '..' after a folder name (where it leads depends on that folder, which a "
             "later member can re-point)"}
    assert os.readlink(out / "d") == "."           # the last definition of d wins, as with tar
    assert not (out / "l").exists() and _links_resolve_inside(out)


def test_a_second_archive_cannot_re_point_a_link_of_the_first_or_write_through_it(tmp_path):
    """The first archive had `d -> p/q` and `l -> d/../..` (inside then); the second re-points `d -> .`, which
    sent l two folders above out, and wrote `l/pwned.txt` there (moved into place through l). A link the
    first archive left inside (`k`) is not written through either."""
    out = tmp_path / "sandbox" / "deep" / "out"
    first = _tar(tmp_path / "first.tar", [(_dir("p/q"), None), (_link("d", "p/q", tarfile.SYMTYPE), None),
                                          (_link("l", "d/../..", tarfile.SYMTYPE), None),
                                          (_link("k", "p", tarfile.SYMTYPE), None)])
    second = _tar(tmp_path / "second.tar", [(_link("d", ".", tarfile.SYMTYPE), None), (_file("l/pwned.txt"), b"x"),
                                            (_file("k/x.txt"), b"x"), (_link("up", "..", tarfile.SYMTYPE), None),
                                            (_file("ok.txt"), b"ok")])
    assert [r.member for r in safe_extract([first], out).refused] == ["l"]
    result = safe_extract([second], out)
    assert {r.member: r.reason for r in result.refused} == {
        "k/x.txt": "path goes through the symbolic link 'k' already in the target",
        "up": "link target '..' leaves the target folder"}
    assert (out / "ok.txt").read_bytes() == b"ok" and not (out / "p" / "x.txt").exists()
    assert (out / "l" / "pwned.txt").read_bytes() == b"x" and not (out / "l").is_symlink()
    assert _outside_files(tmp_path, out) == set() and _links_resolve_inside(out)


def test_a_member_through_a_link_of_the_same_archive_is_refused(tmp_path):
    out = tmp_path / "out"
    archive = _tar(tmp_path / "a.tar", [(_dir("real"), None), (_link("alias", "real", tarfile.SYMTYPE), None),
                                        (_file("alias/f.txt"), b"f"), (_link("alias/g", "../real", tarfile.SYMTYPE), None),
                                        (_link("h", "alias", tarfile.LNKTYPE), None)])
    result = safe_extract([archive], out)
    assert {r.member: r.reason for r in result.refused} == {
        "alias/f.txt": "path goes through the symbolic link 'alias' of the archive",
        "alias/g": "path goes through the symbolic link 'alias' of the archive",
        "h": "hard link to 'alias', which is not a regular file extracted before it"}
    assert _files_under(out) == {"alias"} and (out / "real").is_dir() and not list((out / "real").iterdir())


def test_long_symlinked_folder_chain_cannot_overflow_path_resolution(tmp_path):
    """The tarfile filter bypass fixed in CPython 3.11.13 (CVE-2025-4517): 16 nested 247-character folders,
    each reachable through a one-letter link, make `a/b/.../p/lll...` longer than PATH_MAX, so realpath stops
    following links there and treats `lll/..` as a no-op: `escape` is judged to stay inside while the system
    resolves it to the folder above out (this test wrote sandbox/pwned.txt before the fix)."""
    long = "d" * 247
    steps = "abcdefghijklmnop"
    members: list[tuple[tarfile.TarInfo, bytes | None]] = [(_dir("x/y/z/w"), None)]
    path = ""
    for step in steps:
        members.append((_dir(os.path.join(path, long)), None))
        members.append((_link(os.path.join(path, step), long, tarfile.SYMTYPE), None))
        path = os.path.join(path, long)
    chain = os.path.join(*steps, "l" * 254)
    members.append((_link(chain, "../" * len(steps) + "x/y/z/w", tarfile.SYMTYPE), None))
    escape = chain + "/.." * 6
    members.append((_link("escape", escape, tarfile.SYMTYPE), None))
    members.append((_file("escape/pwned.txt"), b"x"))
    out = tmp_path / "sandbox" / "out"
    archive = _tar(tmp_path / "chain.tar", members)
    result = safe_extract([archive], out)
    assert {r.member: r.reason for r in result.refused} == {
        chain: "path goes through the symbolic link 'a' of the archive",
        "escape": f"link target {escape!r} has '..' after a folder name (where it leads depends on that folder, "
                  "which a later member can re-point)"}
    assert not (tmp_path / "sandbox" / "pwned.txt").exists()
    assert (out / "escape" / "pwned.txt").read_bytes() == b"x" and not (out / "escape").is_symlink()
    assert _outside_files(tmp_path, out) == set() and _links_resolve_inside(out)


def test_links_that_stay_inside_are_kept_and_point_where_they_said(tmp_path):
    out = tmp_path / "out"
    archive = _tar(tmp_path / "ok.tar", [(_file("a/b/c.txt"), b"c"), (_link("a/b/up", "../../top.txt", tarfile.SYMTYPE), None),
                                         (_file("top.txt"), b"t"), (_link("a/same", "./b/c.txt", tarfile.SYMTYPE), None),
                                         (_link("hard", "a/b/c.txt", tarfile.LNKTYPE), None)])
    result = safe_extract([archive], out)
    assert (result.refused, result.extracted) == ([], 5)
    assert (out / "a" / "b" / "up").read_text() == "t" and os.readlink(out / "a" / "b" / "up") == "../../top.txt"
    assert (out / "a" / "same").read_text() == "c" and (out / "hard").read_text() == "c"


# --- a shard index is data: no shell commands from it -------------------------------------------

def _index_naming(folder: Path, *names: str) -> Path:
    from spar_hf.shards.index import ShardIndex, ShardInfo, write_index

    index = ShardIndex(config="7m", split="train", samples=len(names), rows=len(names), rejected=0, has_depth=False,
                       markers_baked=False, shards=[ShardInfo(n, 1, 1, 10, "0" * 64, i) for i, n in enumerate(names)])
    path = folder / "spar-7m-train.index.json"
    write_index(path, index)
    return path


@pytest.mark.parametrize("name", ["pipe:touch PWNED", "pipe:touch PWNED; echo x.tar", "-", "/etc/hostname",
                                  "../../elsewhere.tar", "gs://bucket/x.tar", "file:///etc/hostname"])
def test_a_shard_index_cannot_name_a_command_or_a_file_outside_its_folder(tmp_path, monkeypatch, name):
    """webdataset's gopen runs `pipe:` locations with a shell; the index sits in the current folder, so the
    shard location was exactly the name (`./pipe:touch PWNED` is `pipe:touch PWNED`)."""
    from spar_hf.train.loader import SparShards, resolve_source

    monkeypatch.chdir(tmp_path)
    _index_naming(tmp_path, "spar-7m-train-000000.tar", name)
    with pytest.raises(SparError, match=r"^spar-7m-train\.index\.json: (shard name .* is not a file name below "
                                        r"the index's folder|'-': only local paths and http\(s\) URLs .*)$"):
        resolve_source("spar-7m-train.index.json")
    with pytest.raises(SparError):
        list(SparShards("spar-7m-train.index.json", shuffle_chunks=1))
    assert not (tmp_path / "PWNED").exists()


def test_check_location_allows_local_and_http_and_pipe_only_on_request(tmp_path):
    from spar_hf.shards.index import check_location
    from spar_hf.train.loader import resolve_source

    for ok in ("shards/a.tar", "/data/a.tar", "http://host/a.tar", "https://host/a.tar", "file:///data/a.tar"):
        assert check_location(ok) == ok
    for bad in ("pipe:curl -s http://host/a.tar", "gs://b/a.tar", "-", "sftp://h/a.tar"):
        with pytest.raises(SparError, match="only local paths and http\\(s\\) URLs are opened from a shard index"):
            check_location(bad)
        assert check_location(bad, allow_pipe=True) == bad
    _index_naming(tmp_path, "pipe:echo hi")
    urls, counts = resolve_source(str(tmp_path / "spar-7m-train.index.json"), allow_pipe=True)
    assert urls == [str(tmp_path / "pipe:echo hi")] and counts == {"pipe:echo hi": 1}
    _index_naming(tmp_path, "sub/spar-7m-train-000000.tar")
    assert resolve_source(str(tmp_path / "spar-7m-train.index.json"))[0] == [str(tmp_path / "sub/spar-7m-train-000000.tar")]
