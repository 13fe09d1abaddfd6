"""gps ingest: gps_ping partitioned by day, gps_dead_letter

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 04:17:28.610088

gps_ping is partitioned by RANGE (ts), one partition per UTC day (gps_ping_YYYYMMDD). The migration
makes only the parent: tracking creates the day partitions ahead at run time (and the one of a late
fix's day on demand), and the retention prune drops whole days. The key (device_id, ts) makes a
re-delivered message a no-op.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gps_dead_letter',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('topic', sa.Text(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_gps_dead_letter_received_at', 'gps_dead_letter', ['received_at'], unique=False)
    op.create_geospatial_table('gps_ping',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('speed_mps', sa.Double(), nullable=True),
    sa.Column('heading_deg', sa.Double(), nullable=True),
    sa.Column('battery_pct', sa.SmallInteger(), nullable=True),
    sa.PrimaryKeyConstraint('device_id', 'ts'),
    postgresql_partition_by='RANGE (ts)'
    )
    op.create_index('ix_gps_ping_agent_ts', 'gps_ping', ['agent_id', 'ts'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_gps_ping_agent_ts', table_name='gps_ping')
    op.drop_geospatial_table('gps_ping')
    op.drop_index('ix_gps_dead_letter_received_at', table_name='gps_dead_letter')
    op.drop_table('gps_dead_letter')
