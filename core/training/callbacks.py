"""The bridge from transformers' ``TrainerCallback`` to the one progress reporter.

Every trainer takes a :data:`~core.runtime.Reporter`; :func:`hf_callback` sends it a ``train`` record per
optimizer step (with the loss when one was logged). A reporter that raises
:class:`~core.runtime.Cancelled` (the job's does when the user pressed Cancel) ends training at that step.
"""

from __future__ import annotations

from typing import Any

from core.runtime import Reporter, report

__all__ = ["TRAIN_STAGE", "hf_callback", "step_message"]

TRAIN_STAGE = "train"


def step_message(step: int, total: int, loss: float | None) -> str:
    """``step 12/40 · loss 0.8123``."""
    return f"step {step}/{total}" + (f" · loss {loss:.4f}" if loss is not None else "")


def hf_callback(reporter: Reporter | None) -> Any:
    """A ``transformers.TrainerCallback`` that reports steps and losses to ``reporter``."""
    from transformers import TrainerCallback  # heavy: transformers imports torch

    class _Bridge(TrainerCallback):
        def __init__(self) -> None:
            self.last_loss: float | None = None

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            step, total = int(state.global_step), int(state.max_steps or 0)
            report(reporter, TRAIN_STAGE, step, total, step_message(step, total, None))
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            logs = logs or {}
            loss = logs.get("loss", logs.get("train_loss"))
            if loss is not None:
                self.last_loss = float(loss)
                step, total = int(state.global_step), int(state.max_steps or 0)
                report(
                    reporter,
                    TRAIN_STAGE,
                    step,
                    total,
                    step_message(step, total, self.last_loss),
                    loss=self.last_loss,
                )
            return control

    return _Bridge()
