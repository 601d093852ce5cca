"""Recommender: pure functions and models that decide which product a household means and what
to suggest. It never touches the database; the store gathers the inputs and calls it."""
