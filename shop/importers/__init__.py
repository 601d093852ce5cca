"""Importers that load real data sets into the store's schema."""
