"""Benchmarks for researchers (``tohyo bench``). Never run by the test suite."""
