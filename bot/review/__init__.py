"""Learning from real traffic: the turns the bot failed, captured for supervisors' review."""
