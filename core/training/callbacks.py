"""Callbacks every trainer takes, and the bridge from transformers' ``TrainerCallback`` to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainCallbacks", "hf_callback"]


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


@dataclass
class TrainCallbacks:
    """``on_progress(step, total, loss)``, ``on_log(message)``, ``should_stop() -> bool``."""

    on_progress: Callable[[int, int, float | None], None] = _noop
    on_log: Callable[[str], None] = _noop
    should_stop: Callable[[], bool] = field(default=lambda: False)

    @classmethod
    def from_job(cls, ctx: Any) -> TrainCallbacks:
        """Callbacks that write to a :class:`core.jobs.JobContext`."""
        return cls(
            on_progress=lambda step, total, loss: ctx.progress(
                step,
                total,
                loss=loss,
                message=f"step {step}/{total}" + (f" · loss {loss:.4f}" if loss is not None else ""),
            ),
            on_log=ctx.log,
            should_stop=ctx.should_stop,
        )


def hf_callback(callbacks: TrainCallbacks) -> Any:
    """A ``transformers.TrainerCallback`` that reports steps and losses and stops training on request."""
    from transformers import TrainerCallback

    class _Bridge(TrainerCallback):
        def __init__(self) -> None:
            self.last_loss: float | None = None

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            callbacks.on_progress(int(state.global_step), int(state.max_steps or 0), None)
            if callbacks.should_stop():
                control.should_training_stop = True
                callbacks.on_log("stop requested: ending training after this step")
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            logs = logs or {}
            loss = logs.get("loss", logs.get("train_loss"))
            if loss is not None:
                self.last_loss = float(loss)
                callbacks.on_progress(int(state.global_step), int(state.max_steps or 0), float(loss))
            return control

    return _Bridge()
