"""Settings from `COTERIE_*` environment variables, built on first use and never at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COTERIE_", env_file=".env", extra="ignore")

    environment: str = Field("development", description="development, test or production")
    database_url: str = "sqlite:///var/coterie.db"
    data_dir: Path = Path("var")
    secret_key: str = _DEV_SECRET
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    login_attempts_per_minute: int = 10
    code_attempts_per_member: int = Field(10, description="wrong join codes per member a minute")
    code_attempts_per_address: int = Field(30, description="wrong join codes per address a minute")
    export_batch_size: int = 5000
    db_pool_size: int = Field(32, description="PostgreSQL connections kept per process")
    import_stale_seconds: int = Field(
        120, gt=0, description="a running import silent this long was interrupted: resume it"
    )
    import_workers: int | None = Field(
        None, ge=0, description="processes normalizing an import's rows (default: one a core)"
    )
    import_parallel_from: int = Field(
        20_000, ge=0, description="rows left below which an import normalizes in-process"
    )

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == _DEV_SECRET:
            raise ValueError("COTERIE_SECRET_KEY must be set in production")
        return self

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
