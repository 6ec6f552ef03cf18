"""Objects a remote fetched by id lately, so that a commit retried on a new tip fetches only what changed."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from dulwich.objects import ObjectID, ShaFile


class RecentObjects:
    """Git objects by id, kept up to `max_bytes` of raw content, the least recently used dropped first.

    Objects are immutable and named by their content, so any of them is valid in any snapshot that names it.
    Callers must not modify what `get` returns: snapshots' stores keep the same objects. Thread-safe.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        self._max_bytes = max_bytes
        self._objects: OrderedDict[ObjectID, ShaFile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, object_id: ObjectID) -> ShaFile | None:
        with self._lock:
            found = self._objects.get(object_id)
            if found is not None:
                self._objects.move_to_end(object_id)
            return found

    def add(self, objects: Iterable[ShaFile]) -> None:
        with self._lock:
            for obj in objects:
                if obj.id in self._objects:
                    self._objects.move_to_end(obj.id)
                    continue
                self._objects[obj.id] = obj
                self._bytes += obj.raw_length()
            while self._bytes > self._max_bytes:
                _object_id, dropped = self._objects.popitem(last=False)
                self._bytes -= dropped.raw_length()
