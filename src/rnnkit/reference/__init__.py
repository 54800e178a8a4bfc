"""rnnkit.reference."""
