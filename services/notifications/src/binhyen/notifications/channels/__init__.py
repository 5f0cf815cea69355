"""Channels: webhook, e-mail, SMS/ZNS gateway, Web Push, Apprise — one interface (base)."""
