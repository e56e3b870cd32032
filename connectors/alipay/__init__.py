"""Alipay life account: channel.py (the Rasa input channel), sign.py (RSA2 signatures),
api.py (the send API)."""
