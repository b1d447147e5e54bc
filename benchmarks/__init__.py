"""Benchmarks for researchers (``tohyo bench``, docs/researchers.md). The test suite runs
each once on small inputs (tests/integration/test_benchmarks_run.py) so that they keep
working; no test asserts a time."""
