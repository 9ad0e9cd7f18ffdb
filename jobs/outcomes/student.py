"""Student's t distribution: its CDF and quantiles, for intervals on few runs.

Pure Python (no SciPy for two functions): the CDF through the regularized incomplete beta
function's continued fraction, the quantile by bisection on it, cached per (p, df).
"""

import functools
import math


@functools.lru_cache(maxsize=4096)
def t_quantile(p, df):
    """Student's t quantile: the x with P(T <= x) = p, found by bisection on the CDF."""
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def t_cdf(x, df):
    """P(T <= x) for Student's t with `df` degrees of freedom (any real df > 0)."""
    tail = 0.5 * _regularized_beta(df / (df + x * x), df / 2, 0.5)
    return 1 - tail if x >= 0 else tail


def _regularized_beta(x, a, b):
    """I_x(a, b), by the continued fraction of the incomplete beta function (Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):
        return 1 - _regularized_beta(1 - x, b, a)
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1) < 1e-14:
            break
    return front * fraction / a
