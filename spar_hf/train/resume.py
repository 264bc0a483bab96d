"""Loader position for restartable training: epoch, shards done, and the keys already used from open shards.

Granularity is the shard: a shard is *done* once every sample the index lists for it has been
handed to the training loop. Because sample shuffling mixes several open shards, the state also
keeps the keys already consumed from shards that are not done yet; on restore those shards are
read again and the listed keys dropped, so a restarted job neither repeats nor skips a sample.
That key list is bounded by the open shards (about shuffle buffer + workers x shard size), not by
the epoch. Without an index (a bare brace pattern) shard sizes are unknown, so every consumed key
stays listed until the epoch ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from spar_hf.shards.index import shard_id


@dataclass
class ResumeState:
    """Where the loop stands inside `epoch` (JSON-serialisable through to_dict / from_dict)."""

    epoch: int = 0
    done: set[str] = field(default_factory=set)
    seen: dict[str, set[str]] = field(default_factory=dict)

    def skips(self, url: str, key: str) -> bool:
        sid = shard_id(url)
        return sid in self.done or key in self.seen.get(sid, ())

    def consumed(self) -> int:
        return sum(len(v) for v in self.seen.values())

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "done": sorted(self.done), "seen": {k: sorted(v) for k, v in sorted(self.seen.items())}}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> "ResumeState":
        return cls(int(obj.get("epoch", 0)), set(obj.get("done", ())), {k: set(v) for k, v in obj.get("seen", {}).items()})

    def copy(self) -> "ResumeState":
        return ResumeState.from_dict(self.to_dict())


def merge_states(states: Iterable[ResumeState], counts: Mapping[str, int] | None = None) -> ResumeState:
    """Union of per-rank states (gather them with torch.distributed.all_gather_object) into the global one."""
    states = list(states)
    epochs = {s.epoch for s in states}
    if len(epochs) > 1:
        raise ValueError(f"cannot merge loader states from different epochs {sorted(epochs)}")
    merged = ResumeState(epochs.pop() if epochs else 0)
    for s in states:
        merged.done |= s.done
        for sid, keys in s.seen.items():
            merged.seen.setdefault(sid, set()).update(keys)
    for sid in list(merged.seen):
        if sid in merged.done or (counts and len(merged.seen[sid]) >= counts.get(sid, -1) > 0):
            merged.done.add(sid)
            del merged.seen[sid]
    return merged


class Tracker:
    """Observes what the training loop receives and keeps the ResumeState up to date."""

    def __init__(self, counts: Mapping[str, int] | None = None, state: ResumeState | None = None):
        self.counts = dict(counts or {})
        self.state = state.copy() if state else ResumeState()

    def observe(self, url: str, key: str) -> None:
        sid = shard_id(url)
        keys = self.state.seen.setdefault(sid, set())
        keys.add(key)
        if self.counts.get(sid, -1) == len(keys):
            self.state.done.add(sid)
            del self.state.seen[sid]

    def observe_batch(self, batch: Any) -> None:
        """A collated batch (lists under __url__ / __key__) or a single sample dict."""
        urls, keys = batch["__url__"], batch["__key__"]
        if isinstance(keys, str):
            urls, keys = [urls], [keys]
        for url, key in zip(urls, keys):
            self.observe(url, key)

    def end_epoch(self) -> None:
        self.state = ResumeState(self.state.epoch + 1)
