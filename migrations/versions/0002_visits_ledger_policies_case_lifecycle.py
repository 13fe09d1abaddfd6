"""visits, ledger, visit policies, case lifecycle and sensitive-address columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:40:45.069321

The ledger is append-only like the audit tables (same trigger function as 0001) [R-CASE-AUDIT].
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visit_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('document', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'effective_from', name='uq_visit_policy_name_effective_from'),
    sa.UniqueConstraint('name', 'version', name='uq_visit_policy_name_version')
    )
    op.create_geospatial_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('departed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('time_band', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('bwv_reference', sa.String(length=100), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('no_contact', 'paid', 'arrangement', 'refused', 'gone_away', 'vulnerable', 'sensitive_venue')", name='outcome_allowed'),
    sa.CheckConstraint('departed_at IS NULL OR departed_at >= arrived_at', name='departure_after_arrival'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_visit_agent_arrived', 'visit', ['agent_id', 'arrived_at'], unique=False)
    op.create_index('ix_visit_case_arrived', 'visit', ['case_id', 'arrived_at'], unique=False)
    op.create_table('ledger_entry',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('fee_type', sa.String(length=20), nullable=True),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.CheckConstraint("(kind IN ('fee', 'fee_cancellation')) = (fee_type IS NOT NULL)", name='fee_type_iff_fee'),
    sa.CheckConstraint("fee_type IS NULL OR fee_type IN ('compliance', 'enforcement', 'sale', 'storage')", name='fee_type_allowed'),
    sa.CheckConstraint("kind IN ('debt', 'fee', 'payment', 'refund', 'fee_cancellation', 'adjustment')", name='kind_allowed'),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ledger_entry_case_at', 'ledger_entry', ['case_id', 'at'], unique=False)
    op.create_index('uq_ledger_entry_reference', 'ledger_entry', ['case_id', 'kind', 'reference'], unique=True, postgresql_where='reference IS NOT NULL')
    op.execute("CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry "
               "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()")
    op.add_column('address', sa.Column('sensitive', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('address', sa.Column('sensitive_note', sa.Text(), nullable=True))
    op.add_column('address', sa.Column('sensitive_cleared_by', sa.String(length=100), nullable=True))
    op.add_column('address', sa.Column('sensitive_cleared_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('buyer', sa.Column('policy_name', sa.String(length=64), server_default='ccs_default', nullable=False))
    op.add_column('enforcement_case', sa.Column('sale_stage_on', sa.Date(), nullable=True))
    op.add_column('enforcement_case', sa.Column('under_arrangement', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('enforcement_case', sa.Column('arrangement_since', sa.Date(), nullable=True))
    op.add_column('enforcement_case', sa.Column('removal_permission', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('enforcement_case', sa.Column('return_requested_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('enforcement_case', sa.Column('return_reason', sa.Text(), nullable=True))
    op.add_column('enforcement_case', sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('enforcement_case', sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('enforcement_case', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('enforcement_case', sa.Column('anpr_eligible_from', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('enforcement_case', 'anpr_eligible_from')
    op.drop_column('enforcement_case', 'closed_at')
    op.drop_column('enforcement_case', 'paid_at')
    op.drop_column('enforcement_case', 'returned_at')
    op.drop_column('enforcement_case', 'return_reason')
    op.drop_column('enforcement_case', 'return_requested_at')
    op.drop_column('enforcement_case', 'removal_permission')
    op.drop_column('enforcement_case', 'arrangement_since')
    op.drop_column('enforcement_case', 'under_arrangement')
    op.drop_column('enforcement_case', 'sale_stage_on')
    op.drop_column('buyer', 'policy_name')
    op.drop_column('address', 'sensitive_cleared_at')
    op.drop_column('address', 'sensitive_cleared_by')
    op.drop_column('address', 'sensitive_note')
    op.drop_column('address', 'sensitive')
    op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry")
    op.drop_index('uq_ledger_entry_reference', table_name='ledger_entry', postgresql_where='reference IS NOT NULL')
    op.drop_index('ix_ledger_entry_case_at', table_name='ledger_entry')
    op.drop_table('ledger_entry')
    op.drop_index('ix_visit_case_arrived', table_name='visit')
    op.drop_index('ix_visit_agent_arrived', table_name='visit')
    op.drop_geospatial_table('visit')
    op.drop_table('visit_policy')
