"""The leaderboard: which races count, the ranking, the headline, totals, per-repository figures
and the summary rows they add up."""
