"""visit evidence: stops matched to case addresses (visit_evidence) and the others (unmatched_stop)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 04:45:00

Both are unique on (device_id, arrival), so re-running a day's matching upserts instead of adding rows.
A visit record gets the GPS arrival and departure of its evidence, and gps_verified.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visit_evidence',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('arrival', sa.DateTime(timezone=True), nullable=False),
    sa.Column('departure', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dwell_s', sa.Integer(), nullable=False),
    sa.Column('address_line', sa.Text(), nullable=False),
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('distance_m', sa.Double(), nullable=False),
    sa.Column('fix_count', sa.Integer(), nullable=False),
    sa.Column('median_accuracy_m', sa.Double(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('fixes', 'transition')", name='visit_evidence_source'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'arrival', name='uq_visit_evidence_device_arrival')
    )
    op.create_index('ix_visit_evidence_case', 'visit_evidence', ['case_id'], unique=False)
    op.create_index('ix_visit_evidence_agent_arrival', 'visit_evidence', ['agent_id', 'arrival'], unique=False)
    op.create_geospatial_table('unmatched_stop',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('arrival', sa.DateTime(timezone=True), nullable=False),
    sa.Column('departure', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('nearest_postcode', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id', 'arrival', name='uq_unmatched_stop_device_arrival')
    )
    op.create_index('ix_unmatched_stop_agent_arrival', 'unmatched_stop', ['agent_id', 'arrival'], unique=False)
    op.add_column('visit', sa.Column('gps_arrived_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('visit', sa.Column('gps_departed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('visit', sa.Column('gps_verified', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    op.drop_column('visit', 'gps_verified')
    op.drop_column('visit', 'gps_departed_at')
    op.drop_column('visit', 'gps_arrived_at')
    op.drop_index('ix_unmatched_stop_agent_arrival', table_name='unmatched_stop')
    op.drop_geospatial_table('unmatched_stop')
    op.drop_index('ix_visit_evidence_agent_arrival', table_name='visit_evidence')
    op.drop_index('ix_visit_evidence_case', table_name='visit_evidence')
    op.drop_table('visit_evidence')
