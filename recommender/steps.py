"""Named, timed steps for the evaluation commands: a spinner while each runs, a log line and
its seconds in the report afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from rich.console import Console

T = TypeVar("T")


class Steps:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        with self.console.status(name):
            out = fn()
        self.seconds[name] = round(time.perf_counter() - start, 1)
        self.console.log(f"{name}: {self.seconds[name]} s")
        return out
