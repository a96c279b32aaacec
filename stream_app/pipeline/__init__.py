"""The per-record pipeline: decode, run in one transaction, commit, then ack (docs/pipeline.md)."""
