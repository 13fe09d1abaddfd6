"""core data model and reference geography

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 22:06:54.067183

The audit tables (case_event, audit_event) are append-only: a trigger refuses UPDATE and DELETE
[R-CASE-AUDIT]. TRUNCATE stays possible for the scenario generator's reset of a demo database.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY = ("case_event", "audit_event")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line1', sa.String(length=200), nullable=False),
    sa.Column('line2', sa.String(length=200), nullable=True),
    sa.Column('town', sa.String(length=100), nullable=True),
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('uprn', sa.BigInteger(), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('itl1_cd', sa.String(length=3), nullable=True),
    sa.Column('lad_cd', sa.String(length=9), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_address_itl1_cd', 'address', ['itl1_cd'], unique=False)
    op.create_geospatial_index('ix_address_location', 'address', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_address_postcode', 'address', ['postcode'], unique=False)
    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('buyer_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_event_at', 'audit_event', ['at'], unique=False)
    op.create_index('ix_audit_event_buyer_at', 'audit_event', ['buyer_id', 'at'], unique=False)
    op.create_table('buyer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('lad_cd', sa.String(length=9), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('council', 'national', 'other')", name='kind_allowed'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_table('debtor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_debtor_name_lower', 'debtor', [sa.text('lower(name)')], unique=False)
    op.create_table('geodata_load',
    sa.Column('dataset', sa.String(length=50), nullable=False),
    sa.Column('source_file', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('dataset')
    )
    op.create_geospatial_table('itl1_region',
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('rgn_cd', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=30), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_geospatial_index('ix_itl1_region_geom', 'itl1_region', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('local_authority',
    sa.Column('lad_cd', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('itl1_cd', sa.String(length=3), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('geom_detailed', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.PrimaryKeyConstraint('lad_cd')
    )
    op.create_geospatial_index('ix_local_authority_geom', 'local_authority', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('ix_local_authority_geom_detailed', 'local_authority', ['geom_detailed'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('postcode',
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('location_bng', Geometry(geometry_type='POINT', srid=27700, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('postcode')
    )
    op.create_geospatial_index('ix_postcode_location_bng', 'postcode', ['location_bng'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('sensitive_premises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source_ref', sa.String(length=40), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('postcode', sa.String(length=8), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('location_bng', Geometry(geometry_type='POINT', srid=27700, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_geospatial_index('ix_sensitive_premises_location_bng', 'sensitive_premises', ['location_bng'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('subcontractor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_table('vehicle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vrm', sa.String(length=8), nullable=False),
    sa.Column('make', sa.String(length=50), nullable=True),
    sa.Column('colour', sa.String(length=30), nullable=True),
    sa.Column('keeper_check_state', sa.String(length=20), nullable=False),
    sa.Column('keeper_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("keeper_check_state IN ('not_checked', 'requested', 'confirmed', 'new_address', 'different_keeper')", name='keeper_check_state_allowed'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vrm')
    )
    op.create_geospatial_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subcontractor_id', sa.Integer(), nullable=False),
    sa.Column('certificated', sa.Boolean(), nullable=False),
    sa.Column('skills', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('home_base', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('home_postcode', sa.String(length=8), nullable=True),
    sa.Column('itl1_cd', sa.String(length=3), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['subcontractor_id'], ['subcontractor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_geospatial_index('ix_agent_home_base', 'agent', ['home_base'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_agent_itl1_cd', 'agent', ['itl1_cd'], unique=False)
    op.create_index(op.f('ix_agent_subcontractor_id'), 'agent', ['subcontractor_id'], unique=False)
    op.create_table('enforcement_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('buyer_reference', sa.String(length=64), nullable=False),
    sa.Column('supplier_reference', sa.String(length=32), nullable=False),
    sa.Column('subcontractor_reference', sa.String(length=64), nullable=True),
    sa.Column('debt_type', sa.String(length=32), nullable=False),
    sa.Column('original_balance_pence', sa.BigInteger(), nullable=False),
    sa.Column('current_balance_pence', sa.BigInteger(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('on_hold', sa.Boolean(), nullable=False),
    sa.Column('hold_reason', sa.Text(), nullable=True),
    sa.Column('vulnerable', sa.Boolean(), nullable=False),
    sa.Column('vulnerability_note', sa.Text(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('notice_issued_on', sa.Date(), nullable=True),
    sa.Column('enforcement_stage_on', sa.Date(), nullable=True),
    sa.Column('linked_group', sa.BigInteger(), nullable=True),
    sa.Column('is_leading', sa.Boolean(), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('address_id', sa.Integer(), nullable=False),
    sa.Column('assigned_subcontractor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("debt_type IN ('council_tax', 'business_rates', 'parking', 'sundry', 'housing_benefit_overpayment', 'commercial_rent', 'magistrates_fine')", name='debt_type_allowed'),
    sa.CheckConstraint("stage IN ('compliance', 'enforcement', 'sale')", name='stage_allowed'),
    sa.CheckConstraint("status IN ('open', 'paid', 'returned', 'closed')", name='status_allowed'),
    sa.CheckConstraint('original_balance_pence >= 0', name='original_balance_non_negative'),
    sa.ForeignKeyConstraint(['address_id'], ['address.id'], ),
    sa.ForeignKeyConstraint(['assigned_subcontractor_id'], ['subcontractor.id'], ),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('buyer_id', 'buyer_reference', name='uq_case_buyer_reference'),
    sa.UniqueConstraint('supplier_reference')
    )
    op.create_index('ix_case_buyer_status', 'enforcement_case', ['buyer_id', 'status'], unique=False)
    op.create_index('ix_case_linked_group', 'enforcement_case', ['linked_group'], unique=False, postgresql_where='linked_group IS NOT NULL')
    op.create_index('ix_case_subcontractor_reference', 'enforcement_case', ['subcontractor_reference'], unique=False)
    op.create_index(op.f('ix_enforcement_case_address_id'), 'enforcement_case', ['address_id'], unique=False)
    op.create_index(op.f('ix_enforcement_case_assigned_subcontractor_id'), 'enforcement_case', ['assigned_subcontractor_id'], unique=False)
    op.create_index(op.f('ix_enforcement_case_debtor_id'), 'enforcement_case', ['debtor_id'], unique=False)
    op.create_index('uq_case_one_leader_per_group', 'enforcement_case', ['linked_group'], unique=True, postgresql_where='is_leading AND linked_group IS NOT NULL')
    op.create_geospatial_table('van',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('vrm', sa.String(length=8), nullable=False),
    sa.Column('subcontractor_id', sa.Integer(), nullable=False),
    sa.Column('base', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('itl1_cd', sa.String(length=3), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['subcontractor_id'], ['subcontractor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference'),
    sa.UniqueConstraint('vrm')
    )
    op.create_geospatial_index('ix_van_base', 'van', ['base'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_van_subcontractor_id'), 'van', ['subcontractor_id'], unique=False)
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(role = 'buyer') = (buyer_id IS NOT NULL)", name='buyer_scope_iff_buyer_role'),
    sa.CheckConstraint("role IN ('admin', 'dispatcher', 'regional_manager', 'buyer', 'agent', 'device')", name='role_allowed'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_index(op.f('ix_app_user_buyer_id'), 'app_user', ['buyer_id'], unique=False)
    op.create_table('case_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_case_event_case_at', 'case_event', ['case_id', 'at'], unique=False)
    op.create_table('case_vehicle',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'vehicle_id')
    )
    op.create_index(op.f('ix_case_vehicle_vehicle_id'), 'case_vehicle', ['vehicle_id'], unique=False)
    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('van_id', sa.Integer(), nullable=True),
    sa.Column('credential_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'phone' AND agent_id IS NOT NULL AND van_id IS NULL) OR (kind = 'van' AND van_id IS NOT NULL AND agent_id IS NULL)", name='device_owner_matches_kind'),
    sa.CheckConstraint("kind IN ('phone', 'van')", name='kind_allowed'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['van_id'], ['van.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_id')
    )
    op.create_index(op.f('ix_device_agent_id'), 'device', ['agent_id'], unique=False)
    op.create_index(op.f('ix_device_van_id'), 'device', ['van_id'], unique=False)
    op.execute("""
        CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'R-CASE-AUDIT: % is append-only; % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END $$
    """)
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()")


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS refuse_audit_change()")
    op.drop_index(op.f('ix_device_van_id'), table_name='device')
    op.drop_index(op.f('ix_device_agent_id'), table_name='device')
    op.drop_table('device')
    op.drop_index(op.f('ix_case_vehicle_vehicle_id'), table_name='case_vehicle')
    op.drop_table('case_vehicle')
    op.drop_index('ix_case_event_case_at', table_name='case_event')
    op.drop_table('case_event')
    op.drop_index(op.f('ix_app_user_buyer_id'), table_name='app_user')
    op.drop_table('app_user')
    op.drop_index(op.f('ix_van_subcontractor_id'), table_name='van')
    op.drop_geospatial_index('ix_van_base', table_name='van', postgresql_using='gist', column_name='base')
    op.drop_geospatial_table('van')
    op.drop_index('uq_case_one_leader_per_group', table_name='enforcement_case', postgresql_where='is_leading AND linked_group IS NOT NULL')
    op.drop_index(op.f('ix_enforcement_case_debtor_id'), table_name='enforcement_case')
    op.drop_index(op.f('ix_enforcement_case_assigned_subcontractor_id'), table_name='enforcement_case')
    op.drop_index(op.f('ix_enforcement_case_address_id'), table_name='enforcement_case')
    op.drop_index('ix_case_subcontractor_reference', table_name='enforcement_case')
    op.drop_index('ix_case_linked_group', table_name='enforcement_case', postgresql_where='linked_group IS NOT NULL')
    op.drop_index('ix_case_buyer_status', table_name='enforcement_case')
    op.drop_table('enforcement_case')
    op.drop_index(op.f('ix_agent_subcontractor_id'), table_name='agent')
    op.drop_index('ix_agent_itl1_cd', table_name='agent')
    op.drop_geospatial_index('ix_agent_home_base', table_name='agent', postgresql_using='gist', column_name='home_base')
    op.drop_geospatial_table('agent')
    op.drop_table('vehicle')
    op.drop_table('subcontractor')
    op.drop_geospatial_index('ix_sensitive_premises_location_bng', table_name='sensitive_premises', postgresql_using='gist', column_name='location_bng')
    op.drop_geospatial_table('sensitive_premises')
    op.drop_geospatial_index('ix_postcode_location_bng', table_name='postcode', postgresql_using='gist', column_name='location_bng')
    op.drop_geospatial_table('postcode')
    op.drop_geospatial_index('ix_local_authority_geom_detailed', table_name='local_authority', postgresql_using='gist', column_name='geom_detailed')
    op.drop_geospatial_index('ix_local_authority_geom', table_name='local_authority', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('local_authority')
    op.drop_geospatial_index('ix_itl1_region_geom', table_name='itl1_region', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('itl1_region')
    op.drop_table('geodata_load')
    op.drop_index('ix_debtor_name_lower', table_name='debtor')
    op.drop_table('debtor')
    op.drop_table('buyer')
    op.drop_index('ix_audit_event_buyer_at', table_name='audit_event')
    op.drop_index('ix_audit_event_at', table_name='audit_event')
    op.drop_table('audit_event')
    op.drop_index('ix_address_postcode', table_name='address')
    op.drop_geospatial_index('ix_address_location', table_name='address', postgresql_using='gist', column_name='location')
    op.drop_index('ix_address_itl1_cd', table_name='address')
    op.drop_geospatial_table('address')
