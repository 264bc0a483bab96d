"""The Cython-compiled ingest modules and the guard that runs an edited source instead of an older build."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys

import pytest

from spar_hf.utils import compiled

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _package(tmp_path, name: str, compiled_age: int | None) -> None:
    """`name/mod.py` (X = "source") and, unless None, a `mod<suffix>` that is not a real extension, `compiled_age`
    seconds older (negative: newer) than the source."""
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text('X = "source"\n')
    os.utime(pkg / "mod.py", (1_000_000, 1_000_000))
    if compiled_age is not None:
        (pkg / f"mod{SUFFIX}").write_bytes(b"not an ELF file")
        os.utime(pkg / f"mod{SUFFIX}", (1_000_000 - compiled_age, 1_000_000 - compiled_age))


def test_stale_source_compares_modification_times(tmp_path):
    _package(tmp_path, "older", 60)
    _package(tmp_path, "newer", -60)
    _package(tmp_path, "plain", None)
    assert compiled.stale_source("older.mod", [str(tmp_path / "older")]) == str(tmp_path / "older" / "mod.py")
    assert compiled.stale_source("newer.mod", [str(tmp_path / "newer")]) is None
    assert compiled.stale_source("plain.mod", [str(tmp_path / "plain")]) is None


def test_guard_imports_the_edited_source_and_defers_otherwise(tmp_path, monkeypatch):
    _package(tmp_path, "guard_stale", 60)
    _package(tmp_path, "guard_fresh", -60)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(compiled, "COMPILED", ("guard_stale.mod", "guard_fresh.mod"))
    monkeypatch.delenv("SPAR_HF_PURE", raising=False)
    compiled.install_guard()
    try:
        with pytest.warns(UserWarning, match="guard_stale.mod: .* is newer than its compiled module"):
            module = importlib.import_module("guard_stale.mod")
        assert module.X == "source" and module.__file__.endswith("mod.py")
        # a compiled file newer than its source is what Python loads: this one is no extension, so that fails
        with pytest.raises(ImportError):
            importlib.import_module("guard_fresh.mod")
    finally:
        for name in ("guard_stale", "guard_stale.mod", "guard_fresh", "guard_fresh.mod"):
            sys.modules.pop(name, None)


def test_installed_packages_are_not_watched(tmp_path, monkeypatch):
    """pip unpacks a wheel's `mod.py` after `mod<suffix>` (name order), so outside a checkout times say nothing."""
    _package(tmp_path, "unwatched", 60)
    monkeypatch.setattr(compiled, "COMPILED", ("unwatched.mod",))
    monkeypatch.delenv("SPAR_HF_PURE", raising=False)
    finder = compiled.FreshSourceFinder(watch=False)
    assert finder.find_spec("unwatched.mod", [str(tmp_path / "unwatched")]) is None
    with pytest.warns(UserWarning, match="newer than its compiled module"):
        spec = compiled.FreshSourceFinder(watch=True).find_spec("unwatched.mod", [str(tmp_path / "unwatched")])
    assert spec.origin == str(tmp_path / "unwatched" / "mod.py")
    assert compiled.in_source_checkout()  # these tests run from the repository


def test_install_guard_is_idempotent():
    compiled.install_guard()
    compiled.install_guard()
    assert sum(isinstance(f, compiled.FreshSourceFinder) for f in sys.meta_path) == 1


def test_pure_switch_imports_the_sources(tmp_path, monkeypatch):
    _package(tmp_path, "guard_pure", -60)  # a newer compiled file, which the switch passes over
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(compiled, "COMPILED", ("guard_pure.mod",))
    monkeypatch.setenv("SPAR_HF_PURE", "1")
    compiled.install_guard()
    try:
        assert importlib.import_module("guard_pure.mod").X == "source"
    finally:
        sys.modules.pop("guard_pure", None)
        sys.modules.pop("guard_pure.mod", None)


def test_ingest_hot_path_is_what_the_install_asked_for():
    """`SPAR_HF_COMPILE=1 pip install -e .` compiles them (.ci/run installs so and keeps the variable set for the
    tests); SPAR_HF_PURE=1 runs the sources whatever was compiled."""
    expected = ".py" if os.environ.get("SPAR_HF_PURE") else SUFFIX if os.environ.get("SPAR_HF_COMPILE") == "1" else None
    for name in compiled.COMPILED:
        module = importlib.import_module(name)
        if expected is not None:
            assert module.__file__.endswith(expected), \
                f"{name} runs from {module.__file__}: compile it with `SPAR_HF_COMPILE=1 pip install -e .`"
        else:  # a default install: the sources, or a compiled file an earlier opt-in install left
            assert module.__file__.endswith((".py", SUFFIX))
