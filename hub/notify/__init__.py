"""Notifications to people (e-mail), delivered through the outbox."""
