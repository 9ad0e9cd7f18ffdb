"""Demo data: the original's mock races and random realistic races, with their build output."""
