"""Launch a table's runs as jobs through submitit: on Slurm (one job array per table) or locally
(``--jobs N`` at once), or inline in this process (the default).

Each job runs one ``rqbench run`` command; a run with several processes per job runs under
``torchrun`` inside the job (``torchrun --nproc-per-node K``; on several nodes a c10d rendezvous at
the allocation's first node), so the same command works on a laptop, a workstation and a cluster.
submitit asks Slurm for a warning signal ``signal_delay_s`` before the time limit (``--signal=USR2@120``)
and then calls :meth:`RunJob.checkpoint`, which sends SIGUSR1 to the run: it checkpoints its current
step and stops, and submitit requeues the job, whose run resumes from that checkpoint.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import submitit

from rqbench.errors import InputError

LAUNCHERS = ("inline", "local", "slurm")


class LaunchError(ValueError, InputError):
    """A launcher or resource setting that cannot work (unknown launcher, bad resource)."""


@dataclass(frozen=True)
class Resources:
    """What each job gets (``--resources FILE`` in YAML, or flags).

    Args:
        partition, account, constraint: Slurm placement (``None``: the cluster's default).
        gpus_per_run: GPUs per run (0: CPU); the run uses as many processes (torchrun) as GPUs.
        processes: processes per run when there are no GPUs (CPU DDP on gloo; default 1).
        nodes: nodes per run.
        cpus: CPUs per task.
        time_min: time limit of a job in minutes.
        mem_gb: memory per node in GB (``None``: default).
        sbatch: extra ``#SBATCH`` lines as ``{"option": "value"}`` (e.g. ``{"qos": "high"}``).
    """

    partition: str | None = None
    account: str | None = None
    constraint: str | None = None
    gpus_per_run: int = 0
    processes: int = 1
    nodes: int = 1
    cpus: int = 2
    time_min: int = 60
    mem_gb: int | None = None
    sbatch: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("gpus_per_run", "processes", "nodes", "cpus", "time_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "gpus_per_run" else 1):
                raise LaunchError(
                    f"resource {name} = {value!r}: must be a whole number >= {0 if name == 'gpus_per_run' else 1}"
                )

    @property
    def procs_per_node(self) -> int:
        """Processes torchrun starts on each node."""
        return self.gpus_per_run or self.processes

    @classmethod
    def from_yaml(cls, path: Path) -> Resources:
        """Resources from a YAML mapping of the fields above."""
        import yaml

        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise LaunchError(f"--resources {path}: cannot read it ({' '.join(str(exc).split())})") from None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LaunchError(
                f"--resources {path}: unknown field(s) {', '.join(unknown)}; fields: {', '.join(sorted(known))}"
            )
        return cls(**data)


def run_command(
    modality: str,
    method: str,
    aug: str,
    preset: str,
    seed: int,
    pretrain: bool,
    overrides: Sequence[tuple[str, Any]],
    results: Path,
    resources: Resources,
) -> list[str]:
    """The command line of one run (``python -m rqbench run ...``, under torchrun for several processes)."""
    args = ["run", modality, "--preset", preset, "--seed", str(seed), "--results", str(results), "--no-progress"]
    args += ["--scratch"] if not pretrain else ["--method", method, "--aug", aug]
    for key, value in overrides:
        args += ["--set", f"{key}={value!r}"]
    if resources.procs_per_node == 1 and resources.nodes == 1:
        return [sys.executable, "-m", "rqbench", *args]
    torchrun = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={resources.procs_per_node}"]
    if resources.nodes == 1:
        torchrun.append("--standalone")
    else:  # every node's task starts torchrun; they meet at the first node of the allocation
        torchrun += [f"--nnodes={resources.nodes}", "--rdzv-backend=c10d", "--rdzv-endpoint=$MASTER_ADDR:29500"]
    return [*torchrun, "-m", "rqbench", *args]


class RunJob(submitit.helpers.Checkpointable):
    """The job's callable: run one command; on Slurm's warning signal, forward it (the run checkpoints
    and stops) and let submitit requeue the job with the same command."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def __call__(self, command: list[str]) -> int:
        if any("$MASTER_ADDR" in part for part in command):  # several nodes: meet at the allocation's first
            master = submitit.JobEnvironment().hostnames[0]
            command = [part.replace("$MASTER_ADDR", master) for part in command]
        self.process = subprocess.Popen(command)
        code = self.process.wait()
        if code not in (0, 3):
            raise RuntimeError(f"run command failed with status {code}: {' '.join(command)}")
        return code

    def checkpoint(self, command: list[str]) -> submitit.helpers.DelayedSubmission:
        """Called by submitit on SIGUSR1: stop the run at its next step (it writes its checkpoint), then requeue."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            self.process.wait()
        return submitit.helpers.DelayedSubmission(RunJob(), command)


def executor(launcher: str, folder: Path, resources: Resources, jobs: int) -> submitit.Executor:
    """The submitit executor of ``launcher`` (``local`` or ``slurm``) with ``resources``."""
    if launcher == "local":
        local = submitit.LocalExecutor(folder=str(folder))
        local.update_parameters(timeout_min=resources.time_min)
        return local
    if launcher != "slurm":
        raise LaunchError(f"unknown launcher {launcher!r}; launchers: {', '.join(LAUNCHERS)}")
    slurm = submitit.SlurmExecutor(folder=str(folder))
    params: dict[str, Any] = {
        "time": resources.time_min,
        "nodes": resources.nodes,
        "ntasks_per_node": 1,  # torchrun starts the processes of each node
        "cpus_per_task": resources.cpus,
        "array_parallelism": jobs,
        "signal_delay_s": 120,
        "additional_parameters": dict(resources.sbatch),
    }
    for name, value in (
        ("partition", resources.partition),
        ("account", resources.account),
        ("constraint", resources.constraint),
    ):
        if value is not None:
            params[name] = value
    if resources.gpus_per_run:
        params["gpus_per_node"] = resources.gpus_per_run
    if resources.mem_gb is not None:
        params["mem"] = f"{resources.mem_gb}G"
    slurm.update_parameters(**params)
    return slurm


def launch(
    commands: list[list[str]], launcher: str, folder: Path, resources: Resources, jobs: int = 1
) -> list[submitit.Job[int]]:
    """Submit ``commands`` as jobs. Slurm: one job array (at most ``jobs`` at once). Local: waves of
    ``jobs`` jobs, each wave waited for (this machine runs them)."""
    folder.mkdir(parents=True, exist_ok=True)
    ex = executor(launcher, folder, resources, jobs)
    if launcher == "slurm":
        return list(ex.map_array(RunJob(), commands))
    done: list[submitit.Job[int]] = []
    for start in range(0, len(commands), jobs):
        wave = [ex.submit(RunJob(), command) for command in commands[start : start + jobs]]
        for job in wave:
            job.result()
        done += wave
    return done


__all__ = ["LAUNCHERS", "LaunchError", "Resources", "RunJob", "executor", "launch", "run_command"]
