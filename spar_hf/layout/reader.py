"""Read a SPAR-7M layout: ours (from `spar-hf generate`) or the official download.

The reader walks `<root>/<source>/qa_jsonl/<split>/<task>/<format>/<format>_<N>.jsonl`, parses
every line into a QARecord and reports bad lines (truncated JSON, non-UTF-8, missing fields) and
wrongly named files with file, line and reason instead of raising. Images are optional (newer
official cards ship QA only): `missing_images` says which of a record's files are absent.
`FrameStore` is the RGBD frames reader (depth path, pose, intrinsics, size per layout image path)
and implements `spar_hf.tasks.registry.FrameLookup`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from spar_hf.errors import SparError
from spar_hf.layout.paths import (
    IMAGES_DIR,
    QA_DIR,
    QA_FILE_RE,
    FramePaths,
    as_intrinsics,
    as_pose,
    frame_paths,
    parse_matrix,
)
from spar_hf.records import QARecord
from spar_hf.utils.jsonvalues import text_value_problem, too_many_digits
from spar_hf.utils.relpath import unsafe_name

PATH_MAX_BYTES = 4096  # longer paths make os.stat raise ENAMETOOLONG instead of answering


@dataclass(frozen=True)
class QAFile:
    """One `<format>_<N>.jsonl` file and where it sits in the layout."""

    source: str
    split: str
    task: str
    format: str
    path: Path
    declared_lines: int | None  # N from the file name, None if the name does not follow the pattern


@dataclass(frozen=True)
class Entry:
    """One parsed QA line with its position (line is 1-based)."""

    source: str
    split: str
    task: str
    format: str
    file: Path
    line: int
    record: QARecord


@dataclass(frozen=True)
class Problem:
    """A line or file the reader could not use, with the reason."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


def _subdirs(path: Path) -> list[str]:
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _is_source(path: Path) -> bool:
    return (path / QA_DIR).is_dir() or (path / IMAGES_DIR).is_dir()


def _is_source_parent(path: Path) -> bool:
    return path.is_dir() and any(_is_source(path / s) for s in _subdirs(path))


class SparLayout:
    """A SPAR-7M tree. `root` holds `<source>/` folders, or is one source folder, or holds `spar/`."""

    def __init__(self, root: str | os.PathLike):
        root = Path(root)
        if not root.is_dir():
            raise SparError(f"{root}: not a directory")
        if not _is_source(root) and not any(_is_source(root / s) for s in _subdirs(root)) and _is_source_parent(root / "spar"):
            root = root / "spar"  # the folder the official download unpacks into
        if _is_source(root):
            self.root = root.parent
            self._sources = [root.name]
        else:
            self.root = root
            self._sources = [s for s in _subdirs(root) if _is_source(root / s)]
        self._stores: dict[str, FrameStore] = {}
        self._listing: dict[Path, frozenset[str]] = {}

    # --- structure -------------------------------------------------------------------------
    def sources(self) -> list[str]:
        return list(self._sources)

    def source_dir(self, source: str) -> Path:
        return self.root / source

    def images_root(self, source: str) -> Path:
        return self.root / source / IMAGES_DIR

    def splits(self, source: str) -> list[str]:
        return _subdirs(self.root / source / QA_DIR)

    def tasks(self, source: str, split: str) -> list[str]:
        return _subdirs(self.root / source / QA_DIR / split)

    def files(self, source: str | None = None, split: str | None = None, task: str | None = None,
              format: str | None = None, problems: Callable[[Problem], None] | None = None) -> list[QAFile]:
        """QA files in sorted (source, split, task, format, name) order, filtered by the given keys.

        Files whose name is not `<format>_<N>.jsonl` for their format folder are reported and skipped.
        """
        out: list[QAFile] = []
        for src in self._sources:
            if source is not None and src != source:
                continue
            for spl in self.splits(src):
                if split is not None and spl != split:
                    continue
                for tsk in self.tasks(src, spl):
                    if task is not None and tsk != task:
                        continue
                    for fmt in _subdirs(self.root / src / QA_DIR / spl / tsk):
                        if format is not None and fmt != format:
                            continue
                        folder = self.root / src / QA_DIR / spl / tsk / fmt
                        for path in sorted(folder.iterdir()):
                            if path.name.startswith(".") or not path.is_file():
                                continue
                            match = QA_FILE_RE.match(path.name)
                            if not match or match["format"] != fmt:
                                if problems is not None:
                                    problems(Problem(str(path), None, f"file name is not {fmt}_<N>.jsonl; skipped"))
                                continue
                            out.append(QAFile(src, spl, tsk, fmt, path, int(match["n"])))
        return out

    # --- records ---------------------------------------------------------------------------
    def iter_records(self, source: str | None = None, split: str | None = None, task: str | None = None,
                     format: str | None = None, problems: Callable[[Problem], None] | None = None) -> Iterator[Entry]:
        """Every parseable QA line in file order; bad lines go to `problems` (default: dropped silently)."""
        report = problems or (lambda _p: None)
        for qa_file in self.files(source, split, task, format, problems=report):
            yield from read_qa_file(qa_file, report)

    def count(self, **filters) -> int:
        return sum(1 for _ in self.iter_records(**filters))

    # --- frames ----------------------------------------------------------------------------
    def frames(self, source: str) -> "FrameStore":
        """The RGBD frames reader of one source (cached)."""
        if source not in self._stores:
            self._stores[source] = FrameStore(self.images_root(source))
        return self._stores[source]

    def image_file(self, source: str, relative: str, what: str = "image") -> Path:
        """The file a record names, inside `<source>/images/`; SparError with the reason otherwise."""
        return self.frames(source).file(relative, what)

    def missing_images(self, record: QARecord) -> list[str]:
        """Layout paths of the record's colour (and depth) files that are not on disk (or not inside images/).

        Existence comes from one listing per folder (cached), so checking millions of records costs
        one directory read per scene folder rather than one stat per path.
        """
        store = self.frames(record.source)
        return [p for p in [*record.images, *record.depths] if store.problem(p) or not self._exists(store.root / p)]

    def _exists(self, path: Path) -> bool:
        folder = path.parent
        names = self._listing.get(folder)
        if names is None:
            try:
                names = frozenset(e.name for e in os.scandir(folder) if e.is_file())
            except OSError:
                names = frozenset()
            self._listing[folder] = names
        return path.name in names


def read_qa_file(qa_file: QAFile, report: Callable[[Problem], None]) -> Iterator[Entry]:
    """Parse one QA file line by line; a bad line is reported, never raised."""
    for _offset, entry in scan_qa_file(qa_file, report):
        yield entry


def scan_qa_file(qa_file: QAFile, report: Callable[[Problem], None]) -> Iterator[tuple[int, Entry]]:
    """(byte offset of the line, entry) per good line, so a later pass can read that line alone
    (`read_entry`); bad lines are reported, and so is a line count that differs from the file name."""
    n_lines = 0
    offset = 0
    with open(qa_file.path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            n_lines = number
            entry = parse_line(qa_file, number, raw, report)
            if entry is not None:
                yield offset, entry
            offset += len(raw)
    if qa_file.declared_lines is not None and qa_file.declared_lines != n_lines:
        report(Problem(str(qa_file.path), None, f"name says {qa_file.declared_lines} lines, file has {n_lines}"))


def read_entry(qa_file: QAFile, handle: IO[bytes], offset: int, number: int,
               report: Callable[[Problem], None]) -> Entry | None:
    """The entry of line `number` at byte `offset` of `handle` (qa_file opened in binary), as `scan_qa_file` parsed it."""
    handle.seek(offset)
    return parse_line(qa_file, number, handle.readline(), report)


def parse_line(qa_file: QAFile, number: int, raw: bytes, report: Callable[[Problem], None]) -> Entry | None:
    """One raw line of `qa_file` -> Entry, or None after reporting why it is not one."""
    where = str(qa_file.path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report(Problem(where, number, f"not UTF-8 ({exc.reason} at byte {exc.start})"))
        return None
    if not text.strip():
        report(Problem(where, number, "empty line"))
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        report(Problem(where, number, f"invalid JSON ({exc.msg} at column {exc.colno})"))
        return None
    except RecursionError:
        report(Problem(where, number, "invalid JSON (nested too deeply)"))
        return None
    except ValueError:
        report(Problem(where, number, f"invalid JSON ({too_many_digits()})"))
        return None
    if not isinstance(obj, dict):
        report(Problem(where, number, f"not a JSON object but {type(obj).__name__}"))
        return None
    value = text_value_problem(text, obj)
    if value is not None:
        report(Problem(where, number, value))
        return None
    try:
        record = QARecord.from_json(obj, format=qa_file.format, source=qa_file.source)
    except KeyError as exc:
        report(Problem(where, number, f"missing field {exc}"))
        return None
    except StopIteration:
        report(Problem(where, number, "conversations lack a human or gpt turn"))
        return None
    except (TypeError, ValueError, AttributeError) as exc:
        report(Problem(where, number, f"malformed record ({exc})"))
        return None
    if record.task != qa_file.task:
        report(Problem(where, number, f"type {record.task!r} differs from its task folder {qa_file.task!r}"))
        return None
    return Entry(qa_file.source, qa_file.split, qa_file.task, qa_file.format, qa_file.path, number, record)


class FrameStore:
    """RGBD lookup by layout image path under one `images/` root (the SPAR-7M-RGBD frames reader).

    Keyframes use image_depth/, pose/, intrinsic/; video frames use video_depth/, video_pose/ and
    the intrinsics of their source frame. Intrinsic files may be 3x3 or 4x4; a scene holding a
    single shared intrinsic file (e.g. `intrinsic/intrinsic_color.txt`) is accepted too.
    """

    def __init__(self, images_root: str | os.PathLike):
        self.root = Path(images_root)
        self._root_bytes = len(os.fsencode(self.root))
        self._pose = lru_cache(maxsize=65536)(self._read_pose)
        self._intrinsics = lru_cache(maxsize=65536)(self._read_intrinsics)
        self._size = lru_cache(maxsize=65536)(self._read_size)

    def paths(self, image: str) -> FramePaths:
        return frame_paths(image)

    def problem(self, relative: str) -> str | None:
        """Why a path a record names cannot be a file inside this images/ root, or None.

        Judged from the text (`spar_hf.utils.relpath`): a layout is data, so `../x.jpg` or `/etc/hostname`
        never reaches the file system. Links inside the tree are the tree's own (unpack refuses
        links that leave it).
        """
        if not isinstance(relative, str):
            return f"not a path but {type(relative).__name__}"
        reason = unsafe_name(relative)
        if reason is None and self._root_bytes + 1 + len(relative.encode("utf-8", "surrogatepass")) >= PATH_MAX_BYTES:
            reason = f"path longer than {PATH_MAX_BYTES} bytes"
        return reason

    def file(self, relative: str, what: str = "image") -> Path:
        """`root / relative` when that stays inside the root; SparError naming the path and the reason."""
        reason = self.problem(relative)
        if reason is not None:
            raise SparError(f"{what} path {relative!r}: {reason}")
        return self.root / relative

    def color_path(self, image: str) -> Path:
        return self.file(image)

    def depth_path(self, image: str) -> Path:
        return self.file(frame_paths(image).depth, "depth")

    def has_rgbd(self, image: str) -> bool:
        """Whether colour, depth and pose of this frame are all on disk."""
        fp = frame_paths(image)
        return all(self.problem(p) is None and (self.root / p).is_file() for p in (fp.color, fp.depth, fp.pose))

    def pose(self, image: str) -> np.ndarray:
        """4x4 camera-to-world; SparError naming the file if missing or malformed."""
        return self._pose(image).copy()

    def intrinsics(self, image: str) -> np.ndarray:
        """3x3 pinhole matrix of the frame's colour camera."""
        return self._intrinsics(image).copy()

    def size(self, image: str) -> tuple[int, int]:
        """(width, height) of the colour image, read from its header."""
        return self._size(image)

    def depth(self, image: str) -> np.ndarray:
        """The raw 16-bit depth map (uint16; our writer stores millimetres)."""

        path = self.depth_path(image)
        if not path.is_file():
            raise SparError(f"{path}: depth image missing")
        with Image.open(path) as img:
            return np.array(img).astype(np.uint16)

    def _read_pose(self, image: str) -> np.ndarray:
        self.file(image)  # the derived paths share its scene folder and frame number
        fp = frame_paths(image)
        candidates = [fp.pose]
        if fp.is_video:
            candidates.append(f"{fp.scene}/video_pose/{fp.frame_index}.txt")
        path = self._first_existing(candidates, "pose")
        try:
            return as_pose(parse_matrix(path.read_text(encoding="utf-8"), str(path)), str(path))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SparError(f"{path}: bad pose file ({exc})") from None

    def _read_intrinsics(self, image: str) -> np.ndarray:
        self.file(image)
        fp = frame_paths(image)
        folder = self.root / fp.scene / "intrinsic"
        candidates = [fp.intrinsic, f"{fp.scene}/intrinsic/intrinsic_color.txt"]
        existing = [c for c in candidates if (self.root / c).is_file()]
        if not existing and folder.is_dir():
            shared = sorted(p.name for p in folder.iterdir() if p.suffix == ".txt" and not p.name.startswith("."))
            if len(shared) == 1:
                existing = [f"{fp.scene}/intrinsic/{shared[0]}"]
        path = self._first_existing(existing or candidates, "intrinsics")
        try:
            return as_intrinsics(parse_matrix(path.read_text(encoding="utf-8"), str(path)))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SparError(f"{path}: bad intrinsics file ({exc})") from None

    def _read_size(self, image: str) -> tuple[int, int]:
        path = self.file(image)
        if not path.is_file():
            raise SparError(f"{path}: image missing")
        with Image.open(path) as img:
            return int(img.width), int(img.height)

    def _first_existing(self, candidates: Iterable[str], what: str) -> Path:
        candidates = list(candidates)
        for cand in candidates:
            path = self.root / cand
            if path.is_file():
                return path
        raise SparError(f"{self.root / candidates[0]}: {what} file missing")
