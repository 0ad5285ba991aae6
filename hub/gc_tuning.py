"""Garbage-collector settings for a long-running server process (docs/ocpp.md "Performance").

A hub process holds a large, long-lived heap (modules, SQLAlchemy mappers and compiled-statement
caches, schema validators, one connection object per station) and allocates many short-lived
objects per OCPP call. With CPython's defaults every few hundred allocations start a young
collection, and the older generations are scanned again and again although nothing in them
dies. Here the start-up heap is frozen (moved out of the collector's sight; it lives as long
as the process) and the young generation is collected less often. Reference counting still
frees almost everything at once; the collector is only needed for cycles.
"""

from __future__ import annotations

import gc

# Young-generation threshold: allocations minus deallocations between collections (default
# 700); the older generations are collected after 20 and 10 of the younger ones.
THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Call once, after start-up and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
