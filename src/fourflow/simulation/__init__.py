"""The trade simulator: a synthetic multi-tier supply network and its documents (docs/simulator.md)."""
