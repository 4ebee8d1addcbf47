"""Benchmarks (quality, latency, peers). Not part of the installed package."""
