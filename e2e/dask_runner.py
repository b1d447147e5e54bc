"""Verification and tally on a Dask cluster (``tohyo verify|tally --dask ADDRESS``).

Part of the edge of ``e2e`` (with :mod:`e2e.record` and :mod:`e2e.cli`): it talks to the
network, so it is imported only by :mod:`e2e.cli`, and only when ``--dask`` is given. The
work itself is :func:`e2e.verify.verify_shard_in`, the same pure function the local
process pool runs.

The coordinator (this process) reads the record, checks everything but the cast ballots,
and sends the ballots in shards; each worker verifies a shard in one batch and returns
its ids, confirmation codes and partial tally (:class:`~e2e.verify.ShardSummary`); the
coordinator takes the summaries in shard order, so the first bad ballot is named exactly
as on one machine, checks uniqueness across shards and multiplies the partial tallies.

Workers need tohyo installed (the same version) and nothing else: no file, no database.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from e2e.election import Election
from e2e.errors import TohyoError
from e2e.group import release_gil
from e2e.verify import BallotItem, ElectionContext, MapShards, ShardSummary, verify_shard_in

# The elections this worker process has seen, by H_E, each with its fixed-base table of
# K. Why a per-process cache: a table costs about a second to build and 46 MB to hold in
# the standard group; built per shard it would cost as much as verifying the shard, and
# shipped with the shard it would cost the network far more. So every worker process
# builds it once, on its first shard of the election, and keeps it for all the others.
# (g's table lives on the Group object, already once per process.)
_ELECTIONS: dict[str, Election] = {}
_BUILD_LOCK = threading.Lock()  # a worker with several threads builds a table only once


class SchedulerError(RuntimeError):
    """The Dask scheduler cannot be reached, or the cluster failed (not the record)."""


def _shard_task(context: ElectionContext, items: list[BallotItem]) -> ShardSummary:
    """What a Dask worker runs for one shard."""
    release_gil()  # gmpy2 contexts are per thread, and Dask runs tasks in its own threads
    if context.h_e not in _ELECTIONS:
        with _BUILD_LOCK:
            if context.h_e not in _ELECTIONS:
                _ELECTIONS[context.h_e] = context.build()
    return verify_shard_in(context, items, _ELECTIONS)


def _cached_elections() -> list[str]:
    """H_E of the elections this worker process holds (for tests: ``client.run``)."""
    return sorted(_ELECTIONS)


def connect(address: str, timeout: float = 10.0) -> Any:
    """A ``distributed.Client`` on the scheduler at ``address``; raises SchedulerError."""
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError(
            "--dask needs the distributed package: pip install 'tohyo[dask]'"
        ) from None
    for attempt in range(3):
        try:
            return Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {e}") from None
        except AssertionError:
            # distributed's handshake asserts that the scheduler's first reply is a lone
            # "stream-start"; while another client of the same scheduler is cancelling
            # work, other messages can ride along (seen in the tests). Connecting again is
            # safe: nothing was submitted yet.
            if attempt == 2:
                raise SchedulerError(
                    f"the Dask scheduler at {address} kept refusing the handshake"
                ) from None
    raise AssertionError("unreachable")


def cluster_threads(client: Any) -> int:
    """Worker threads in the cluster (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def dask_map(client: Any, window: int | None = None) -> MapShards:
    """A shard mapper that verifies shards on the cluster and yields their summaries in
    shard order, keeping at most ``window`` shards in flight (default: twice the worker
    threads) so that a record of any size streams through bounded memory."""
    window = window or 2 * cluster_threads(client)

    def run(election: Election, shards: Iterable[list[BallotItem]]) -> Iterator[ShardSummary]:
        context = ElectionContext.of(election)
        [remote_context] = client.scatter([context], broadcast=True, hash=False)
        run_id = uuid.uuid4().hex[:12]
        todo = iter(enumerate(shards))
        pending: deque[tuple[int, Any]] = deque()

        def submit_next() -> None:
            nxt = next(todo, None)
            if nxt is not None:
                i, shard = nxt
                # The shard's bytes (about 60 KB a ballot in the standard group) go straight
                # to a worker, not through the scheduler inside the task; the task then
                # runs where its data is.
                [data] = client.scatter([shard], hash=False)
                key = f"tohyo-shard-{run_id}-{i}"
                pending.append((i, client.submit(_shard_task, remote_context, data, key=key)))

        for _ in range(window):
            submit_next()
        try:
            while pending:
                i, future = pending.popleft()
                try:
                    summary = future.result()
                except TohyoError:
                    raise  # the record failed a check: reported like on one machine
                except Exception as e:  # a lost worker, a missing package…
                    raise SchedulerError(
                        f"the Dask cluster failed on shard {i}: {type(e).__name__}: {e}"
                    ) from None
                submit_next()
                yield summary
        finally:
            for _, future in pending:
                future.cancel()

    return run
