"""Bình Yên plumbing shared by every service."""
