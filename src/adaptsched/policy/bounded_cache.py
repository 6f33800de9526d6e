"""A least-recently-used cache bounded by the bytes of what it holds, not by a count.

The speedup caches hold arrays whose size grows with the cluster (a table per job model, a
candidate grid per throughput fit): a count that is harmless at 64 GPUs can hold gigabytes
at 4096. Bounding the bytes keeps memory flat whatever the scale; the oldest entries go
first.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def nbytes(value: object) -> int:
    """Bytes of the numpy arrays in ``value`` (an array, or a dataclass of arrays and such
    dataclasses); other fields count nothing."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 0


class BytesLRU:
    """Mapping from keys to values, evicting the least recently used beyond ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes: must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The cached value for ``key``, or ``make()``'s, kept while it fits."""
        found = self.lookup(key)
        if found is not None:
            return found
        value = make()
        self.put(key, value)
        return value

    def lookup(self, key: Hashable) -> Any | None:
        """The cached value for ``key`` (now the most recent), or None (a miss)."""
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return found[0]

    def put(self, key: Hashable, value: object) -> None:
        """Keep ``value`` under ``key`` unless it alone exceeds the budget; older entries go
        until the rest fits."""
        size = nbytes(value)
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._items[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, (_, freed) = self._items.popitem(last=False)
            self.bytes -= freed

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


def bytes_lru(max_bytes: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: memoise a function of hashable positional arguments in a ``BytesLRU``
    (exposed as the wrapper's ``cache``)."""

    def wrap(func: Callable[..., T]) -> Callable[..., T]:
        cache = BytesLRU(max_bytes)

        @functools.wraps(func)
        def cached(*args: Hashable) -> T:
            return cache.get(args, lambda: func(*args))

        cached.cache = cache  # type: ignore[attr-defined]
        return cached

    return wrap
