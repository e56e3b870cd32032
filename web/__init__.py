"""Our web app on :8800 (web/app.py): the matter API and search page, the chat widget and
its demo portal, the citizens' documents, and the agent desk as a sub-application."""
