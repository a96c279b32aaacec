"""Fakes of outside services that speak their real protocol (HTTP), for integration tests."""
