"""Intuit webhooks: signed change notifications, persisted and deduplicated, then acted on by a job."""
