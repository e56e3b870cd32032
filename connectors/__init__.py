"""Channel connectors served by the one `rasa run` (registered in credentials.yml).

- `connectors.wechat`: WeChat Official Account (`wechat_oa`) and Mini Program
  customer-service messages (`wechat_mp`), plain and safe mode.
- `connectors.alipay`: Alipay life account (`alipay_life`).
- `connectors.platforms`: the outbound clients (send APIs, tokens) the desk can reuse.
"""
