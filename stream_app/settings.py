"""The one typed settings object, read from STREAM_APP_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAM_APP_", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/stream_app"
    topic_prefix: str = ""
    group_id: str = "stream-app"
    partitions: int = Field(default=8, ge=1)
    github_api_url: str = "https://api.github.com"
    encryption_key: str | None = None
    storage_url: str = "file://./.data/archive"
    # The web app's webhook receiver; Upload creates a repo's webhook only when this is set.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    # Pipeline tuning (not part of the public contract).
    max_in_flight: int = Field(default=64, ge=1, description="records in flight per task type")
    # A record holds its connection for its whole transaction, provider waits included.
    db_pool_size: int = Field(default=20, ge=1, description="PostgreSQL connections (plus as many overflow)")
    # Group commit (pipeline/batching.py): records of a quick task type share a transaction.
    batch_max: int = Field(default=32, ge=1, description="records per shared transaction; 1 turns it off")
    batch_max_round_trips: float = Field(
        default=4.0, ge=0, description="batch only handlers that take at most this many database round trips"
    )
    max_record_bytes: int = Field(default=1_048_576, ge=1024)
    max_attempts: int = Field(default=8, ge=1, description="delayed retries before a dead letter")
    newer_version_max_attempts: int = Field(default=20, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)
    inline_wait_seconds: float = Field(default=3.0, ge=0, description="longest in-lane wait")
    commit_interval_seconds: float = Field(default=1.0, gt=0)
    relay_interval_seconds: float = Field(default=0.5, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
