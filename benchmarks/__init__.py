"""Benchmarks: scripts that build their own data, measure, and print figures (see README.md).

They are not tests: nothing here asserts a time. Each one runs against its own database and
measures a baseline in the same process, because these machines are noisy.
"""
