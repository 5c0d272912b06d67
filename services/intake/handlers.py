"""Intake handlers: intake consumes no topic (it is where applications enter); kept for the shared shape."""
