"""Demo data: the curated catalog (catalog.yml) and the seeded household-history generator."""
