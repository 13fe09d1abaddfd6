"""capacity: subcontractors' declarations of outside work, subcontractor users, tracked days, planned priorities

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:15:31

The monthly capacity report [000 §1.8] needs what the platform did not keep: each subcontractor's
caseload and agents for clients outside the platform (declared by the firm's own users, a new role
bound to one subcontractor as a buyer user is to one buyer); each agent's tracked working time per
day, kept after the fixes are pruned; and the priority every planned or dropped visit had, so that
the regional measures use the planner's own priority classes.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ROLES_BEFORE = "'admin', 'dispatcher', 'regional_manager', 'buyer', 'agent', 'device'"
ROLES_AFTER = "'admin', 'dispatcher', 'regional_manager', 'buyer', 'subcontractor', 'agent', 'device'"


def upgrade() -> None:
    op.create_table('capacity_declaration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subcontractor_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('itl1_cd', sa.String(length=3), nullable=False),
    sa.Column('outside_cases', sa.Integer(), nullable=False),
    sa.Column('outside_agents', sa.Integer(), nullable=False),
    sa.Column('declared_by', sa.String(length=100), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('extract(day from month) = 1', name='capacity_declaration_month_first_day'),
    sa.CheckConstraint('outside_cases >= 0 AND outside_agents >= 0', name='capacity_declaration_non_negative'),
    sa.ForeignKeyConstraint(['subcontractor_id'], ['subcontractor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subcontractor_id', 'month', 'itl1_cd', name='uq_capacity_declaration')
    )
    op.create_index(op.f('ix_capacity_declaration_subcontractor_id'), 'capacity_declaration', ['subcontractor_id'], unique=False)
    op.create_table('tracked_day',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('first_fix_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_fix_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tracked_s', sa.Integer(), nullable=False),
    sa.Column('fix_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ),
    sa.PrimaryKeyConstraint('agent_id', 'day')
    )
    op.add_column('app_user', sa.Column('subcontractor_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_app_user_subcontractor_id'), 'app_user', ['subcontractor_id'], unique=False)
    op.create_foreign_key('app_user_subcontractor_id_fkey', 'app_user', 'subcontractor', ['subcontractor_id'], ['id'])
    op.drop_constraint('role_allowed', 'app_user', type_='check')
    op.create_check_constraint('role_allowed', 'app_user', f"role IN ({ROLES_AFTER})")
    op.create_check_constraint('subcontractor_scope_iff_subcontractor_role', 'app_user',
                               "CASE WHEN role = 'subcontractor' THEN subcontractor_id IS NOT NULL OR NOT active "
                               "ELSE subcontractor_id IS NULL END")
    op.add_column('plan_dropped', sa.Column('priority', sa.SmallInteger(), nullable=True))
    op.add_column('plan_visit', sa.Column('priority', sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('plan_visit', 'priority')
    op.drop_column('plan_dropped', 'priority')
    op.drop_constraint('subcontractor_scope_iff_subcontractor_role', 'app_user', type_='check')
    op.drop_constraint('role_allowed', 'app_user', type_='check')
    op.execute("DELETE FROM app_user WHERE role = 'subcontractor'")
    op.create_check_constraint('role_allowed', 'app_user', f"role IN ({ROLES_BEFORE})")
    op.drop_constraint('app_user_subcontractor_id_fkey', 'app_user', type_='foreignkey')
    op.drop_index(op.f('ix_app_user_subcontractor_id'), table_name='app_user')
    op.drop_column('app_user', 'subcontractor_id')
    op.drop_table('tracked_day')
    op.drop_index(op.f('ix_capacity_declaration_subcontractor_id'), table_name='capacity_declaration')
    op.drop_table('capacity_declaration')
