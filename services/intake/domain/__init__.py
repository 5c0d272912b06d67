"""Intake domain (pure: no I/O, no clock, no random ids of its own), one module per concern:
validation, messages (English and Hindi), events (application.submitted/.erased data, the erasure
scrub), bulk (reading and preparing rows), rate_limit. Import from the concern's module."""
