"""The assistant's client of the government backend (client.py) and the service
credential both sides check (credentials.py). The stand-in that plays the backend in
development and tests is standins/gov_backend/."""
