"""anpr reads: hits, sightings, read counts, dead letters

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:20:13

Only what matched the hotlist is kept (anpr_hit, collapsed into anpr_sighting per van and vehicle);
every other read leaves a count per van and hour (anpr_read_count) [R-ANPR-PRIVACY]. Dead letters keep
the field and reason, never the payload.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anpr_dead_letter',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('field', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload_bytes', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('digest', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_anpr_dead_letter_digest', 'anpr_dead_letter', ['digest'], unique=False)
    op.create_index('ix_anpr_dead_letter_received_at', 'anpr_dead_letter', ['received_at'], unique=False)
    op.create_table('anpr_read_count',
    sa.Column('van_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reads', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['van_id'], ['van.id'], ),
    sa.PrimaryKeyConstraint('van_id', 'hour')
    )
    op.create_geospatial_table('anpr_sighting',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('van_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('vrm', sa.String(length=8), nullable=False),
    sa.Column('case_ids', postgresql.ARRAY(sa.Integer()), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reads', sa.Integer(), nullable=False),
    sa.Column('best_score', sa.Double(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('keeper_result', sa.String(length=20), nullable=True),
    sa.Column('keeper_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('keeper_checked_by', sa.Text(), nullable=True),
    sa.Column('actionable', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('alerted_agent_id', sa.Integer(), nullable=True),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("keeper_result IN ('confirmed', 'new_address', 'different_keeper')", name='anpr_sighting_keeper_result'),
    sa.ForeignKeyConstraint(['alerted_agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['van_id'], ['van.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_anpr_sighting_case_ids', 'anpr_sighting', ['case_ids'], unique=False, postgresql_using='gin')
    op.create_index('ix_anpr_sighting_first_seen', 'anpr_sighting', ['first_seen_at'], unique=False)
    op.create_index('ix_anpr_sighting_van_vehicle_last', 'anpr_sighting', ['van_id', 'vehicle_id', 'last_seen_at'], unique=False)
    op.create_geospatial_table('anpr_hit',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('sighting_id', sa.BigInteger(), nullable=False),
    sa.Column('van_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plate_read', sa.String(length=16), nullable=False),
    sa.Column('vrm', sa.String(length=8), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('how', sa.String(length=10), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('heading_deg', sa.Double(), nullable=True),
    sa.Column('speed_mps', sa.Double(), nullable=True),
    sa.Column('image_ref', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sighting_id'], ['anpr_sighting.id'], ),
    sa.ForeignKeyConstraint(['van_id'], ['van.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'ts', 'vrm', name='uq_anpr_hit_device_ts_vrm')
    )
    op.create_index('ix_anpr_hit_sighting', 'anpr_hit', ['sighting_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_anpr_hit_sighting', table_name='anpr_hit')
    op.drop_geospatial_table('anpr_hit')
    op.drop_index('ix_anpr_sighting_van_vehicle_last', table_name='anpr_sighting')
    op.drop_index('ix_anpr_sighting_first_seen', table_name='anpr_sighting')
    op.drop_index('ix_anpr_sighting_case_ids', table_name='anpr_sighting', postgresql_using='gin')
    op.drop_geospatial_table('anpr_sighting')
    op.drop_table('anpr_read_count')
    op.drop_index('ix_anpr_dead_letter_received_at', table_name='anpr_dead_letter')
    op.drop_index('ix_anpr_dead_letter_digest', table_name='anpr_dead_letter')
    op.drop_table('anpr_dead_letter')
