"""Delivering notifications: email (SMTP), Slack incoming webhooks, and signed outbound webhooks."""
