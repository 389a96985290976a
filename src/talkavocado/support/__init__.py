"""Plumbing every layer shares: camelCase models, time stamps, retries, schema
files, page tokens and structured logging."""
