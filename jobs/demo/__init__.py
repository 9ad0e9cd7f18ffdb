"""Demo data: the original's mock races, random realistic races and their build logs."""
