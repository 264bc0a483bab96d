"""Extract tar / tar.gz / zip archives without letting a member write outside the target folder.

Archives from the Hub or a mirror are untrusted input. A member is refused (and reported with its
name and reason, never written) when its name is absolute or has a `..` component, when it is a
device, FIFO or other special file, or when its path goes through a symbolic link (of the same
archive or already in the target). Tar files and folders go through Python's own
`tarfile.data_filter` (which also drops setuid bits and group/other write permission); zip members
get the equivalent checks here, and zip symlinks are refused outright (zipfile would write them as
regular files holding the link text).

Symbolic links are never judged by resolving them (`os.path.realpath` stops following links on a
path longer than PATH_MAX, the filter bypass CPython fixed in 3.11.13, and any check made against
the tree can be undone by a later member re-pointing a link it went through). Instead a link's
target must be relative, with its `..` components only at its start and no more of them than the
link's folder depth. Since no member is written through a link, every folder a link starts from is
a real folder of the target, so such a link lands inside the target whatever the other links point
to, now or after a later archive. Links are created last, after every file of the archive is in
place; a hard link must name a regular file extracted earlier from the same archive.

Several `.tar.gz` parts of one split stream (the release's `cat spar-*.tar.gz | tar -xzf -`) are
read as one stream, in the order given. Everything is extracted into `OUT/.tmp-unpack-<id>/` and
moved into place only when the archive is complete, so a killed run leaves no half tree, only a
temp folder that the next run removes.

The bytes one call may write are capped (default: the free space of the target's filesystem), so a
zip/tar bomb fails with a SparError before its first oversized member is written instead of filling
the disk. The check uses each member's declared size before writing it; zip members are copied only
up to their declared size, so a header that understates the data cannot write more than it said.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

from spar_hf.errors import SparError
from spar_hf.utils.atomic import TMP_PREFIX, atomic_open
from spar_hf.utils.relpath import unsafe_name

STAGING_PREFIX = TMP_PREFIX + "unpack-"
GZIP_MAGIC = b"\x1f\x8b"
COPY_CHUNK = 1 << 20


@dataclass
class Refused:
    """One member that was not extracted."""

    archive: str
    member: str
    reason: str


@dataclass
class ExtractResult:
    members: int = 0
    extracted: int = 0
    refused: list[Refused] = field(default_factory=list)
    bytes_written: int = 0


@dataclass
class _Budget:
    """The byte cap of one safe_extract call, and the note its message ends with (where the cap came from)."""

    limit: int
    note: str

    def check(self, result: ExtractResult, archive: str, member: str, size: int) -> None:
        """Refuse to write `size` more bytes if that would take the call's total over the cap."""
        total = result.bytes_written + size
        if total > self.limit:
            raise SparError(f"{archive}: member {member!r} would bring the extracted total to {total:,} bytes, "
                            f"over the cap of {self.limit:,} bytes ({self.note}); "
                            "nothing from this archive was moved into place")


class _Chain(io.RawIOBase):
    """The bytes of several files one after another (`cat a b c`), counting what was read."""

    def __init__(self, paths: list[Path], progress: Callable[[int], None] | None = None):
        self._paths = list(paths)
        self._handle = None
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self._handle is None:
                if not self._paths:
                    return 0
                self._handle = open(self._paths.pop(0), "rb")
            n = self._handle.readinto(buffer)
            if n:
                if self._progress is not None:
                    self._progress(n)
                return n
            self._handle.close()
            self._handle = None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        super().close()


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)


def group_archives(paths: Iterable[str | os.PathLike]) -> list[list[Path]]:
    """Archives to open, each a list of files read as one stream.

    A tar file given after another whose first bytes are not a gzip header or a tar header is a
    continuation part of the previous one (a split `.tar.gz`); zip files always stand alone.
    """
    groups: list[list[Path]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise SparError(f"{path}: archive not found")
        if _is_zip(path):
            groups.append([path])
            continue
        with open(path, "rb") as handle:
            head = handle.read(512)
        starts_archive = head.startswith(GZIP_MAGIC) or head[257:262] == b"ustar" or head.startswith((b"BZh", b"\xfd7zXZ"))
        if groups and not starts_archive and not _is_zip(groups[-1][0]):
            groups[-1].append(path)
        else:
            groups.append([path])
    return groups


def _parts(name: str) -> tuple[str, ...]:
    """A member name as path components (separators `/` or `\\`, `.` and empty components dropped)."""
    return tuple(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def link_target_refusal(name: str, target: str) -> str | None:
    """Why a symbolic link member `name -> target` may not be created, or None.

    Judged from the two strings alone (see the module docstring): relative, `..` only at the start,
    no more of them than the folders above the link.
    """
    if not target or "\x00" in target:
        return "empty link target or NUL byte in it"
    if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return f"link to an absolute path {target!r}"
    parts = [part for part in target.split("/") if part not in ("", ".")]
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    if ".." in parts[ups:]:
        return (f"link target {target!r} has '..' after a folder name (where it leads depends on that folder, "
                "which a later member can re-point)")
    if ups > len(_parts(name)) - 1:
        return f"link target {target!r} leaves the target folder"
    return None


class _Links:
    """The symbolic links of one archive, held back until its files are in place, and the path checks.

    A member may not go through a link: neither one of this archive (pending here) nor one already in
    the target folder (found with lstat, which never follows a link).
    """

    def __init__(self, out: Path):
        self.out = out
        self.pending: dict[tuple[str, ...], str] = {}
        self._real_dirs: set[tuple[str, ...]] = set()

    def through(self, parts: tuple[str, ...]) -> str | None:
        """Why a member at `parts` may not be written (its path goes through a link), or None."""
        for depth in range(1, len(parts)):
            prefix = parts[:depth]
            if prefix in self.pending:
                return f"path goes through the symbolic link {'/'.join(prefix)!r} of the archive"
            if prefix not in self._real_dirs:
                if (self.out / Path(*prefix)).is_symlink():
                    return f"path goes through the symbolic link {'/'.join(prefix)!r} already in the target"
                self._real_dirs.add(prefix)
        return None

    def add(self, parts: tuple[str, ...], target: str, staging: Path) -> str | None:
        """Hold back link `parts -> target` (a later definition replaces it); the refusal reason or None."""
        for place in (staging, self.out):
            where = place / Path(*parts)
            if where.is_dir() and not where.is_symlink():
                return "a folder is in the way of this link"
        staged = staging / Path(*parts)
        if staged.is_file():
            staged.unlink()
        self.pending[parts] = target
        return None

    def create(self) -> None:
        """Create every held-back link in the target (atomically replacing a file or link there)."""
        for parts, target in self.pending.items():
            dest = self.out / Path(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            temp = dest.parent / f"{TMP_PREFIX}link-{uuid.uuid4().hex}"
            os.symlink(target, temp)
            os.replace(temp, dest)


def _tar_refusal(member: tarfile.TarInfo, parts: tuple[str, ...], links: _Links, staging: Path) -> str | None:
    """Why a tar member may not be extracted, from its header and the members before it, or None."""
    reason = unsafe_name(member.name) or links.through(parts)
    if reason is None and member.islnk():
        reason = unsafe_name(member.linkname)
        source = _parts(member.linkname)
        if reason is None and (source in links.pending or not (staging / Path(*source)).is_file()):
            reason = f"hard link to {member.linkname!r}, which is not a regular file extracted before it"
    if reason is None and member.issym():
        reason = link_target_refusal(member.name, member.linkname)
    if reason is None and member.size < 0:
        # tarfile accepts a negative base-256 size and would then copy up to 16 KiB it never counted
        reason = f"negative size {member.size} in the header"
    return reason


def _tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, parts: tuple[str, ...], staging: Path,
                links: _Links) -> str | None:
    """Extract one tar member into staging (a link is held back); the reason it was refused, or None."""
    if member.issym():
        return links.add(parts, member.linkname, staging)
    links.pending.pop(parts, None)  # a later file or folder replaces a link of the same name
    try:
        tar.extract(member, staging, set_attrs=True, filter="data")
    except tarfile.FilterError as exc:
        return f"{type(exc).__name__}: {exc}"
    except (tarfile.ExtractError, tarfile.StreamError, KeyError, OSError) as exc:
        return f"cannot extract: {exc}"
    return None


def _extract_tar(parts: list[Path], staging: Path, result: ExtractResult, progress, budget: _Budget,
                 links: _Links) -> None:
    label = parts[0].name + (f" (+{len(parts) - 1} parts)" if len(parts) > 1 else "")
    stream = io.BufferedReader(_Chain(parts, progress), buffer_size=COPY_CHUNK)
    try:
        with tarfile.open(fileobj=stream, mode="r|*", errorlevel=1) as tar:
            for member in tar:
                result.members += 1
                name = _parts(member.name)
                reason = _tar_refusal(member, name, links, staging)
                if reason is None:
                    if member.isfile():
                        budget.check(result, label, member.name, member.size)
                    reason = _tar_member(tar, member, name, staging, links)
                if reason is None:
                    result.extracted += 1
                    result.bytes_written += member.size if member.isfile() else 0
                else:
                    result.refused.append(Refused(label, member.name, reason))
    except (tarfile.ReadError, tarfile.CompressionError, EOFError, zlib.error) as exc:
        raise SparError(f"{label}: damaged or truncated archive ({exc}); nothing was moved into place") from None
    finally:
        stream.close()


def _zip_reason(info: zipfile.ZipInfo) -> str | None:
    reason = unsafe_name(info.filename)
    if reason is not None:
        return reason
    kind = stat.S_IFMT(info.external_attr >> 16)
    if info.create_system == 3 and kind:  # a unix file type is present (zipfile's writestr stores none)
        if kind == stat.S_IFLNK:
            return "symlink member (refused in zip archives)"
        if kind not in (stat.S_IFREG, stat.S_IFDIR):
            return "special file (device, FIFO or socket)"
    return None


def _copy_declared(src: IO[bytes], dst: IO[bytes], size: int) -> int:
    """Copy at most `size` bytes (the member's declared size); returns how many were copied."""
    left = size
    while left > 0:
        chunk = src.read(min(COPY_CHUNK, left))
        if not chunk:
            break
        dst.write(chunk)
        left -= len(chunk)
    return size - left


def _extract_zip(path: Path, staging: Path, result: ExtractResult, progress, budget: _Budget, links: _Links) -> None:
    root = staging.resolve()
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                result.members += 1
                reason = _zip_reason(info) or links.through(_parts(info.filename))
                target = (staging / info.filename.replace("\\", "/")).resolve() if reason is None else None
                if target is not None and root not in (target, *target.parents):
                    reason = "resolves outside the target"
                if reason is not None:
                    result.refused.append(Refused(path.name, info.filename, reason))
                    continue
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    budget.check(result, path.name, info.filename, info.file_size)
                    with archive.open(info) as src, atomic_open(target, "wb", encoding=None) as dst:
                        result.bytes_written += _copy_declared(src, dst, info.file_size)
                result.extracted += 1
                if progress is not None:
                    progress(info.compress_size)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise SparError(f"{path}: damaged or truncated zip archive ({exc}); nothing was moved into place") from None


def _move_into_place(staging: Path, out: Path) -> None:
    """Move every staged entry to the same relative place under out (files replace files).

    Staging holds no links (they are held back), and no staged path goes through a link of out.
    """
    for dirpath, _dirnames, filenames in os.walk(staging):
        rel = Path(dirpath).relative_to(staging)
        dest_dir = out / rel
        if dest_dir.is_symlink() or (dest_dir.exists() and not dest_dir.is_dir()):
            raise SparError(f"{dest_dir}: a file is in the way of a folder of the archive")
        dest_dir.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            target = dest_dir / name
            if target.is_dir() and not target.is_symlink():
                raise SparError(f"{target}: a folder is in the way of a file of the archive")
            os.replace(Path(dirpath) / name, target)


def remove_stale_staging(out: Path) -> int:
    """Delete staging folders a killed run left in out; returns how many."""
    removed = 0
    if out.is_dir():
        for entry in out.iterdir():
            if entry.name.startswith(STAGING_PREFIX) and entry.is_dir():
                shutil.rmtree(entry)
                removed += 1
    return removed


def safe_extract(archives: Iterable[str | os.PathLike], out: str | os.PathLike,
                 progress: Callable[[int], None] | None = None, max_bytes: int | None = None) -> ExtractResult:
    """Extract every archive into out; unsafe members are refused and listed in the result.

    max_bytes caps the bytes written by the whole call (None: the free space of out's filesystem at
    the start). The member that would cross it raises SparError and its archive is not moved into
    place; archives before it in the same call stay extracted.
    """
    out = Path(out)
    groups = group_archives(archives)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    if max_bytes is None:
        budget = _Budget(shutil.disk_usage(out).free, f"the free space of {out} at the start; --max-bytes raises it")
    else:
        budget = _Budget(max_bytes, "--max-bytes raises it")
    result = ExtractResult()
    for group in groups:
        staging = out / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir()
        links = _Links(out)
        try:
            if _is_zip(group[0]):
                _extract_zip(group[0], staging, result, progress, budget, links)
            else:
                _extract_tar(group, staging, result, progress, budget, links)
            _move_into_place(staging, out)
            links.create()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return result
