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

The kernel is a shared library that registers two torch operators (``quantize``, ``quantize_drawing``)
and ``uniform`` under a namespace of its own (:func:`op_namespace`): a call from Python is one operator
dispatch, and the draws are made from the generator's engine under its lock (no state copied through
Python). Small inputs are dominated by such per-call costs (``benchmarks/rq_speed.py``).

Built once per machine with the system C++ compiler against the installed torch's headers and libraries
(``g++ -O3 -march=native -fopenmp``, about 20 s) into ``$RQBENCH_CACHE/kernels``
(``~/.cache/rqbench/kernels``), keyed by the source, the flags, torch's version, the compiler and the CPU;
``./setup.sh`` builds it at install (:func:`main`) and ``rqbench doctor`` builds it if it is missing. Where
no compiler is found or the build fails, :func:`kernel` returns ``None`` with the reason in
:func:`unavailable_reason` and callers use the other paths.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import itertools
import math
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
KERNEL_VERSION = 6
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
#: The dtypes the kernel quantizes.
DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float64)


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


def torch_flags() -> tuple[list[str], list[str]]:
    """The compile and the link flags for torch's headers and libraries (the kernel registers torch operators)."""
    root = Path(torch.__file__).parent
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    lib = root / "lib"
    return [f"-I{root / 'include'}", f"-D_GLIBCXX_USE_CXX11_ABI={abi}"], [
        f"-L{lib}",
        f"-Wl,-rpath,{lib}",
        "-ltorch_cpu",
        "-lc10",
    ]


def library_path(cxx: str) -> Path:
    """Where the kernel built by ``cxx`` for this CPU and torch lives (a new name when anything it depends on
    changes)."""
    version = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False).stdout
    compile_flags, link_flags = torch_flags()
    flags = " ".join([*FLAGS, *compile_flags, *link_flags, torch.__version__])
    key = hashlib.sha256()
    for part in (source_bytes(), flags.encode(), version.encode(), _cpu_identity().encode()):
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
        compile_flags, link_flags = torch_flags()
        namespace = f"-DRQ_OPS_NAMESPACE={op_namespace(target)}"
        command = [cxx, *FLAGS, *compile_flags, namespace, src, "-o", tmp, *link_flags]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{cxx} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, src):
            if os.path.exists(leftover):
                os.unlink(leftover)


def op_namespace(path: Path) -> str:
    """The namespace the kernel at ``path`` registers its torch operators under (``torch.ops.<namespace>``): one
    per library file, so two kernels loaded in one process (a test builds another) never register the same one."""
    return "rqbench_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]


class Kernel:
    """The loaded kernel: :meth:`quantize` and :meth:`quantize_drawing` on CPU tensors (float32, float64).

    Each is one torch operator (``torch.ops.<op_namespace(path)>``, ``.default`` overloads), so a call costs one
    dispatch.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        lib = ctypes.CDLL(str(path))  # loading registers the operators (the library's static initializers)
        found = lib.rq_kernel_version()
        if found != KERNEL_VERSION:  # calling another signature through these wrappers would fail
            raise RuntimeError(
                f"{path} is kernel version {found}, these wrappers call version {KERNEL_VERSION}; "
                "restart the process (its source changed since it started) or clear ~/.cache/rqbench/kernels"
            )
        if lib.rq_max_bins() != MAX_BINS:
            raise RuntimeError(f"{path} handles {lib.rq_max_bins()} bins, expected {MAX_BINS}")
        ops = getattr(torch.ops, op_namespace(path))
        # The overloads themselves: calling them skips the overload packet's Python __call__.
        self._quantize = ops.quantize.default
        self._quantize_drawing = ops.quantize_drawing.default
        self._uniform = ops.uniform.default
        #: Whether :meth:`uniform` reproduces ``torch.rand`` here (checked by :func:`draws_match_torch`).
        self.exact_draws = draws_match_torch(self)

    def uniform(
        self, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device, dtype: torch.dtype
    ) -> Tensor:
        """``torch.rand(shape, generator=generator, dtype=dtype)`` on the CPU, bit for bit, leaving the
        generator (``None``: torch's default CPU generator) in the state ``torch.rand`` would: the kernel's
        replica of torch's MT19937 (``rq_kernel.cpp``, namespace ``mt``) on the generator's engine, under its
        lock. Same signature as :func:`rqbench.augment.base.rand`; ``device`` must be the CPU."""
        if device.type != "cpu" or (generator is not None and generator.device.type != "cpu"):
            raise ValueError(f"the kernel's draws are made on the CPU, got device {device}, generator {generator}")
        out: Tensor = self._uniform(math.prod(shape), dtype, generator)
        return out.view(shape)

    def quantize(
        self,
        x: Tensor,
        shape4: tuple[int, int, int, int],
        bins: int,
        cuts: Tensor,
        frac: Tensor | None,
        rows: Tensor | None = None,
    ) -> tuple[Tensor, int]:
        """Quantize ``x`` seen as ``shape4`` = ``(S, A, C, B)`` with the quantizers drawn from ``cuts`` and ``frac``.

        Args:
            x: input (made contiguous).
            shape4: samples, axes before the channel axis, channels, axes after it.
            bins: number of bins ``n``.
            cuts: ``(R, C, n - 1)`` uniform draws (unsorted), or ``(n - 1,)`` shared sorted cut points.
            frac: ``(R, C, n)`` uniform draws for the values, or ``None`` for midpoints.
            rows: optional ``(S,)`` int64: sample ``s`` uses draw row ``rows[s]``; ``-1`` copies it.
                Without it, sample ``s`` uses row ``s``.

        Returns:
            The output (``x``'s shape) and how many ``(sample, channel)`` of ``x`` hold NaN or inf (every
            sample is checked; the output is meaningless unless that is 0).
        """
        out, bad = self._quantize(x, shape4, bins, cuts, frac, rows)
        return out, int(bad)

    def quantize_drawing(
        self,
        x: Tensor,
        shape4: tuple[int, int, int, int],
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
        ``random_values``. One operator call instead of three saves the per-call costs that dominate small
        inputs. Only where :attr:`exact_draws` holds (the caller checks)."""
        out, bad = self._quantize_drawing(x, shape4, bins, generator, drawn, shared_cuts, random_values, rows)
        return out, int(bad)


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


def kernel_for(x: Tensor, bins: int) -> Kernel | None:
    """The kernel if it can quantize ``x`` with ``bins`` bins (CPU, float32/float64, ``1 <= bins <= MAX_BINS``,
    not while ``torch.compile`` traces, and the kernel builds here), else ``None``."""
    if x.device.type != "cpu" or x.dtype not in DTYPES or not 1 <= bins <= MAX_BINS:
        return None
    if torch.compiler.is_compiling():
        return None
    return kernel()


def applies(x: Tensor, bins: int) -> bool:
    """Whether the kernel can quantize ``x`` with ``bins`` bins (see :func:`kernel_for`)."""
    return kernel_for(x, bins) is not None


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
    "PRUNE_AFTER_S",
    "SOURCE",
    "Kernel",
    "applies",
    "build",
    "compiler",
    "draws_match_torch",
    "kernel",
    "kernel_for",
    "library_path",
    "main",
    "op_namespace",
    "prune",
    "reset",
    "source_bytes",
    "torch_flags",
    "unavailable_reason",
]
