"""geofence transitions and evidence trails: gps_transition, visit_evidence.trail, device.owntracks_name

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:45:00

- gps_transition: the OwnTracks apps' enter / leave events of the 50 m regions sent to the phone (one per
  planned visit, named by case id); unique on (device_id, ts, event, region) so a re-delivery is a no-op.
- visit_evidence.trail: the phone's fixes around the stop, copied when the evidence is recorded, so the
  buyer's evidence map still shows the trail after the day's gps_ping partition is pruned.
- device.owntracks_name: the device part of an OwnTracks phone's topic (owntracks/<device id>/<name>),
  learned from its messages; the app reads its commands on that topic + /cmd.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table('gps_transition',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=5), nullable=False),
    sa.Column('region', sa.Text(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("event IN ('enter', 'leave')", name='gps_transition_event'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'ts', 'event', 'region', name='uq_gps_transition')
    )
    op.create_index('ix_gps_transition_agent_ts', 'gps_transition', ['agent_id', 'ts'], unique=False)
    op.add_column('visit_evidence', sa.Column('trail', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('device', sa.Column('owntracks_name', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('device', 'owntracks_name')
    op.drop_column('visit_evidence', 'trail')
    op.drop_index('ix_gps_transition_agent_ts', table_name='gps_transition')
    op.drop_geospatial_table('gps_transition')
