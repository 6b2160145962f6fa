"""Serialisers of issued documents (``fourflow.domain.issued``).

UBL 2.1, ISO 20022 camt.054, EPCIS 2.0 and native JSON; ``output.DirectorySink`` writes the
simulator's output directory.
"""
