"""The README's two commands are what CI and a new user run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README must start with a bash block of commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_exactly_two_commands_first() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].startswith("./setup.sh") and commands[1].startswith("./setup.sh")


def test_ci_runs_the_readme_test_command() -> None:
    assert readme_commands()[1] in (ROOT / ".ci" / "run").read_text()


def test_readme_plugin_is_the_example_file() -> None:
    """The README's one-file augmentation is ``examples/my_aug.py`` byte for byte: its source hash is part of
    the keys of the committed ``compare`` runs, so a user who copies either reuses them."""
    block = re.search(r"```python\n(# my_aug\.py\n.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README must show the one-file augmentation starting with '# my_aug.py'"
    assert block.group(1) == (ROOT / "examples" / "my_aug.py").read_text()
