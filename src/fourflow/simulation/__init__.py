"""The trade simulator: a synthetic supply network and its documents (docs/simulator.md)."""
