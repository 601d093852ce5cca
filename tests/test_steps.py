"""The commands' live display: timed steps and bars advanced from other threads."""

from __future__ import annotations


def test_steps_show_a_bar_that_another_thread_advances_beside_the_steps():
    """`dash train`'s display: LightFM's epochs as a bar, advanced from its thread, while the
    steps of this thread run as spinner tasks of the same live display (rich allows one)."""
    import io
    import threading

    from rich.console import Console

    from recommender.steps import Steps

    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    steps = Steps(console)
    with steps.display():
        tick = steps.bar("LightFM epochs", 5)
        worker = threading.Thread(target=lambda: [tick() for _ in range(5)])
        worker.start()
        assert steps("frames", lambda: 41) + 1 == 42
        worker.join()
    text = console.export_text()
    assert "LightFM epochs" in text and "5/5" in text and "frames:" in text
    assert set(steps.seconds) == {"frames"}
    quiet = Steps(Console(file=io.StringIO(), quiet=True))
    quiet.bar("nothing shown", 3)()  # outside a display: a no-op
    assert quiet("alone", lambda: 7) == 7
