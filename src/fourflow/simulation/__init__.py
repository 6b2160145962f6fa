"""The labelled supply-network simulator (docs/simulator.md)."""
