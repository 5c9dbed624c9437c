"""Reliability statistics: IEEE 1366 and DL/T 836 indices, major event days, breakdowns.

Pure core: arrays in, frozen results out; no I/O.
"""
