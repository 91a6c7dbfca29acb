"""Meta Graph API adapter: template payload translation (and, later, the HTTP client)."""
