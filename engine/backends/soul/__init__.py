"""soul."""
