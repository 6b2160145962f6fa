"""Serialisers of the simulator's records: UBL 2.1, ISO 20022 camt.054, EPCIS 2.0, native JSON."""
