"""Channel connectors served by the one `rasa run` (registered in credentials.yml).

- `connectors.wechat`: WeChat Official Account (`wechat_oa`) and Mini Program
  customer-service messages (`wechat_mp`), plain and safe mode.
- `connectors.alipay`: Alipay life account (`alipay_life`).
- `connectors.widget`: the web widget's socket.io channel and its signed sessions.
- `connectors.rest`: the development REST channel (off in production).
- `connectors.common`: what the platforms share: the platform-input base class
  (platform.py), the settings read from the environment, the turn runner and
  de-duplication, button options, safe XML, text fitting, the outbound HTTP session.
"""
