"""stream_app: a code-coverage service's background worker as Kafka stream consumers."""

__version__ = "0.1.0"
