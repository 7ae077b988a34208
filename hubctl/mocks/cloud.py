"""Mock answers for the cloud resources (computed outputs, invokes)."""
