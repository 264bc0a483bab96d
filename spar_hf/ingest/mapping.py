"""Field mapping: where a SpatialForge-style record keeps its image, conversation, task, boxes and count.

SpatialForge does not publish its field names, so every field is a list of dotted paths tried in
order (`conversations.0.value`, `meta.task`; integers index lists). The defaults read LLaVA/Qwen-style
records; a YAML or JSON mapping file replaces any of them, e.g.

    image: [img.path]
    question: q
    answer: a
    task: meta.task_name
    boxes: [annotations]

Which of a field's keys a record holds depends only on the record's key layout, so that is worked
out once per layout. `extract` handles every record; `common` reads the usual one (one human/gpt
exchange, one image path) with less work and returns what `extract` would find, or None.

Values are taken as their JSON type says, never turned into text by `str()`: a question or answer
is a string (or a list of text parts), an id and a source a string or an integer (written as its
digits), an image_sha256 and a box label a string. Anything else is a `bad_value` reject naming the field (an object
answer used to be written as the text "{'a': 1}", a list label as "['chair']").
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spar_hf.errors import SparError
from spar_hf.ingest.validate import Rejected
from spar_hf.utils.jsonvalues import kind

PATH_FIELDS = ("id", "image", "image_sha256", "conversations", "question", "answer", "task", "source", "boxes", "count")
LIST_OPTIONS = ("role_keys", "text_keys", "human_roles", "gpt_roles")
STR_OPTIONS = ("box_key", "label_key")
LAYOUT_CACHE = 1024  # key layouts remembered by a Mapping (bounded: garbage input has many)
LAYOUT_KEYS = 64  # records with more keys than this are planned each time, not remembered
_COMMON_FIELDS = {"id", "image", "conversations", "task", "source"}  # what `Mapping.common` reads

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
        self._nested = [(PATH_FIELDS.index(k), k) for k in PATH_FIELDS if not self._plain[k]]
        self._layouts: dict[tuple, tuple[tuple, tuple | None]] = {}
        self._qa_paths = bool(self._compiled["question"] or self._compiled["answer"])
        # only string roles can ever match (`_turns` skips others), so membership alone implies a string
        self._human = {r for r in self.human_roles if type(r) is str}
        self._gpt = {r for r in self.gpt_roles if type(r) is str}
        self._roles_disjoint = not self._human & self._gpt
        self._common = not self._nested and not self._qa_paths and self._roles_disjoint
        self._role_key = self.role_keys[0] if self.role_keys else None  # (empty lists fail in `_turns`, as ever)
        self._text_key = self.text_keys[0] if self.text_keys else None

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

    def _layout(self, keys: tuple) -> tuple[tuple, tuple | None]:
        """What one key layout holds, worked out once per layout (a dataset has a handful):
        `plan` = (field index, its keys present in priority order) for every plain field present;
        `shape` = the keys of id, image, conversations, task, source (None when absent) when the layout
        is a common one: each of those under one key, nothing else mapped, no nested paths."""
        plan = []
        for index, k in enumerate(PATH_FIELDS):
            if self._plain[k]:
                names = tuple(name for name, _path in self._compiled[k] if name in keys)
                if names:
                    plan.append((index, names))
        present = {PATH_FIELDS[index]: names for index, names in plan}
        shape = None
        if (self._common and set(present) <= _COMMON_FIELDS and "image" in present and "conversations" in present
                and all(len(names) == 1 for names in present.values())):
            shape = tuple(present[k][0] if k in present else None for k in ("id", "image", "conversations", "task", "source"))
        layout = (tuple(plan), shape)
        if len(keys) <= LAYOUT_KEYS:
            if len(self._layouts) >= LAYOUT_CACHE:
                self._layouts.clear()
            self._layouts[keys] = layout
        return layout

    def _scan(self, record: dict) -> list[tuple[Any, str] | None]:
        """(value, key) of every present field, indexed like PATH_FIELDS (None when absent or null)."""
        keys = tuple(record)
        plan = (self._layouts.get(keys) or self._layout(keys))[0]
        found: list = [None] * len(PATH_FIELDS)
        for index, names in plan:
            for name in names:
                value = record[name]
                if value is not None:
                    found[index] = (value, name)
                    break
        for index, k in self._nested:
            value, name = self._first(record, k)
            if value is not None:
                found[index] = (value, name)
        return found

    def common(self, record: Any) -> tuple[str | None, str, str | None, Any, str | None, str, str] | None:
        """The common record without the general walk: (source_id, image reference, source, task value,
        task key, question, answer), exactly as `extract` would find them, when the record's layout is
        a common one (see `_layout`) holding one non-empty image path and a conversation of one human
        then one gpt turn with string texts; None for anything else (`extract` handles it)."""
        if type(record) is not dict:
            return None
        keys = tuple(record)
        shape = (self._layouts.get(keys) or self._layout(keys))[1]
        if shape is None:
            return None
        id_key, image_key, conv_key, task_key, source_key = shape
        source_id = None if id_key is None else record[id_key]
        if source_id is not None and type(source_id) is not str:
            if type(source_id) is not int:
                return None  # `extract` rejects it
            source_id = str(source_id)
        ref = record[image_key]
        if type(ref) is not str or not ref:
            return None
        task = None if task_key is None else record[task_key]
        source = None if source_key is None else record[source_key]
        if source is not None and type(source) is not str:
            if type(source) is not int:
                return None  # `extract` rejects it
            source = str(source)
        pair = self._pair(record[conv_key])  # last, as in `extract`: a conversion that raises does so in the same order
        if pair is None:
            return None
        return source_id, ref, source, task, None if task is None else task_key, *pair

    def extract(self, record: Any) -> Extracted:
        """Pull the fields out of one record; raises Rejected when it has no usable conversation."""
        if not isinstance(record, dict):
            raise Rejected(f"not_an_object: record is a {type(record).__name__}, expected a JSON object")
        source_id, image, sha, conv, _question, _answer, task, source, boxes, count = self._scan(record)
        return Extracted(
            None if source_id is None else _name(*source_id),
            [] if image is None else _image_refs(image[0]),
            None if sha is None else _sha(*sha),
            None if task is None else task[0],
            None if task is None else task[1],
            None if source is None else _name(*source),
            self._qa_turns(record) if self._qa_paths else self._turns(conv),
            [] if boxes is None else self._field_boxes(boxes[0]),
            None if count is None else count[0],
        )

    def _qa_turns(self, record: dict) -> list[tuple[str, str]]:
        """The one turn of a record whose question and answer have their own paths."""
        question, question_path = self._first(record, "question")
        answer, answer_path = self._first(record, "answer")
        if question is None or answer is None:
            missing = "question" if question is None else "answer"
            raise Rejected(f"missing_field: no {missing} at {', '.join(self.paths[missing])}")
        return [(_text(question, f"question ({question_path})"), _text(answer, f"answer ({answer_path})"))]

    def _turns(self, found: tuple[Any, str] | None) -> list[tuple[str, str]]:
        """(question, answer) pairs of the conversation: each human turn followed by a gpt turn."""
        conv, name = found or (None, None)
        if not isinstance(conv, list):
            raise Rejected(f"missing_field: no conversation list at {', '.join(self.paths['conversations'])}")
        pair = self._pair(conv) if self._roles_disjoint else None
        if pair is not None:
            return [pair]
        role_keys, text_keys = self.role_keys, self.text_keys
        role_key, text_key = role_keys[0], text_keys[0]
        human, gpt = self._human, self._gpt
        turns: list[tuple[str, str]] = []
        pending: str | None = None
        for position, turn in enumerate(conv):
            if type(turn) is not dict and not isinstance(turn, dict):
                continue
            role = turn.get(role_key)
            if role is None:
                role = next((turn[k] for k in role_keys[1:] if turn.get(k) is not None), None)
            if type(role) is not str:
                continue  # a list or object where a role name belongs is no human or gpt turn
            text = turn.get(text_key)
            if text is None:
                text = next((turn[k] for k in text_keys[1:] if turn.get(k) is not None), None)
            if role in human:
                pending = text if type(text) is str else _text(text, f"question ({name}[{position}])")
            elif role in gpt and pending is not None:
                turns.append((pending, text if type(text) is str else _text(text, f"answer ({name}[{position}])")))
                pending = None
        if not turns:
            raise Rejected(f"missing_field: {name} has no {'/'.join(self.human_roles)} turn followed by a "
                           f"{'/'.join(self.gpt_roles)} turn")
        return turns

    def _pair(self, conv: Any) -> tuple[str, str] | None:
        """(question, answer) of the usual conversation, one human turn then one gpt turn with string
        texts under the first role and text keys: what the general walk in `_turns` finds for it when
        no role is both human and gpt (callers check); None for any other conversation."""
        if type(conv) is not list or len(conv) != 2:
            return None
        ask, reply = conv
        if type(ask) is not dict or type(reply) is not dict:
            return None
        text_key = self._text_key
        question, answer = ask.get(text_key), reply.get(text_key)
        if type(question) is not str or type(answer) is not str:
            return None
        role_key = self._role_key
        try:  # the role sets hold only strings, so a role found in them is one
            if ask.get(role_key) in self._human and reply.get(role_key) in self._gpt:
                return question, answer
        except TypeError:  # a list or object where a role name belongs
            pass
        return None

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
                out.append((item.get(self.box_key), item.get(self.label_key)))  # the label as written: `_boxes` checks it
            else:
                out.append((item, None))
        return out


def _text(value: Any, what: str) -> str:
    """Turn text: a string, or a Qwen message content list of strings and `{"text": string}` parts
    (parts without text, such as `{"type": "image"}`, add nothing); None is no text. Anything else is a
    `bad_value` reject naming `what` (e.g. "answer (conversations[1])")."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is not list:
        raise Rejected(f"bad_value: {what} is {kind(value)}, expected text (a string or a list of text parts)")
    parts = []
    for i, part in enumerate(value):
        if type(part) is dict:
            part = part.get("text")
            if part is None:
                continue
        if type(part) is not str:
            raise Rejected(f"bad_value: {what} part {i} is {kind(part)}, expected text")
        parts.append(part)
    return "".join(parts)


def _sha(value: Any, key: str) -> str:
    """An image_sha256 is a string; `bad_value` reject otherwise."""
    if type(value) is not str:
        raise Rejected(f"bad_value: {key} is {kind(value)}, expected a string")
    return value


def _name(value: Any, key: str) -> str:
    """A record id or image source as text: a string, or an integer's digits; `bad_value` reject for
    anything else (a float, a boolean, a list, an object)."""
    if type(value) is int:
        return str(value)
    if type(value) is not str:
        raise Rejected(f"bad_value: {key} is {kind(value)}, expected a string or an integer")
    return value


def _image_refs(value: Any) -> list[str]:
    """A path, a list of paths, or HF-style {"path": ...} structs -> list of path strings."""
    if type(value) is str:
        return [value] if value else []
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
            import yaml  # deferred, only for YAML mappings

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
