"""The exact Poisson tail and the control limits the early warning uses (docs/field-data.md).

Counts of field failures in a window are small (0, 1, 3 a month in a cell), where the normal
approximation of the c-chart (mean + 3 sigma) is far off: for an expected 0.5 it puts the
limit at 2.6, so three failures signal although P(X >= 3) is 1.4%, not 0.13%. The tail is
summed exactly here instead, in log space so that large expectations do not underflow.
"""

from __future__ import annotations

import math


def upper_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), exactly (to double precision)."""
    if k <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if k <= mean:
        return max(0.0, 1.0 - _lower(k - 1, mean))
    # Sum upwards from k: the terms shrink, so the sum converges quickly past the mean.
    log_term = -mean + k * math.log(mean) - math.lgamma(k + 1)
    total = 0.0
    i = k
    term = math.exp(log_term)
    while True:
        total += term
        i += 1
        term *= mean / i
        if term < total * 1e-17 or term == 0.0:
            return min(1.0, total)


def _lower(k: int, mean: float) -> float:
    """P(X <= k), summing the k+1 terms from 0 (k below the mean here, so few terms)."""
    term = math.exp(-mean)
    if term == 0.0:  # the mean is huge: work in logs
        return sum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k + 1))
    total = term
    for i in range(1, k + 1):
        term *= mean / i
        total += term
    return total


def upper_limit(mean: float, alpha: float) -> int:
    """The c-chart's upper control limit with an exact tail: the smallest count k with
    P(X >= k) <= alpha for X ~ Poisson(mean). A count of k or more signals."""
    k = max(1, math.floor(mean))
    if upper_tail(k, mean) <= alpha:  # walk down to the smallest such k
        while k > 1 and upper_tail(k - 1, mean) <= alpha:
            k -= 1
        return k
    while upper_tail(k, mean) > alpha:
        k += 1
    return k


def u_chart_limit(rate: float, exposure: float) -> float:
    """The classic u-chart's 3-sigma upper limit on a rate (failures per unit in service), for
    the reader who knows the chart; the decision uses the exact tail of `upper_limit` on
    rate x exposure, which the 3-sigma limit approaches for large counts."""
    if exposure <= 0:
        return math.inf
    return rate + 3.0 * math.sqrt(rate / exposure)
