"""Faithful local fake servers of each provider API, for the demo, the tests and the benchmarks."""
