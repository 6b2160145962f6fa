"""FourFlow benchmarks: ``make bench`` prints one JSON line per figure."""
