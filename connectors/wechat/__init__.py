"""WeChat Official Account and Mini Program customer service: channel.py (Rasa input
channels), crypto.py (signatures, safe-mode AES), api.py (the send API and its token)."""
