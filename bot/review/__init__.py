"""What the bot failed to understand: captured, grouped, labelled, learned."""
