"""rnnkit.cli."""
