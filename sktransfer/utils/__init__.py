"""Utilities shared across sktransfer."""
