"""Optimizers by name: SGD, AdamW, and LARS (as MoCo-v3 uses it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from rqbench.preset import Preset
from rqbench.registry import Registry


class LARS(torch.optim.Optimizer):
    """LARS (You et al. 2017) as in MoCo-v3: SGD with momentum and a layer-wise trust ratio.

    Parameters with one dimension (biases, norm weights) skip weight decay and the
    trust ratio, as MoCo-v3's ``exclude_bias_and_norm``. For the others:
    ``g <- g + wd * p``; ``g <- g * eta * ||p|| / ||g||`` (when both norms are > 0);
    ``mu <- momentum * mu + g``; ``p <- p - lr * mu``.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        lr: float = 0.0,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        trust_coefficient: float = 0.001,
    ) -> None:
        super().__init__(
            params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, trust_coefficient=trust_coefficient)
        )

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if p.ndim > 1:
                    g = g.add(p, alpha=group["weight_decay"])
                    p_norm, g_norm = torch.norm(p), torch.norm(g)
                    ratio = torch.where(
                        (p_norm > 0) & (g_norm > 0),
                        group["trust_coefficient"] * p_norm / g_norm,
                        torch.ones_like(p_norm),
                    )
                    g = g.mul(ratio)
                state = self.state[p]
                if "mu" not in state:
                    state["mu"] = torch.zeros_like(p)
                mu = state["mu"]
                mu.mul_(group["momentum"]).add_(g)
                p.add_(mu, alpha=-group["lr"])
        return loss


OPTIMIZERS: Registry[Callable[[list[nn.Parameter], Preset], torch.optim.Optimizer]] = Registry("optimizer")


@OPTIMIZERS.register("sgd")
def _sgd(params: list[nn.Parameter], preset: Preset) -> torch.optim.Optimizer:
    """SGD with momentum and weight decay."""
    return torch.optim.SGD(params, lr=0.0, momentum=preset.momentum, weight_decay=preset.weight_decay)


@OPTIMIZERS.register("adamw")
def _adamw(params: list[nn.Parameter], preset: Preset) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay)."""
    return torch.optim.AdamW(params, lr=0.0, weight_decay=preset.weight_decay)


@OPTIMIZERS.register("adam")
def _adam(params: list[nn.Parameter], preset: Preset) -> torch.optim.Optimizer:
    """Adam with L2 weight decay (BYOL-A)."""
    return torch.optim.Adam(params, lr=0.0, weight_decay=preset.weight_decay)


@OPTIMIZERS.register("lars")
def _lars(params: list[nn.Parameter], preset: Preset) -> torch.optim.Optimizer:
    """LARS (MoCo-v3's ResNet recipe)."""
    return LARS(params, lr=0.0, weight_decay=preset.weight_decay, momentum=preset.momentum)


def build_optimizer(model: nn.Module, preset: Preset) -> torch.optim.Optimizer:
    """The preset's optimizer over ``model``'s trainable parameters (lr is set per step)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    return OPTIMIZERS.get(preset.optimizer)(params, preset)
