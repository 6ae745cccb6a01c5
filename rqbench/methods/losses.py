"""Pure loss functions of MoCo v3 and BYOL, with i-Mix's mixed virtual labels.

i-Mix (Lee et al., ICLR 2021; kibok90/imix): only the query is mixed,
``q_i = f(lam_i x_i + (1 - lam_i) x_partner(i))``; keys stay clean and the target
is the same mixture of the two keys' labels (MoCo) or cosine targets (BYOL).
With ``lam = 1`` both losses equal their plain versions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rqbench.augment.base import MixInfo
from rqbench.distributed import gather_keys


def _check_pair(a: Tensor, b: Tensor, names: tuple[str, str]) -> int:
    if a.ndim != 2 or b.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must be 2-D (N, D) of equal shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    return a.shape[0]


def _check_mix(mix: MixInfo, n: int) -> None:
    if mix.partner.shape[0] != n:
        raise ValueError(f"MixInfo has {mix.partner.shape[0]} entries for a batch of {n} queries")


def moco_contrastive_loss(q: Tensor, k: Tensor, temperature: float, mix: MixInfo | None = None) -> Tensor:
    """MoCo v3's InfoNCE with in-batch (all-gathered) keys, scaled by ``2 * temperature``.

    ``q`` and ``k`` (N, D) are L2-normalized; keys of every process are gathered
    (:func:`gather_keys`, treated as constants) so ``logits = q @ k_all.T / T`` and the
    positive of query ``i`` on rank ``r`` is key ``i + N r``. With ``mix`` (i-Mix) the
    per-query loss is ``lam_i CE(logits_i, i + N r) + (1 - lam_i) CE(logits_i, partner_i + N r)``,
    ``partner`` indexing this process' batch.
    """
    n = _check_pair(q, k, ("q", "k"))
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    q = F.normalize(q, dim=1)
    k = F.normalize(k.detach(), dim=1)
    k_all, rank = gather_keys(k)
    logits = q @ k_all.T / temperature
    offset = n * rank
    labels = torch.arange(n, device=q.device) + offset
    if mix is None:
        loss = F.cross_entropy(logits, labels)
    else:
        _check_mix(mix, n)
        mixed = mix.offset(offset)
        ce_own = F.cross_entropy(logits, labels, reduction="none")
        ce_partner = F.cross_entropy(logits, mixed.partner.to(logits.device), reduction="none")
        lam = mixed.weight.to(device=ce_own.device, dtype=ce_own.dtype)
        loss = (lam * ce_own + (1.0 - lam) * ce_partner).mean()
    return loss * (2.0 * temperature)


def byol_loss(p: Tensor, z: Tensor, mix: MixInfo | None = None) -> Tensor:
    """BYOL's regression loss ``mean_i(2 - 2 cos(p_i, z_i))``, ``z`` the (constant) target projection.

    With ``mix`` (i-Mix) the cosine target of query ``i`` is
    ``lam_i cos(p_i, z_i) + (1 - lam_i) cos(p_i, z_partner(i))``; partners are local
    (no gathering).
    """
    n = _check_pair(p, z, ("p", "z"))
    p = F.normalize(p, dim=1)
    z = F.normalize(z.detach(), dim=1)
    target = (p * z).sum(dim=1)
    if mix is not None:
        _check_mix(mix, n)
        lam = mix.weight.to(device=p.device, dtype=target.dtype)
        cross = (p * z[mix.partner.to(p.device)]).sum(dim=1)
        target = lam * target + (1.0 - lam) * cross
    return (2.0 - 2.0 * target).mean()


def mixed_infonce_loss(q: Tensor, k: Tensor, temperature: float, mix: MixInfo | None = None) -> Tensor:
    """DABS e-Mix's contrastive objective (Tamkin et al. 2021, ``src/systems/emix.py``).

    ``logits = normalize(q) @ normalize(k).T / T`` over the local batch, and per query
    ``lam_i CE(logits_i, i) + (1 - lam_i) CE(logits_i, partner_i)`` averaged (``lam = 1``
    without ``mix``: plain in-batch InfoNCE). Unlike :func:`moco_contrastive_loss`, ``k`` keeps
    its gradient (both branches are the same online network) and nothing is gathered or rescaled.
    """
    n = _check_pair(q, k, ("q", "k"))
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / temperature
    labels = torch.arange(n, device=q.device)
    if mix is None:
        return F.cross_entropy(logits, labels)
    _check_mix(mix, n)
    lam = mix.weight.to(device=logits.device, dtype=logits.dtype)
    ce_own = F.cross_entropy(logits, labels, reduction="none")
    ce_partner = F.cross_entropy(logits, mix.partner.to(logits.device), reduction="none")
    return (lam * ce_own + (1.0 - lam) * ce_partner).mean()
