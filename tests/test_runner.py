"""Pure helpers of the runner: splitting a table's runs between processes."""

from __future__ import annotations

import pytest

from rqbench.runner import parse_shard, shard


def test_shards_partition_the_list() -> None:
    items = list(range(7))
    parts = [shard(items, i, 3) for i in range(3)]
    assert parts == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(x for p in parts for x in p) == items
    assert shard(items, 0, 1) == items


@pytest.mark.parametrize("text", ["1", "a/2", "2/2", "-1/2", "0/0", "1/2/3"])
def test_bad_shard_names_the_problem(text: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        parse_shard(text)


def test_parse_shard() -> None:
    assert parse_shard("1/4") == (1, 4)
