"""Talking to the platforms outside a webhook request: WeChat's and Alipay's send APIs,
the shared HTTP session, safe XML, text fitting and the bounded background turns.

Nothing here depends on Rasa, so an agent desk can reuse the senders directly.
"""
