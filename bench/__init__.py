"""`make bench`: benchmarks that write bench/results.json and print a table (never timed tests)."""
