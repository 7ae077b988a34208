"""Mock answers for the data resources (computed outputs, invokes)."""
