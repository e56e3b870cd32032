"""The government-service assistant's domain: catalog, intake, status, handoff, and what
they share (text, privacy, storage, settings). Nothing here imports Rasa: code that runs
inside `rasa run` is in rasa_ext/, the web app in web/, channels in connectors/."""
