"""tohyo's cryptographic core and verifier: pure functions, no I/O (except its edge:
e2e.record, e2e.cli, e2e.dask_runner).

The bottom layer (e2e ← trustees ← bulletin ← {sim, web} ← benchmarks ← tohyo; see
docs/design.md). Follows the ElectionGuard Design Specification 2.1 with the differences
listed in docs/protocol.md §6.
"""
