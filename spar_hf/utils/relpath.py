"""Relative paths that come from data (archive members, layout image paths): may one be joined under a root?

One rule for every reader that turns a name from a file into a path below a folder it was given:
not empty, no NUL, not absolute (`/`, `\\` or a drive letter), no `..` component (with `/` or `\\`
as separator), and no component longer than the 255 bytes file systems allow (a longer one made
`Path.is_file` raise instead of answering).
"""

from __future__ import annotations

from pathlib import PurePosixPath

MAX_NAME_BYTES = 255


def unsafe_name(name: str) -> str | None:
    """Why `name` may not be joined under a root, or None if it is fine."""
    if not name or "\x00" in name:
        return "empty name or NUL byte in name"
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "absolute path"
    parts = PurePosixPath(posix).parts
    if ".." in parts:
        return "'..' component escapes the target"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in parts):
        return f"a name longer than {MAX_NAME_BYTES} bytes"
    return None
