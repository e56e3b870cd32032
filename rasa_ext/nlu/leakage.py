"""When two messages count as the same: moved to bot/same_text.py (the review of missed
messages in the web app needs it without Rasa); kept here for its callers."""
from bot.same_text import MIN_FUZZY_CHARS, Hit, TrainingIndex, canonical  # noqa: F401
