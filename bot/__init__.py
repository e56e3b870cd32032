"""The government-service assistant's domain library: catalog, NLU parts, web app."""
