"""Meta's webhook: the endpoint (endpoint.py), what a delivery must be (envelope.py), splitting
deliveries into changes (splitter.py) and translating changes for the app (translators.py)."""
