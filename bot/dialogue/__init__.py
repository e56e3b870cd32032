"""What every conversation of the domain shares: the one result of a turn (`turn`), the
words the bot says (`texts`, from data/texts/) and the cues it listens for (`cues`, from
data/cues.yml).

No Rasa here: the actions translate a `Turn` into dispatcher messages and events."""
