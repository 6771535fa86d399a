"""One name -> entry table for every registry (datasets, models, measures, experiments): registration
order is kept (it is the order of ``all`` and of the report), and an unknown name is one error that lists
the known ones."""
from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add (or replace) ``name``; returns the entry."""
        self._items[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._items)

    def find(self, name: str) -> T | None:
        return self._items.get(name)

    def values(self):
        return self._items.values()

    def get(self, name: str, error=ValueError) -> T:
        """The entry of ``name``, else ``error`` naming the kind and the known names."""
        if name not in self._items:
            raise error(f"{self.kind}: unknown name {name!r}; expected one of {', '.join(self._items)}")
        return self._items[name]
