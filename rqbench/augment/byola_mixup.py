"""BYOL-A's log-mel Mixup with its FIFO memory of past inputs (Niizumi et al. 2021).

For each input ``x`` (a log-mel spectrogram), ``a = ratio * U(0, 1)`` and ``z`` is drawn
uniformly from a FIFO memory of the last ``n_memory`` inputs seen before it; then
``x' = log((1 - a) exp(x) + a exp(z) + eps)`` with ``eps`` the dtype's machine epsilon.
With an empty memory the input passes through. The memory is then appended with ``x``.

Batches are processed with exactly the per-sample sequential semantics of the
reference: sample ``i`` of a batch may draw any of the ``n_memory`` inputs that
precede it, including earlier samples of the same batch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rqbench.augment.base import Augmentation, Stage, check_batch, check_float_tensor, check_probability, rand
from rqbench.augment.registry import register_augmentation


@register_augmentation("byola-mixup")
class BYOLAMixup(Augmentation):
    """BYOL-A log-mel mixup: log((1-a) e^x + a e^z + eps), a = ratio U(0,1), z from a FIFO of past inputs.

    Args:
        ratio: maximum mixing ratio (0.4 in BYOL-A), in [0, 1].
        n_memory: FIFO size (2048 in BYOL-A).
        log_mixup_exp: mix in linear power (BYOL-A default); ``False`` mixes log-mels linearly.
        generator: optional ``torch.Generator``.

    The memory is module state: it is saved by ``state_dict()`` and restored by
    ``load_state_dict()`` (through ``get_extra_state``), so a resumed run continues with it.
    """

    stage = Stage.CHANNEL

    def __init__(
        self,
        ratio: float = 0.4,
        n_memory: int = 2048,
        log_mixup_exp: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.ratio = check_probability(ratio, "byola-mixup ratio")
        if isinstance(n_memory, bool) or not isinstance(n_memory, int) or n_memory < 1:
            raise ValueError(f"byola-mixup n_memory must be an int >= 1, got {n_memory!r}")
        self.n_memory = n_memory
        self.log_mixup_exp = bool(log_mixup_exp)
        self.generator = generator
        self.memory: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Mix each sample of the batch ``x`` (B, ...) with a remembered input, then remember ``x``."""
        n = check_batch(check_float_tensor(x, "byola-mixup input"))
        if self.memory is not None and self.memory.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"byola-mixup input samples have shape {tuple(x.shape[1:])} but the memory holds "
                f"{tuple(self.memory.shape[1:])}; every input must have the same sample shape"
            )
        past = 0 if self.memory is None else self.memory.shape[0]
        pool = x.detach() if self.memory is None else torch.cat([self.memory.to(x), x.detach()])
        position = past + torch.arange(n, device=x.device)  # index of sample i in pool
        available = position.clamp(max=self.n_memory)  # inputs sample i may draw from
        start = position - available
        u = rand((n,), self.generator, x.device)
        pick = start + torch.minimum((u * available).long(), (available - 1).clamp(min=0))
        a = (self.ratio * rand((n,), self.generator, x.device)).to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        z = pool[pick]
        if self.log_mixup_exp:
            mixed = torch.log((1 - a) * x.exp() + a * z.exp() + torch.finfo(x.dtype).eps)
        else:
            mixed = (1 - a) * x + a * z
        has_partner = (available > 0).view(-1, *([1] * (x.ndim - 1)))
        self.memory = pool[-self.n_memory :].clone()
        return torch.where(has_partner, mixed, x)

    def get_extra_state(self) -> Any:
        return {"memory": self.memory}

    def set_extra_state(self, state: Any) -> None:
        self.memory = state["memory"]

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}, n_memory={self.n_memory}, log_mixup_exp={self.log_mixup_exp}"
