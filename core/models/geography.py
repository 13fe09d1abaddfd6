"""Reference geography: loaded by ``geodata`` (which is below core and so never imports these
classes), defined here so that one metadata holds the whole schema."""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import DateTime, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, point_4326


class Itl1Region(Base):
    __tablename__ = "itl1_region"
    __table_args__ = (Index("ix_itl1_region_geom", "geom", postgresql_using="gist"),)

    code: Mapped[str] = mapped_column(String(3), primary_key=True)  # TLC … TLN
    rgn_cd: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(30))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class LocalAuthority(Base):
    """A local authority district. ``geom`` is the super-generalised UK-wide boundary; ``geom_detailed``
    is the finer boundary where one is loaded (around the councils in the scenarios) and wins when it
    answers."""

    __tablename__ = "local_authority"
    __table_args__ = (
        Index("ix_local_authority_geom", "geom", postgresql_using="gist"),
        Index("ix_local_authority_geom_detailed", "geom_detailed", postgresql_using="gist"),
    )

    lad_cd: Mapped[str] = mapped_column(String(9), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    itl1_cd: Mapped[str] = mapped_column(String(3))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    geom_detailed: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class Postcode(Base):
    """Unit postcode centroids. ``location_bng`` (EPSG:27700) carries the KNN index so that "nearest"
    is nearest in metres, not in degrees (a degree of longitude is ~0.6 of a degree of latitude here)."""

    __tablename__ = "postcode"
    __table_args__ = (Index("ix_postcode_location_bng", "location_bng", postgresql_using="gist"),)

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)  # "PL1 2AA"
    location: Mapped[WKBElement] = mapped_column(point_4326())
    location_bng: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=27700, spatial_index=False))


class SensitivePremises(Base):
    """Places never to visit [R-VISIT-SENSITIVE]."""

    __tablename__ = "sensitive_premises"
    __table_args__ = (Index("ix_sensitive_premises_location_bng", "location_bng", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(8))
    location: Mapped[WKBElement] = mapped_column(point_4326())
    location_bng: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=27700, spatial_index=False))


class GeodataLoad(Base):
    """One row per loaded reference dataset: what was loaded, from which file content, and when."""

    __tablename__ = "geodata_load"

    dataset: Mapped[str] = mapped_column(String(50), primary_key=True)
    source_file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float]
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
