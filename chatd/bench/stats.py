"""Medians of repeated trials and latency histograms that merge across processes."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping

BUCKET_MS = 0.1  # latency resolution: histograms of 0.1 ms buckets merge exactly


def bucket_of(ms: float) -> int:
    return max(0, int(ms / BUCKET_MS))


def merge(histograms: Iterable[Mapping[str, int]]) -> Counter:
    total: Counter = Counter()
    for histogram in histograms:
        for bucket, count in histogram.items():
            total[int(bucket)] += count
    return total


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0..1) in ms, as the upper edge of its bucket; None when empty."""
    count = sum(histogram.values())
    if not count:
        return None
    rank, seen = q * count, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round((bucket + 1) * BUCKET_MS, 3)
    return round((max(histogram) + 1) * BUCKET_MS, 3)


def summary(values: Iterable[float | None]) -> dict[str, float | None]:
    """Median with min and max over trials; trials that measured nothing are left out."""
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "trials": 0}
    return {"median": round(statistics.median(present), 3), "min": round(min(present), 3),
            "max": round(max(present), 3), "trials": len(present)}


def quantiles_ms(samples: list[float]) -> dict[str, float | None]:
    """p50/p99/max of raw samples (seconds) in ms, for small sample sets like HTTP pages."""
    if not samples:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1] * 1000, 3)}
