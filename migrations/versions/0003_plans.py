"""day plans: runs, routes, visits, dropped visits, pins

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:21:56.129041

A run is one stored plan of a day (one region, or the whole country with region null); its routes,
visits and dropped visits hang off it and go with it (ON DELETE CASCADE). plan_pin holds dispatchers'
pins, one per case and day. Regions are ITL1 codes without a foreign key, like address.itl1_cd: the
reference geography is reloaded in place.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region', sa.String(length=3), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('time_limit_s', sa.Double(), nullable=False),
    sa.Column('stats', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.CheckConstraint("kind IN ('plan', 'replan')", name='kind_allowed'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_plan_run_day_region', 'plan_run', ['day', 'region'], unique=False)
    op.create_geospatial_table('plan_dropped',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('region', sa.String(length=3), nullable=True),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['plan_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'case_id', name='uq_plan_dropped_run_case')
    )
    op.create_index('ix_plan_dropped_case', 'plan_dropped', ['case_id'], unique=False)
    op.create_geospatial_index('ix_plan_dropped_location', 'plan_dropped', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_plan_dropped_run_buyer', 'plan_dropped', ['run_id', 'buyer_id'], unique=False)
    op.create_index('ix_plan_dropped_run_region', 'plan_dropped', ['run_id', 'region'], unique=False)
    op.create_table('plan_pin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'case_id', name='uq_plan_pin_day_case')
    )
    op.create_index('ix_plan_pin_agent_day', 'plan_pin', ['agent_id', 'day'], unique=False)
    op.create_geospatial_table('plan_route',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=3), nullable=True),
    sa.Column('shift_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_point', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('end_point', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('distance_m', sa.Double(), nullable=False),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('path', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['plan_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'agent_id', name='uq_plan_route_run_agent')
    )
    op.create_index('ix_plan_route_agent', 'plan_route', ['agent_id'], unique=False)
    op.create_geospatial_index('ix_plan_route_end_point', 'plan_route', ['end_point'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('ix_plan_route_path', 'plan_route', ['path'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_plan_route_run_region', 'plan_route', ['run_id', 'region'], unique=False)
    op.create_geospatial_index('ix_plan_route_start_point', 'plan_route', ['start_point'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('plan_visit',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('eta', sa.DateTime(timezone=True), nullable=False),
    sa.Column('etd', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_band', sa.String(length=20), nullable=True),
    sa.Column('window_band', sa.String(length=20), nullable=True),
    sa.Column('service_s', sa.Integer(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('region', sa.String(length=3), nullable=True),
    sa.CheckConstraint('etd >= eta', name='etd_after_eta'),
    sa.CheckConstraint('seq >= 1', name='seq_positive'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['plan_run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'agent_id', 'seq', name='uq_plan_visit_run_agent_seq'),
    sa.UniqueConstraint('run_id', 'case_id', name='uq_plan_visit_run_case')
    )
    op.create_index('ix_plan_visit_agent_eta', 'plan_visit', ['agent_id', 'eta'], unique=False)
    op.create_index('ix_plan_visit_case', 'plan_visit', ['case_id'], unique=False)
    op.create_geospatial_index('ix_plan_visit_location', 'plan_visit', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_plan_visit_run_buyer', 'plan_visit', ['run_id', 'buyer_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_plan_visit_run_buyer', table_name='plan_visit')
    op.drop_geospatial_index('ix_plan_visit_location', table_name='plan_visit', postgresql_using='gist', column_name='location')
    op.drop_index('ix_plan_visit_case', table_name='plan_visit')
    op.drop_index('ix_plan_visit_agent_eta', table_name='plan_visit')
    op.drop_geospatial_table('plan_visit')
    op.drop_geospatial_index('ix_plan_route_start_point', table_name='plan_route', postgresql_using='gist', column_name='start_point')
    op.drop_index('ix_plan_route_run_region', table_name='plan_route')
    op.drop_geospatial_index('ix_plan_route_path', table_name='plan_route', postgresql_using='gist', column_name='path')
    op.drop_geospatial_index('ix_plan_route_end_point', table_name='plan_route', postgresql_using='gist', column_name='end_point')
    op.drop_index('ix_plan_route_agent', table_name='plan_route')
    op.drop_geospatial_table('plan_route')
    op.drop_index('ix_plan_pin_agent_day', table_name='plan_pin')
    op.drop_table('plan_pin')
    op.drop_index('ix_plan_dropped_run_region', table_name='plan_dropped')
    op.drop_index('ix_plan_dropped_run_buyer', table_name='plan_dropped')
    op.drop_geospatial_index('ix_plan_dropped_location', table_name='plan_dropped', postgresql_using='gist', column_name='location')
    op.drop_index('ix_plan_dropped_case', table_name='plan_dropped')
    op.drop_geospatial_table('plan_dropped')
    op.drop_index('ix_plan_run_day_region', table_name='plan_run')
    op.drop_table('plan_run')
