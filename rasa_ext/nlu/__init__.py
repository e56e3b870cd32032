"""Custom Rasa NLU components for Chinese: input normalisation and catalog entities."""
