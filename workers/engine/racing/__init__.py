"""A race from start to verdict: the race, each side, its phases, stops, the budget, artifacts
and diagnosed failures."""
