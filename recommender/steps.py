"""Named, timed steps for the evaluation and training commands: a spinner while each runs, a
log line and its seconds in the report afterwards, and bars that other threads can advance.

Rich allows one live display at a time, so a spinner (``console.status``) and a bar cannot
both run; inside ``Steps.display()`` every step is a task of one ``rich.progress.Progress``,
beside the bars (``Steps.bar``), which is how `dash train` shows LightFM's epochs while its
other steps run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

T = TypeVar("T")


class Steps:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.seconds: dict[str, float] = {}
        self._live: Progress | None = None

    @contextmanager
    def display(self) -> Iterator[Steps]:
        """Show the steps run inside, and any bars, in one live display."""
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console) as live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None

    def __call__(self, name: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        if self._live is None:
            with self.console.status(name):
                out = fn()
        else:
            task = self._live.add_task(name, total=None)
            try:
                out = fn()
            finally:
                self._live.remove_task(task)
        self.seconds[name] = round(time.perf_counter() - start, 1)
        self.console.log(f"{name}: {self.seconds[name]} s")
        return out

    def bar(self, name: str, total: int) -> Callable[[], None]:
        """A bar of ``total`` steps; the returned function advances it by one and may be
        called from any thread. Outside ``display()`` nothing is shown."""
        live = self._live
        if live is None:
            return lambda: None
        task = live.add_task(name, total=total)
        return lambda: live.advance(task)
