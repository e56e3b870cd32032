"""Our web app on :8800: the matter API (and later the widget and the agent desk)."""
