"""The early warning's statistics, without a database: the exact Poisson tail, the c-chart's
limit, the u-chart on units in service, and the rule's false-alarm rate by simulation."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest

from cases.field.exposure import exposure
from cases.field.poisson import u_chart_limit, upper_limit, upper_tail
from cases.field.scan import Window, judge
from cases.field.thresholds import Rule, Rules
from tests.field_history import _poisson

WINDOW = Window.ending(date(2026, 12, 31), 30, 365)


def _tail_by_sum(k: int, mean: float) -> float:
    return 1.0 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))


@pytest.mark.parametrize(("k", "mean"), [(0, 1.0), (1, 0.1), (3, 0.5), (9, 1.0), (5, 5.0), (30, 12.0), (2, 7.5)])
def test_the_tail_is_the_exact_poisson_sum(k: int, mean: float) -> None:
    assert upper_tail(k, mean) == pytest.approx(_tail_by_sum(k, mean), rel=1e-9, abs=1e-15)


def test_small_counts_get_the_exact_limit_not_the_normal_approximation() -> None:
    # Expected 0.5: mean + 3 sigma is 2.6, so 3 would signal, yet P(X >= 3) is 1.4%.
    assert upper_tail(3, 0.5) == pytest.approx(0.01439, rel=1e-3)
    limit = upper_limit(0.5, 0.00135)  # the 3-sigma chart's nominal one-sided level
    assert limit == 5 and upper_tail(limit, 0.5) <= 0.00135 < upper_tail(limit - 1, 0.5)
    assert upper_tail(2000, 1500.0) < 1e-30  # far tails do not underflow into nonsense


def test_the_u_chart_counts_units_in_service() -> None:
    shipped = [(date(2026, 1, 1), 1000), (date(2026, 6, 1), 500)]
    assert exposure(shipped, date(2026, 1, 1), date(2026, 1, 10)) == 10 * 1000
    assert exposure(shipped, date(2026, 6, 1), date(2026, 6, 2)) == 2 * 1500
    assert u_chart_limit(0.001, 1e6) == pytest.approx(0.001 + 3 * math.sqrt(1e-9))
    rules = Rules({})
    # The fleet tripled just before the window: three times the failures are what it predicts.
    grown = [(date(2025, 1, 1), 1000), (date(2026, 12, 1), 2000)]
    seen = (exposure(grown, *WINDOW.baseline_period), exposure(grown, WINDOW.start, WINDOW.end))
    assert judge("p", "m", None, 9, 12, WINDOW, rules, seen) is None
    assert judge("p", "m", None, 9, 12, WINDOW, rules) is not None  # counts alone: a rise


@pytest.mark.parametrize("monthly", [0.3, 1.0, 3.0])
def test_the_rule_keeps_its_false_alarm_rate_with_an_estimated_baseline(monthly: float) -> None:
    """Steady cells (the baseline estimated from a year of the same rate): the share that
    signals stays near alpha, though the expected level is itself an estimate."""
    rng = random.Random(16)
    alpha, runs = 0.01, 20000
    rules = Rules({("*", "*"): Rule(alpha, 1)})
    signals = 0
    for _ in range(runs):
        baseline = _poisson(rng, monthly * 365 / 30.44)
        observed = _poisson(rng, monthly * 30 / 30.44)
        signals += judge("p", "m", None, observed, baseline, WINDOW, rules) is not None
    assert signals / runs <= 1.25 * alpha


def test_a_tenfold_rise_of_a_monthly_failure_signals() -> None:
    rng = random.Random(16)
    rules = Rules({})
    found = sum(
        judge("p", "m", None, _poisson(rng, 10.0), _poisson(rng, 12.0), WINDOW, rules) is not None for _ in range(2000)
    )
    assert found / 2000 > 0.5  # detected more often than not at the default alpha (1e-5)
