"""The aiohttp application on the HTTP port: liveness and readiness (app.py) and Meta's webhook
(webhook/)."""
