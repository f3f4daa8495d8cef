"""Channels deliver one outbox message each: in-app, email (SMTP), webhook (Slack/Teams JSON)."""
