"""The live race: each side's state, output cut at byte positions, the poll's markup and kept
states, terminals and replay."""
