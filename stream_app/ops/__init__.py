"""Operator commands: topics, replay, dead letters, status."""
