"""The Rasa assistant: training data (data/), custom actions (actions/), NLU components."""
