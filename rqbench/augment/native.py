"""The CPU fused path of randomized quantization: a small C++/OpenMP kernel (``rq_kernel.cpp``).

One call over a contiguous ``(S, A, C, B)`` input (samples, axes before the channel axis,
channels, axes after it) does, per sample while it is in cache, the per-channel minimum and
maximum, each quantizer's sorted edges and values from the same uniform draws the eager path
makes (drawn first, in the eager order, inside the same call by :meth:`Kernel.quantize_drawing`
with the kernel's replica of torch's CPU generator, which gives ``torch.rand``'s numbers and
generator state bit for bit and is checked against ``torch.rand`` when the kernel loads,
:func:`draws_match_torch`; ``torch.rand`` itself, then :meth:`Kernel.quantize`, where the check
fails or the generator is not a CPU one), and the lookup ``v_k, k = #{j : a_j <= x}``
(Wu et al. 2023, Sec. 3.1, eqs. (1)-(4); the reference computes the same map as an n-fold
membership mask, microsoft/random_quantize ``randomized_quantization.py``
``RandomizedQuantizationAugModule.forward``). The kernel is compiled without floating-point
contraction or fast-math, so its edges ``lo + u (hi - lo)`` and values ``l + r' (r - l)`` round as
torch's separate multiply and add do: the output is the eager path's bit for bit (float32, float64).

Memory: the output plus the draws, O(samples x channels x bins).

Built once per machine with the system C++ compiler (``g++ -O3 -march=native -fopenmp``, a few
seconds) into ``$RQBENCH_CACHE/kernels`` (``~/.cache/rqbench/kernels``), keyed by the source, the
flags, the compiler and the CPU; ``./setup.sh`` builds it at install (:func:`main`) and ``rqbench
doctor`` builds it if it is missing. Where no compiler is found or the build fails, :func:`kernel` returns
``None`` with the reason in :func:`unavailable_reason` and callers use the other paths.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import itertools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor

from rqbench.cache import cache_root

SOURCE = Path(__file__).with_name("rq_kernel.cpp")
#: The kernel's source as this module was imported with: a process builds and loads the kernel that
#: matches its own wrappers even if the file changes on disk while it runs (a checkout updated under a
#: running bench once loaded a kernel of a newer call signature through the old wrappers and crashed).
_SOURCE_AT_IMPORT: tuple[Path, bytes] = (SOURCE, SOURCE.read_bytes())
#: What ``rq_kernel_version()`` of a kernel these wrappers can call returns (bumped with its C signature).
KERNEL_VERSION = 5
#: No -ffast-math and no FMA contraction: the kernel must round exactly as torch's eager ops do.
FLAGS: tuple[str, ...] = (
    "-O3",
    "-march=native",
    "-fopenmp",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-std=c++17",
    "-shared",
    "-fPIC",
)
#: Most bins the kernel handles (its per-quantizer tables are fixed arrays); more bins use eager.
MAX_BINS = 64
DTYPES: dict[torch.dtype, str] = {torch.float32: "f32", torch.float64: "f64"}
#: Bytes of a CPU generator's state the kernel's draws read and write (``rq_kernel.cpp``, ``mt``): the
#: 624 state words as uint64 from byte 24.
MT_STATE_BYTES = 24 + 624 * 8

_i64 = ctypes.c_int64
_int = ctypes.c_int
_ptr = ctypes.c_void_p


def compiler() -> str | None:
    """The C++ compiler to build with: ``$CXX``, else ``g++``/``c++``/``clang++`` on ``PATH``."""
    for name in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name and shutil.which(name):
            return name
    return None


def _cpu_identity() -> str:
    """What ``-march=native`` depends on: the CPU's model and feature flags."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    lines = [line for line in info.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(lines)))


def source_bytes() -> bytes:
    """The kernel source to build: as it was when this module was imported (``SOURCE`` re-read if it was
    pointed elsewhere since, as the tests do)."""
    path, text = _SOURCE_AT_IMPORT
    return text if SOURCE == path else SOURCE.read_bytes()


def library_path(cxx: str) -> Path:
    """Where the kernel built by ``cxx`` for this CPU lives (a new name when anything it depends on changes)."""
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False).stdout
    key = hashlib.sha256()
    for part in (source_bytes(), " ".join(FLAGS).encode(), version.encode(), _cpu_identity().encode()):
        key.update(part)
        key.update(b"\0")
    return cache_root() / "kernels" / f"rq_kernel-{key.hexdigest()[:16]}.so"


def build(cxx: str, target: Path) -> None:
    """Compile :func:`source_bytes` to ``target`` (written atomically: concurrent builds never see half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.stem + "-", suffix=".so.tmp", dir=target.parent)
    os.close(fd)
    src_fd, src = tempfile.mkstemp(prefix=target.stem + "-", suffix=".cpp", dir=target.parent)
    with os.fdopen(src_fd, "wb") as handle:
        handle.write(source_bytes())
    try:
        result = subprocess.run([cxx, *FLAGS, src, "-o", tmp], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{cxx} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, src):
            if os.path.exists(leftover):
                os.unlink(leftover)


class Kernel:
    """The loaded kernel: :meth:`quantize` on contiguous CPU tensors (float32, float64)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        found = self.lib.rq_kernel_version()
        if found != KERNEL_VERSION:  # calling another signature through these wrappers would crash
            raise RuntimeError(
                f"{path} is kernel version {found}, these wrappers call version {KERNEL_VERSION}; "
                "restart the process (its source changed since it started) or clear ~/.cache/rqbench/kernels"
            )
        for suffix in DTYPES.values():
            fn = getattr(self.lib, f"rq_quantize_{suffix}")
            fn.restype = _i64
            fn.argtypes = [
                _ptr,
                _ptr,
                _i64,
                _i64,
                _i64,
                _i64,
                _int,
                _ptr,
                _int,
                _ptr,
                _ptr,
                _int,
                _ptr,
                _ptr,
                _i64,
                _int,
            ]
            draw = getattr(self.lib, f"rq_uniform_{suffix}")
            draw.restype = None
            draw.argtypes = [_ptr, _ptr, _i64]
        if self.lib.rq_max_bins() != MAX_BINS:
            raise RuntimeError(f"{path} handles {self.lib.rq_max_bins()} bins, expected {MAX_BINS}")
        #: Whether :meth:`uniform` reproduces ``torch.rand`` here (checked by :func:`draws_match_torch`).
        self.exact_draws = draws_match_torch(self)

    def uniform(
        self, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
    ) -> Tensor:
        """``torch.rand(shape, generator=generator, dtype=dtype)`` on the CPU, bit for bit, leaving the
        generator (``None``: torch's default CPU generator) in the state ``torch.rand`` would, about
        ten times faster: the kernel's replica of torch's MT19937 (``rq_kernel.cpp``, namespace ``mt``)
        runs on a copy of the generator's state, which is then set back (not atomic: another thread
        drawing from the same generator meanwhile would be overwritten; RQ draws from one thread). Same
        signature as :func:`rqbench.augment.base.rand`; ``device`` must be the CPU."""
        if device.type != "cpu":
            raise ValueError(f"the kernel's draws are made on the CPU, got device {device}")
        gen, state = _generator_state(generator)
        out = torch.empty(shape, dtype=dtype)
        getattr(self.lib, f"rq_uniform_{DTYPES[dtype]}")(state.data_ptr(), out.data_ptr(), out.numel())
        gen.set_state(state)
        return out

    def quantize(
        self, x: Tensor, bins: int, cuts: Tensor, frac: Tensor | None, rows: Tensor | None = None
    ) -> tuple[Tensor, int]:
        """Quantize ``x`` ``(S, A, C, B)`` with the quantizers drawn from ``cuts`` and ``frac``.

        Args:
            x: contiguous input.
            bins: number of bins ``n``.
            cuts: ``(R, C, n - 1)`` uniform draws (unsorted), or ``(n - 1,)`` shared sorted cut points.
            frac: ``(R, C, n)`` uniform draws for the values, or ``None`` for midpoints.
            rows: optional ``(S,)`` int64: sample ``s`` uses draw row ``rows[s]``; ``-1`` copies it.
                Without it, sample ``s`` uses row ``s``.

        Returns:
            The output and how many ``(sample, channel)`` of ``x`` hold NaN or inf (every sample is
            checked; the output is meaningless unless that is 0).
        """
        return self._run(x, bins, cuts, cuts.ndim == 1, frac, rows, None, None, 0, False)

    def quantize_drawing(
        self,
        x: Tensor,
        bins: int,
        generator: torch.Generator | None,
        drawn: int,
        *,
        shared_cuts: Tensor | None,
        random_values: bool,
        rows: Tensor | None = None,
    ) -> tuple[Tensor, int]:
        """:meth:`quantize` with the draws made inside the same call from ``generator`` (``None``: torch's
        default CPU generator), exactly as :func:`~rqbench.augment.functional.draw_fractions` with
        ``uniform=self.uniform`` would make them: ``(drawn, C, n - 1)`` cuts unless ``shared_cuts`` (the
        ``(n - 1,)`` sorted points of uniform spacing) is given, then ``(drawn, C, n)`` value draws if
        ``random_values``. One call instead of three saves the per-call costs that dominate small
        inputs. Only where :attr:`exact_draws` holds (the caller checks)."""
        gen, state = _generator_state(generator)
        c = x.shape[2]
        count = (0 if shared_cuts is not None else drawn * c * (bins - 1)) + (drawn * c * bins if random_values else 0)
        draws = torch.empty(count, dtype=x.dtype)
        cuts = shared_cuts if shared_cuts is not None else draws
        result = self._run(x, bins, cuts, shared_cuts is not None, None, rows, state, draws, drawn, random_values)
        gen.set_state(state)
        return result

    def _run(
        self,
        x: Tensor,
        bins: int,
        cuts: Tensor,
        cuts_shared: bool,
        frac: Tensor | None,
        rows: Tensor | None,
        state: Tensor | None,
        draws: Tensor | None,
        drawn: int,
        draw_frac: bool,
    ) -> tuple[Tensor, int]:
        """One call of ``rq_quantize_*`` (draws first when ``state`` is given)."""
        s, a, c, b = x.shape
        out = torch.empty_like(x)
        fn = getattr(self.lib, f"rq_quantize_{DTYPES[x.dtype]}")
        bad = fn(
            x.data_ptr(),
            out.data_ptr(),
            s,
            a,
            c,
            b,
            bins,
            cuts.data_ptr(),
            int(cuts_shared),
            None if frac is None else frac.data_ptr(),
            None if rows is None else rows.data_ptr(),
            torch.get_num_threads(),
            None if state is None else state.data_ptr(),
            None if draws is None else draws.data_ptr(),
            drawn,
            int(draw_frac),
        )
        return out, int(bad)


def _generator_state(generator: torch.Generator | None) -> tuple[torch.Generator, Tensor]:
    """The CPU generator to draw from (``None``: torch's default one) and a copy of its state, checked to be
    as long as the kernel's replica reads."""
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"the kernel's draws are made on the CPU, got a generator on {generator.device}")
    gen = generator if generator is not None else torch.default_generator
    state = gen.get_state()
    if state.dtype != torch.uint8 or state.numel() < MT_STATE_BYTES:  # the kernel reads this many bytes
        raise ValueError(f"unexpected CPU generator state ({state.numel()} bytes of {state.dtype})")
    return gen, state


def draws_match_torch(kern: Kernel) -> bool:
    """Whether the kernel's draws are ``torch.rand``'s here: both dtypes, counts around the generator's
    624-word twists, after a normal draw, and the generator's state afterwards. A torch whose
    generator differs (its state layout or its float mapping) fails this and keeps ``torch.rand``."""
    cpu = torch.device("cpu")
    ours, theirs = torch.Generator().manual_seed(20231), torch.Generator().manual_seed(20231)
    try:
        for count, dtype in itertools.product((1, 623, 624, 625, 1249, 3000), DTYPES):
            if count == 625:
                torch.randn(3, generator=ours), torch.randn(3, generator=theirs)
            mine = kern.uniform((count,), ours, cpu, dtype)
            if not torch.equal(mine, torch.rand(count, generator=theirs, dtype=dtype)):
                return False
            if not torch.equal(ours.get_state(), theirs.get_state()):
                return False
    except (RuntimeError, ValueError):
        return False
    return True


#: Kernels in the cache not loaded for this long are removed when a new one is built (a build per source
#: version, compiler and CPU would otherwise pile up there).
PRUNE_AFTER_S = 30 * 24 * 3600.0


def prune(keep: Path, older_than_s: float = PRUNE_AFTER_S) -> list[Path]:
    """Remove the other kernels in ``keep``'s folder last loaded more than ``older_than_s`` ago; return them.

    Loading touches a kernel's modification time, so a kernel that any checkout still uses stays; one
    removed by mistake is rebuilt on its next load (seconds). Errors (a file gone meanwhile) are ignored.
    """
    removed = []
    cutoff = time.time() - older_than_s
    for old in keep.parent.glob("rq_kernel-*.so"):
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
                removed.append(old)
        except OSError:
            continue
    return removed


@functools.cache
def _load() -> Kernel | str:
    """The kernel, built if needed, or why it cannot be had here (cached for the process)."""
    cxx = compiler()
    if cxx is None:
        return "no C++ compiler on PATH (set CXX or install g++)"
    try:
        path = library_path(cxx)
        if not path.exists():
            build(cxx, path)
            prune(path)
        with contextlib.suppress(OSError):  # a read-only cache still loads
            os.utime(path)  # in use: pruning goes by the last load
        return Kernel(path)
    except (OSError, RuntimeError, AttributeError) as err:
        return f"building or loading the C++ kernel failed: {err}"


def kernel() -> Kernel | None:
    """The loaded kernel, or ``None`` where it cannot be built or loaded (see :func:`unavailable_reason`)."""
    loaded = _load()
    return loaded if isinstance(loaded, Kernel) else None


def unavailable_reason() -> str | None:
    """Why the kernel is unavailable here, or ``None`` if it is loaded."""
    loaded = _load()
    return None if isinstance(loaded, Kernel) else loaded


def applies(x: Tensor, bins: int) -> bool:
    """Whether the kernel can quantize ``x`` with ``bins`` bins: CPU, float32/float64, ``1 <= bins <= MAX_BINS``,
    not while ``torch.compile`` traces, and the kernel builds here."""
    return (
        x.device.type == "cpu"
        and x.dtype in DTYPES
        and 1 <= bins <= MAX_BINS
        and not torch.compiler.is_compiling()
        and kernel() is not None
    )


def reset() -> None:
    """Forget the loaded kernel (tests)."""
    _load.cache_clear()


def main() -> int:
    """Build the kernel now (``./setup.sh`` runs this); print where it is or why it is unavailable."""
    found = kernel()
    if found is None:
        print(f"rqbench: RQ's C++ kernel unavailable, the eager path is used: {unavailable_reason()}", file=sys.stderr)
        return 0
    print(f"rqbench: RQ's C++ kernel ready: {found.path}")
    return 0


__all__ = [
    "DTYPES",
    "FLAGS",
    "KERNEL_VERSION",
    "MAX_BINS",
    "MT_STATE_BYTES",
    "PRUNE_AFTER_S",
    "SOURCE",
    "Kernel",
    "applies",
    "build",
    "compiler",
    "draws_match_torch",
    "kernel",
    "library_path",
    "main",
    "prune",
    "reset",
    "source_bytes",
    "unavailable_reason",
]
