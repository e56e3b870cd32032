"""What the platform connectors share: the platform-input base (platform.py) and the
turn it runs (turn.py, background.py), the settings read from the environment
(settings.py), numbered options, safe XML, text fitting and the outbound HTTP session.

platform.py and turn.py are Rasa channels' parts; the rest depends on no Rasa, so an
agent desk can reuse the senders (connectors/wechat/api.py, connectors/alipay/api.py)
with settings.py directly.
"""
