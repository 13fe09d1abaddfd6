"""Configuration from the environment (prefix ``BAILIWICK_``), defaulting to the local services that
``scripts/stack.sh`` provides and to the shared reference data beside the project."""
from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAILIWICK_", extra="ignore")

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/bailiwick"
    redis_url: str = "redis://127.0.0.1:6379/0"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    # Empty means "use the per-checkout key in secrets_dir", generated on first use.
    jwt_secret: str = Field(default="", repr=False)
    jwt_expire_minutes: int = 60
    shared_dir: Path = PROJECT_ROOT.parent / "shared"
    # Defaults to ``shared_dir / "geodata"`` when not set.
    geodata_dir: Path | None = None
    secrets_dir: Path = PROJECT_ROOT / ".secrets"
    # Query attachments, under content-addressed names; outside any directory the server serves.
    files_dir: Path = PROJECT_ROOT / "var" / "files"
    # A GPS fix less accurate than this (its radius, metres) is dead-lettered rather than stored.
    gps_max_accuracy_m: float = 500.0
    # Days of gps_ping kept: a fix older than this is dead-lettered rather than stored, and
    # ``bailiwick tracking prune`` drops older days. 0 would prune the day being written.
    gps_retention_days: int = Field(default=90, ge=1, le=36_500)
    # Seconds after which an agent's live position is shown as stale (GET /agents/live, the live map).
    gps_stale_s: int = Field(default=300, gt=0)
    # The least score (0..1, anpr_ingest.matching) a plate read needs to count as a hotlist hit. At
    # 0.55 an exact read needs confidence 0.55, one corrected character 0.61, two 0.68, and a dropped
    # character 0.85 on its own: recall 0.98 under simulated OCR noise at under one false alert in
    # 10,000 reads of unlisted vehicles (tests/test_anpr_matching.py).
    anpr_match_threshold: float = Field(default=0.55, ge=0, le=1)
    # Hours after a confirmed sighting's last read that its place is offered to the planner as a visit
    # (R-ANPR-NOCHASE: a parked vehicle, not a pursuit); a vehicle left longer has likely moved on.
    anpr_offer_hours: float = Field(default=3.0, gt=0, le=24)
    # How far (km, straight line) from a new sighting an agent may be and still be alerted to it: about
    # half an hour's drive in town, so the vehicle may still be there when the agent arrives.
    anpr_alert_radius_km: float = Field(default=25.0, gt=0)
    # A buyer's deprioritisation index is flagged in a region when the upper bound of its confidence
    # interval is below this [000 §1.8, §2.94]: the share of agent time is clearly under the share of
    # the competing caseload.
    capacity_threshold: float = Field(default=0.9, gt=0, le=1)
    # A stop at no case address is other clients' work when it lasts from this … (a halt in traffic is
    # shorter than any knock at a door) …
    capacity_min_work_s: float = Field(default=120.0, ge=0)
    # … to this (seconds): a longer one is a break, nobody's time.
    capacity_break_s: float = Field(default=1200.0, gt=0)
    # One this long is a destination, like a visit: it takes the drive that led to it. A shorter one may
    # be a queue or a halt on the way, and takes only the detour it made (``regions.sql``).
    capacity_door_s: float = Field(default=240.0, ge=0)

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.geodata_dir is None:
            self.geodata_dir = self.shared_dir / "geodata"
        return self

    def signing_key(self) -> str:
        """The JWT signing key: the environment's, else a random key kept in a git-ignored file so
        that tokens survive a restart of a local server."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.secrets_dir / "jwt_secret"
        if not path.exists():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
