"""The elastic sampler: deterministic order, and resumption at any replica count without a
sample skipped or repeated."""

from __future__ import annotations

import pytest

from adaptsched.train import ElasticSampler


def _run(sampler: ElasticSampler, replicas: int, local_bsz: int, steps: int | None) -> list[int]:
    """Drive every replica's copy of the sampler (they advance identically) and collect the
    real samples; stop after ``steps`` global micro-batches or at the epoch end."""
    seen: list[int] = []
    done = 0
    while sampler.remaining > 0 and (steps is None or done < steps):
        position = sampler.position
        for rank in range(replicas):
            sampler.position = position
            shard = sampler.next_shard(rank, replicas, local_bsz)
            assert shard.indices, "every replica gets at least one index"
            seen.extend(shard.indices[: shard.real])
        done += 1
    return seen


@pytest.mark.parametrize(("first", "second"), [(2, 3), (2, 1), (3, 2), (4, 7)])
@pytest.mark.parametrize("length", [100, 101, 7])
def test_resume_at_another_size_sees_each_sample_once(first: int, second: int, length: int) -> None:
    sampler = ElasticSampler(length, seed=3)
    sampler.set_epoch(5)
    seen = _run(sampler, first, 4, steps=3)
    restored = ElasticSampler(length)
    restored.load_state_dict(sampler.state_dict())
    seen += _run(restored, second, 5, steps=None)
    assert sorted(seen) == list(range(length))


def test_order_depends_on_seed_and_epoch_only() -> None:
    a, b = ElasticSampler(50, seed=1), ElasticSampler(50, seed=1)
    a.set_epoch(2)
    b.set_epoch(2)
    assert a.permutation().tolist() == b.permutation().tolist()
    b.set_epoch(3)
    assert a.permutation().tolist() != b.permutation().tolist()
    assert sorted(b.permutation().tolist()) == list(range(50))


def test_tail_smaller_than_replicas_pads_and_marks() -> None:
    sampler = ElasticSampler(5, shuffle=False)
    sampler.position = 3  # two samples left, three replicas
    shards = []
    for rank in range(3):
        sampler.position = 3
        shards.append(sampler.next_shard(rank, 3, 4))
    assert [s.real for s in shards] == [1, 1, 0]
    assert [s.indices[0] for s in shards[:2]] == [3, 4]
    assert all(s.last and s.global_size == 2 for s in shards)


def test_bad_state_is_rejected() -> None:
    sampler = ElasticSampler(10)
    with pytest.raises(ValueError, match="dataset length 11"):
        sampler.load_state_dict({**ElasticSampler(11).state_dict()})
