"""Find SpatialForge's images in the user's copies of Objects365, OpenImages, Pixmo or a plain folder,
check them cheaply, and hard-link (or copy) them into the SPAR layout.

`--images NAME=DIR`: the name picks the resolver by prefix (`objects365*`, `openimages*`, `pixmo*`;
anything else is a plain folder) and is the first component of the image's layout path
`<NAME>/<path relative to DIR>`.

Resolution of a reference `ref` (a path string from the record) under DIR, first hit wins:
- every kind: `DIR/ref`, then `ref` with leading components dropped one at a time
  (`images/v2/patch45/x.jpg` -> `v2/patch45/x.jpg` -> `patch45/x.jpg` -> `x.jpg`);
- objects365: a bare file name is looked up in the patch folders (an index of DIR built once, on
  the first bare-name miss);
- openimages: `<ImageID>` or `<ImageID>.jpg` is looked up as `DIR/<split>/<ImageID>.jpg` for every
  split folder (train, validation, test first);
- pixmo: files are named `<sha256><ext>`; the sha comes from the ref's stem or the record's
  `image_sha256` field (URLs cannot be resolved without it).

Checks (no pixel decode unless needed): the header gives the size (PIL opens lazily); `verify()`
(PNG: chunk CRCs up to IEND); JPEGs must end with the EOI marker, and one that does not is
decoded fully, so trailing padding is tolerated but truncation is caught. `full=True` decodes every
image.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from spar_hf.errors import SparError
from spar_hf.ingest.validate import Rejected
from spar_hf.utils.atomic import TMP_PREFIX, atomic_open
from spar_hf.utils.relpath import MAX_NAME_BYTES

KINDS = ("objects365", "openimages", "pixmo", "folder")
PIXMO_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
OPENIMAGES_SPLITS = ("train", "validation", "test")
CACHE_SIZE = 1 << 17
_SHA_RE = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class ImageRoot:
    name: str
    kind: str
    root: Path


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """A checked image: its layout path (relative to `<out>/images`) and stored size."""

    layout_path: str
    width: int
    height: int
    root: str


def kind_of(name: str) -> str:
    lowered = name.lower()
    for kind in ("objects365", "openimages", "pixmo"):
        if lowered.startswith(kind):
            return kind
    return "folder"


def parse_image_roots(specs: list[str]) -> list[ImageRoot]:
    """`NAME=DIR` arguments -> ImageRoots; SparError on a bad spec, a missing DIR or a repeated NAME."""
    roots: list[ImageRoot] = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise SparError(f"--images {spec!r}: expected NAME=DIR (e.g. objects365=/data/objects365)")
        if "/" in name or name.startswith("."):
            raise SparError(f"--images {spec!r}: NAME must be a plain folder name")
        if any(r.name == name for r in roots):
            raise SparError(f"--images {spec!r}: name {name!r} given twice")
        path = Path(folder)
        if not path.is_dir():
            raise SparError(f"--images {spec!r}: {folder} is not a directory")
        roots.append(ImageRoot(name, kind_of(name), path))
    return roots


def _clean(ref: str) -> str | None:
    """A reference as a safe relative POSIX path (URL scheme and leading '/' dropped); None if it escapes."""
    if "://" in ref:
        ref = ref.split("://", 1)[1].split("/", 1)[-1]
    ref = posixpath.normpath(ref.replace("\\", "/")).lstrip("/")
    if ref in ("", ".") or ref == ".." or ref.startswith("../"):
        return None
    return ref


class ImageStore:
    """Resolves references, checks images and places them under `<out>/images`, caching per reference."""

    def __init__(self, roots: list[ImageRoot], out_images: Path, full_check: bool = False):
        self.roots = roots
        self.by_name = {r.name: r for r in roots}
        self.by_kind: dict[str, ImageRoot] = {}
        for root in roots:
            self.by_kind.setdefault(root.kind, root)
        self.out_images = Path(out_images)
        self.full_check = full_check
        self._cache: dict[tuple, ImageInfo | str] = {}
        self._o365_index: dict[str, dict[str, str]] = {}
        self._splits: dict[str, list[str]] = {}
        self._made_dirs: set[Path] = set()
        self._real_roots: dict[str, Path] = {}
        self.linked = 0
        self.copied = 0

    def get(self, ref: str, source: str | None = None, sha: str | None = None) -> ImageInfo:
        """The checked, placed image for a record's reference; raises Rejected with the reason."""
        key = (ref, source, sha)
        hit = self._cache.get(key)
        if hit is None:
            try:
                hit = self._load(ref, source, sha)
            except Rejected as exc:
                hit = exc.reason
            if len(self._cache) >= CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = hit
        if isinstance(hit, str):
            raise Rejected(hit)
        return hit

    def _load(self, ref: str, source: str | None, sha: str | None) -> ImageInfo:
        if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in ref.replace("\\", "/").split("/")):
            raise Rejected(f"image_not_found: {ref!r}: a name longer than {MAX_NAME_BYTES} bytes")
        try:
            found = self.resolve(ref, source, sha)
        except OSError as exc:  # a path past PATH_MAX (ENAMETOOLONG), a loop of links (ELOOP)
            raise Rejected(f"image_not_found: {ref!r}: {exc.strerror}") from None
        if found is None:
            names = ", ".join(r.name for r in self._candidates(ref, source)[0]) or "none"
            raise Rejected(f"image_not_found: {ref!r} not found under --images {names}")
        root, path = found
        real = path.resolve()
        if not real.is_relative_to(self._real_root(root)):
            raise Rejected(f"image_outside_root: {ref!r} is a symbolic link (or under one) that leads out of "
                           f"--images {root.name} to {real}")
        width, height = check_image(real, self.full_check)
        rel = path.relative_to(root.root).as_posix()
        layout_path = f"{root.name}/{rel}"
        self._place(real, self.out_images / root.name / rel)
        return ImageInfo(layout_path, width, height, root.name)

    def _real_root(self, root: ImageRoot) -> Path:
        """The root folder with its own links resolved (a root given as a link is the user's choice)."""
        real = self._real_roots.get(root.name)
        if real is None:
            real = self._real_roots[root.name] = root.root.resolve()
        return real

    def _candidates(self, ref: str, source: str | None) -> tuple[list[ImageRoot], str]:
        if source:
            root = self.by_name.get(source) or self.by_kind.get(kind_of(source))
            if root is not None:
                return [root], ref
        head, _, rest = ref.partition("/")
        if rest and head in self.by_name:
            return [self.by_name[head]], rest
        return list(self.roots), ref

    def resolve(self, ref: str, source: str | None = None, sha: str | None = None) -> tuple[ImageRoot, Path] | None:
        """(root, absolute file) for a reference, or None."""
        roots, ref = self._candidates(ref, source)
        clean = _clean(ref)
        for root in roots:
            path = self._resolve_in(root, clean, sha) if clean is not None or sha else None
            if path is not None:
                return root, path
        return None

    def _resolve_in(self, root: ImageRoot, ref: str | None, sha: str | None) -> Path | None:
        if ref is not None:
            parts = ref.split("/")
            for i in range(len(parts)):
                path = root.root.joinpath(*parts[i:])
                if path.is_file():
                    return path
            name = parts[-1]
            if root.kind == "objects365" and len(parts) == 1:  # bare names only: the index costs a walk of DIR
                rel = self._objects365_index(root).get(name)
                if rel is not None:
                    return root.root / rel
            elif root.kind == "openimages":
                stem = name[:-4] if name.lower().endswith(".jpg") else name
                for split in self._split_dirs(root):
                    path = root.root / split / f"{stem}.jpg"
                    if path.is_file():
                        return path
            elif root.kind == "pixmo":
                stem = posixpath.splitext(name)[0]
                if _SHA_RE.match(stem) and (path := _pixmo_file(root.root, stem)) is not None:
                    return path
        if root.kind == "pixmo" and sha and _SHA_RE.match(sha):
            return _pixmo_file(root.root, sha)
        return None

    def _objects365_index(self, root: ImageRoot) -> dict[str, str]:
        """File name -> path relative to DIR for every image under DIR (built once per root)."""
        index = self._o365_index.get(root.name)
        if index is None:
            index = {}
            for dirpath, dirnames, files in os.walk(root.root):
                dirnames.sort()
                rel_dir = Path(dirpath).relative_to(root.root)
                for name in sorted(files):
                    index.setdefault(name, (rel_dir / name).as_posix())
            self._o365_index[root.name] = index
        return index

    def _split_dirs(self, root: ImageRoot) -> list[str]:
        splits = self._splits.get(root.name)
        if splits is None:
            present = sorted(p.name for p in root.root.iterdir() if p.is_dir())
            splits = [s for s in OPENIMAGES_SPLITS if s in present] + [s for s in present if s not in OPENIMAGES_SPLITS]
            self._splits[root.name] = splits
        return splits

    def _place(self, src: Path, dst: Path) -> None:
        """Hard-link src to dst (copy when linking is impossible), atomically; keep an identical dst."""
        try:
            if os.path.samefile(src, dst) or os.path.getsize(src) == os.path.getsize(dst) and _same_bytes(src, dst):
                return
        except FileNotFoundError:
            pass
        parent = dst.parent
        if parent not in self._made_dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(parent)
        tmp = parent / f"{TMP_PREFIX}{dst.name}.{os.getpid()}"
        try:
            os.link(src, tmp)
        except OSError:
            with open(src, "rb") as fin, atomic_open(dst, "wb", encoding=None) as fout:
                shutil.copyfileobj(fin, fout)
            self.copied += 1
            return
        os.replace(tmp, dst)
        self.linked += 1


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            block = fa.read(1 << 20)
            if block != fb.read(1 << 20):
                return False
            if not block:
                return True


def _pixmo_file(root: Path, sha: str) -> Path | None:
    for stem in (sha.lower(), sha):
        for ext in PIXMO_EXTS:
            path = root / f"{stem}{ext}"
            if path.is_file():
                return path
    return None


def check_image(path: Path, full: bool = False) -> tuple[int, int]:
    """(width, height) from the header after the cheap integrity checks; raises Rejected."""

    try:
        with Image.open(path) as im:
            width, height = im.size
            fmt = im.format
            if full:
                im.load()
            else:
                im.verify()
    except UnidentifiedImageError:
        raise Rejected(f"image_unreadable: {path} is not a recognised image") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Rejected(_decode_reason(path, exc)) from None
    if not full and fmt == "JPEG" and not _jpeg_has_eoi(path):
        try:
            with Image.open(path) as im:
                im.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise Rejected(_decode_reason(path, exc)) from None
    if width <= 0 or height <= 0:
        raise Rejected(f"image_unreadable: {path} has size {width}x{height}")
    return width, height


def _decode_reason(path: Path, exc: Exception) -> str:
    code = "image_truncated" if "truncated" in str(exc).lower() else "image_corrupt"
    return f"{code}: {path}: {exc}"


def _jpeg_has_eoi(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64))
        tail = fh.read()
    return tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
