"""hubctl: the offline plan of a stack, and what is built on it (render, policy, diff)."""
