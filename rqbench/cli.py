"""The ``rqbench`` command line (typer + rich)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="rqbench",
    help="Benchmark Randomized Quantization and baseline augmentations for self-supervised learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()


@app.command("list")
def list_registered() -> None:
    """Show the registered augmentations, methods and modalities, one line each."""
    from rqbench.augment import AUGMENTATIONS
    from rqbench.methods import METHODS
    from rqbench.modality import MODALITIES

    for title, registry in (("augmentations", AUGMENTATIONS), ("methods", METHODS), ("modalities", MODALITIES)):
        table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
        table.add_column("name", style="cyan", no_wrap=True)
        if registry is AUGMENTATIONS:
            table.add_column("stage")
            table.add_column("modality")
        table.add_column("summary")
        entries = registry.entries()
        for e in entries:
            extra = [e.obj.stage.name.lower(), e.obj.modality or "any"] if registry is AUGMENTATIONS else []
            table.add_row(e.name, *extra, e.summary)
        if not entries:
            table.add_row(*(["(none registered yet)"] + [""] * (len(table.columns) - 1)))
        console.print(table)


@app.command()
def demo(
    spec: str = typer.Option("rq(bins=8)", "--aug", help="Augmentation spec to apply, e.g. 'rq(bins=5)' or 'dacl'."),
    batch: int = typer.Option(256, help="Batch size of the demo batch."),
    size: int = typer.Option(32, help="Image side of the demo batch (B, 3, size, size)."),
    seed: int = typer.Option(0, help="Seed of the demo batch and of the augmentation draws."),
) -> None:
    """Apply an augmentation spec to a batch of smooth random RGB images and report what it did."""
    import torch

    from rqbench.augment import SpecError, build_pipeline

    gen = torch.Generator().manual_seed(seed)
    try:
        pipeline = build_pipeline(spec, generator=gen)
    except SpecError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    # Smooth images: low-resolution noise upsampled, so channels have structure to quantize.
    low = torch.rand(batch, 3, 4, 4, generator=gen)
    x = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    start = time.perf_counter()
    y, info = pipeline.mix(pipeline(x))
    elapsed = time.perf_counter() - start
    flat_in, flat_out = x.flatten(2), y.flatten(2)
    distinct = max(len(torch.unique(flat_out[i, c])) for i in range(min(batch, 16)) for c in range(3))
    table = Table(title=f"{pipeline.spec} on {tuple(x.shape)} float32", title_justify="left")
    for col in ("max distinct values per channel", "inside [min, max]", "mean |x' - x|", "time"):
        table.add_column(col)
    inside = bool(((flat_out >= flat_in.amin(-1, keepdim=True) - 1e-6) & (flat_out <= flat_in.amax(-1, keepdim=True) + 1e-6)).all())
    table.add_row(
        f"{distinct} (of {size * size} pixels)",
        str(inside),
        f"{(y - x).abs().mean().item():.4f}",
        f"{elapsed * 1e3:.1f} ms",
    )
    console.print(table)
    if info is not None:
        console.print(f"mixing: partner of sample 0 is {int(info.partner[0])}, weight {float(info.weight[0]):.3f}")


def main() -> None:
    """Entry point of the ``rqbench`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
