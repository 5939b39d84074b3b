"""Progress bars for the long stages, drawn on stderr with rich; silent when asked or when
stderr is not a terminal (logs and CI get the one-line stage messages instead).

A :class:`ProgressBars` shows one bar per stage. Inside ``bars.stage(label)``:

- every computation on dask's local scheduler advances the bar task by task (a dask
  ``Callback`` counts the tasks of each graph as it starts and each task as it finishes);
- on a distributed cluster the local callbacks never fire, so the block writer of
  :func:`geotool.io.outputs.write_cogs` reports each output block it receives through
  :func:`block_reporter` instead.

Examples
--------
>>> bars = ProgressBars(enabled=False)
>>> with bars, bars.stage("scoring"):
...     tick = block_reporter(4)
...     for _ in range(4):
...         tick()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dask.callbacks import Callback

_ACTIVE: ContextVar[tuple[Any, Any] | None] = ContextVar("geotool_progress", default=None)


class _TaskCounter(Callback):
    """Advances a rich task by the tasks of every dask graph run on the local scheduler."""

    def __init__(self, progress: Any, task: Any) -> None:
        super().__init__()
        self.progress, self.task = progress, task
        self.total = 0

    def _start_state(self, dsk: Any, state: dict[str, Any]) -> None:
        self.total += sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self.progress.update(self.task, total=self.total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.progress.advance(self.task, 1)


class ProgressBars:
    """One rich progress bar per pipeline stage (see the module docstring).

    Parameters
    ----------
    enabled
        False (``--quiet``) draws nothing; True draws when the console is a terminal.
    console
        A ``rich.console.Console`` to draw on (default: stderr).
    """

    def __init__(self, *, enabled: bool = True, console: Any = None) -> None:
        self._progress: Any = None
        if enabled:
            from rich.console import Console

            console = console if console is not None else Console(stderr=True)
            if console.is_terminal:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self._progress = Progress(
                    TextColumn("[bold]{task.description:<28}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=console,
                )

    @property
    def active(self) -> bool:
        return self._progress is not None

    def __enter__(self) -> ProgressBars:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def messages(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """``say`` for stage messages, printed above the bars while they are drawn."""
        if self._progress is None:
            return say
        console = self._progress.console

        def above(message: str) -> None:
            console.print(f"geotool: {message}", markup=False, highlight=False)

        return above

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """Show a bar for ``label`` while the block runs."""
        if self._progress is None:
            yield
            return
        task = self._progress.add_task(label, total=None)
        token = _ACTIVE.set((self._progress, task))
        try:
            with _TaskCounter(self._progress, task):
                yield
        finally:
            _ACTIVE.reset(token)
            done = next((t for t in self._progress.tasks if t.id == task), None)
            if done is not None and done.total:
                self._progress.update(task, completed=done.total)
            self._progress.stop_task(task)


def block_reporter(total: int) -> Callable[[], None]:
    """A callable to call once per finished output block (a no-op without an active bar).

    Used where tasks run on a distributed cluster: the bar of the current stage then counts
    blocks instead of local tasks.
    """
    active = _ACTIVE.get()
    if active is None:
        return lambda: None
    progress, task = active
    progress.update(task, total=total, completed=0)

    def tick() -> None:
        progress.advance(task, 1)

    return tick
