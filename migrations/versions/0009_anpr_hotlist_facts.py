"""ANPR hotlist facts: hire or lease vehicles, and ownership changed after a warrant's contravention

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00

R-ANPR-DELETE names two reasons the model could not record: the vehicle belongs to a hire or lease
company (a fact of the vehicle), and its ownership changed after the contravention (a fact of one
warrant's link to the vehicle: the same car may still be the debtor's for a later warrant).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('vehicle', sa.Column('hire_or_lease', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('case_vehicle', sa.Column('ownership_changed', sa.Boolean(), server_default='false',
                                            nullable=False))


def downgrade() -> None:
    op.drop_column('case_vehicle', 'ownership_changed')
    op.drop_column('vehicle', 'hire_or_lease')
