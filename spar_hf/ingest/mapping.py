"""Field mapping: where a SpatialForge-style record keeps its image, conversation, task, boxes and count.

SpatialForge does not publish its field names, so every field is a list of dotted paths tried in
order (`conversations.0.value`, `meta.task`; integers index lists). The defaults read LLaVA/Qwen-style
records; a YAML or JSON mapping file replaces any of them, e.g.

    image: [img.path]
    question: q
    answer: a
    task: meta.task_name
    boxes: [annotations]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError
from spar_hf.ingest.validate import Rejected

PATH_FIELDS = ("id", "image", "image_sha256", "conversations", "question", "answer", "task", "source", "boxes", "count")
LIST_OPTIONS = ("role_keys", "text_keys", "human_roles", "gpt_roles")
STR_OPTIONS = ("box_key", "label_key")

DEFAULTS: dict[str, list[str]] = {
    "id": ["id"],
    "image": ["image", "images", "image_path", "file_name"],
    "image_sha256": ["image_sha256"],
    "conversations": ["conversations", "messages"],
    "question": [],
    "answer": [],
    "task": ["task", "task_type", "type", "category"],
    "source": ["source", "image_source", "dataset"],
    "boxes": ["bbox_2d", "boxes", "bboxes", "objects"],
    "count": ["count"],
    "role_keys": ["from", "role"],
    "text_keys": ["value", "content"],
    "human_roles": ["human", "user"],
    "gpt_roles": ["gpt", "assistant"],
}


def _compile(path: str) -> tuple:
    return tuple(int(p) if p.lstrip("-").isdigit() else p for p in path.split("."))


def get_path(obj: Any, path: tuple) -> Any:
    """Follow a compiled dotted path; None when any step is missing."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(obj, list) or not -len(obj) <= part < len(obj):
                return None
            obj = obj[part]
        elif isinstance(obj, dict):
            obj = obj.get(part)
            if obj is None:
                return None
        else:
            return None
    return obj


@dataclass(slots=True)
class Extracted:
    """What the mapping found in one record (not validated yet)."""

    source_id: str | None
    images: list[str]
    image_sha256: str | None
    task_value: Any
    task_field: str | None
    source: str | None
    turns: list[tuple[str, str]]
    field_boxes: list[tuple[Any, str | None]]
    count: Any


@dataclass
class Mapping:
    """Dotted field paths (first present wins) and the conversation conventions."""

    paths: dict[str, list[str]] = field(default_factory=lambda: {k: list(DEFAULTS[k]) for k in PATH_FIELDS})
    box_key: str = "bbox_2d"
    label_key: str = "label"
    role_keys: list[str] = field(default_factory=lambda: list(DEFAULTS["role_keys"]))
    text_keys: list[str] = field(default_factory=lambda: list(DEFAULTS["text_keys"]))
    human_roles: list[str] = field(default_factory=lambda: list(DEFAULTS["human_roles"]))
    gpt_roles: list[str] = field(default_factory=lambda: list(DEFAULTS["gpt_roles"]))

    def __post_init__(self) -> None:
        self._compiled = {k: [(p, _compile(p)) for p in self.paths.get(k, [])] for k in PATH_FIELDS}
        self._plain = {k: all(len(c) == 1 and isinstance(c[0], str) for _, c in v) for k, v in self._compiled.items()}
        self._nested = [k for k in PATH_FIELDS if not self._plain[k]]
        # top-level key -> [(field, priority)] for the plain fields, so a record is scanned once
        self._slots: dict[str, list[tuple[str, int]]] = {}
        for k, v in self._compiled.items():
            if self._plain[k]:
                for prio, (name, _path) in enumerate(v):
                    self._slots.setdefault(name, []).append((k, prio))
        self._human = set(self.human_roles)
        self._gpt = set(self.gpt_roles)

    def _first(self, record: dict, key: str) -> tuple[Any, str | None]:
        if self._plain[key]:  # fast path: top-level keys only (the defaults)
            for name, _path in self._compiled[key]:
                value = record.get(name)
                if value is not None:
                    return value, name
            return None, None
        for name, path in self._compiled[key]:
            value = get_path(record, path)
            if value is not None:
                return value, name
        return None, None

    def _scan(self, record: dict) -> dict[str, tuple[Any, str | None, int]]:
        """Every present field's (value, key, priority): plain fields from one pass over the record's keys."""
        found: dict[str, tuple[Any, str, int]] = {}
        slots = self._slots
        for key, value in record.items():
            if value is None:
                continue
            for name, prio in slots.get(key, ()):
                current = found.get(name)
                if current is None or prio < current[2]:
                    found[name] = (value, key, prio)
        for k in self._nested:
            value, key = self._first(record, k)
            found[k] = (value, key, 0)
        return found

    def extract(self, record: Any) -> Extracted:
        """Pull the fields out of one record; raises Rejected when it has no usable conversation."""
        if not isinstance(record, dict):
            raise Rejected(f"not_an_object: record is a {type(record).__name__}, expected a JSON object")
        fields = self._scan(record)
        none = (None, None, 0)
        source_id = fields.get("id", none)[0]
        image = fields.get("image", none)[0]
        sha = fields.get("image_sha256", none)[0]
        task_value, task_field, _ = fields.get("task", none)
        source = fields.get("source", none)[0]
        boxes = fields.get("boxes", none)[0]
        count = fields.get("count", none)[0]
        return Extracted(
            source_id=None if source_id is None else str(source_id),
            images=_image_refs(image),
            image_sha256=None if sha is None else str(sha),
            task_value=task_value,
            task_field=task_field,
            source=None if source is None else str(source),
            turns=self._turns(record, fields),
            field_boxes=self._field_boxes(boxes),
            count=count,
        )

    def _turns(self, record: dict, fields: dict) -> list[tuple[str, str]]:
        if self._compiled["question"] or self._compiled["answer"]:
            question, qname = self._first(record, "question")
            answer, aname = self._first(record, "answer")
            if question is None or answer is None:
                missing = "question" if question is None else "answer"
                raise Rejected(f"missing_field: no {missing} at {', '.join(self.paths[missing])}")
            return [(_text(question), _text(answer))]
        conv, name, _ = fields.get("conversations", (None, None, 0))
        if not isinstance(conv, list):
            raise Rejected(f"missing_field: no conversation list at {', '.join(self.paths['conversations'])}")
        turns: list[tuple[str, str]] = []
        pending: str | None = None
        role_key, text_key = self.role_keys[0], self.text_keys[0]
        for turn in conv:
            if not isinstance(turn, dict):
                continue
            role = turn.get(role_key)
            if role is None:
                role = next((turn[k] for k in self.role_keys[1:] if turn.get(k) is not None), None)
            text = turn.get(text_key)
            if text is None:
                text = next((turn[k] for k in self.text_keys[1:] if turn.get(k) is not None), None)
            if role in self._human:
                pending = _text(text)
            elif role in self._gpt and pending is not None:
                turns.append((pending, _text(text)))
                pending = None
        if not turns:
            raise Rejected(f"missing_field: {name} has no {'/'.join(self.human_roles)} turn followed by a "
                           f"{'/'.join(self.gpt_roles)} turn")
        return turns

    def _field_boxes(self, value: Any) -> list[tuple[Any, str | None]]:
        """Boxes from a record field: one box, a list of boxes, or objects holding `box_key`."""
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return [(value, None)]
        if value and all(not isinstance(v, (list, dict)) for v in value):
            return [(value, None)]
        out: list[tuple[Any, str | None]] = []
        for item in value:
            if isinstance(item, dict):
                label = item.get(self.label_key)
                out.append((item.get(self.box_key), None if label is None else str(label)))
            else:
                out.append((item, None))
        return out


def _text(value: Any) -> str:
    """Turn text; Qwen message content lists keep their text parts."""
    if type(value) is str:
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in value)
    return "" if value is None else str(value)


def _image_refs(value: Any) -> list[str]:
    """A path, a list of paths, or HF-style {"path": ...} structs -> list of path strings."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("path") or item.get("file_name") or item.get("image")
        if item:
            out.append(str(item))
    return out


def load_mapping(path: str | os.PathLike | None) -> Mapping:
    """The default mapping, or one read from a YAML/JSON file (unknown keys are an error)."""
    if path is None:
        return Mapping()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SparError(f"{path}: cannot read mapping file ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".json":
            spec = json.loads(text)
        else:
            import yaml

            spec = yaml.safe_load(text)
    except ValueError as exc:
        raise SparError(f"{path}: mapping file is not valid JSON/YAML ({exc})") from None
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise SparError(f"{path}: mapping file must hold a mapping of field -> path(s)")
    paths = {k: list(DEFAULTS[k]) for k in PATH_FIELDS}
    options: dict[str, Any] = {}
    for key, value in spec.items():
        if key in PATH_FIELDS or key in LIST_OPTIONS:
            values = [value] if isinstance(value, str) else value
            if value is None:
                values = []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise SparError(f"{path}: mapping key {key!r} must be a string or a list of strings")
            if key in PATH_FIELDS:
                paths[key] = values
            else:
                options[key] = values
        elif key in STR_OPTIONS:
            if not isinstance(value, str):
                raise SparError(f"{path}: mapping key {key!r} must be a string")
            options[key] = value
        else:
            known = ", ".join(PATH_FIELDS + LIST_OPTIONS + STR_OPTIONS)
            raise SparError(f"{path}: unknown mapping key {key!r} (known: {known})")
    return Mapping(paths=paths, **options)
