"""How a race ends: the sides, the outcome names, the verdict rule and the figures judged from
stored results."""
