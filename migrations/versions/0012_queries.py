"""queries: customer queries between buyers, the supplier and subcontractors, with their attachments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 01:55:04

The buyer portal's two-way queries [000 §1.126–1.127]: each buyer's query types and escalation
categories, the queries on its cases with their status and allocated caseworker, the thread, the
history of every status and allocation change, and attachments, whose content lives on disk under its
SHA-256 (``stored_file``: size and the type detected from the content). The thread, the history and
the attachments are append-only, with the audit tables' trigger function (0001) [R-CASE-AUDIT].
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

APPEND_ONLY = ("customer_query_message", "customer_query_change", "customer_query_attachment")


def upgrade() -> None:
    op.create_table('stored_file',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name='stored_file_sha256_hex'),
    sa.CheckConstraint('size_bytes > 0', name='stored_file_not_empty'),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('query_escalation_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('position', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('buyer_id', 'code', name='uq_query_escalation_category_buyer_code')
    )
    op.create_table('query_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('position', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('buyer_id', 'code', name='uq_query_type_buyer_code')
    )
    op.create_table('customer_query',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('allocated_to_id', sa.Integer(), nullable=False),
    sa.Column('escalation_category_id', sa.Integer(), nullable=True),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name='customer_query_closed_iff_closed_at'),
    sa.CheckConstraint("(status = 'escalated') = (escalation_category_id IS NOT NULL)", name='customer_query_escalated_iff_category'),
    sa.CheckConstraint("status IN ('open', 'awaiting_buyer', 'awaiting_supplier', 'escalated', 'closed')", name='status_allowed'),
    sa.CheckConstraint('char_length(text) BETWEEN 1 AND 10000', name='customer_query_text_length'),
    sa.ForeignKeyConstraint(['allocated_to_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['buyer_id'], ['buyer.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['enforcement_case.id'], ),
    sa.ForeignKeyConstraint(['escalation_category_id'], ['query_escalation_category.id'], ),
    sa.ForeignKeyConstraint(['raised_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['type_id'], ['query_type.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_customer_query_allocated_to_id'), 'customer_query', ['allocated_to_id'], unique=False)
    op.create_index('ix_customer_query_buyer_raised', 'customer_query', ['buyer_id', 'raised_at'], unique=False)
    op.create_index('ix_customer_query_buyer_status', 'customer_query', ['buyer_id', 'status'], unique=False)
    op.create_index(op.f('ix_customer_query_case_id'), 'customer_query', ['case_id'], unique=False)
    op.create_index(op.f('ix_customer_query_type_id'), 'customer_query', ['type_id'], unique=False)
    op.create_table('customer_query_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['query_id'], ['customer_query.id'], ),
    sa.ForeignKeyConstraint(['sha256'], ['stored_file.sha256'], ),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_customer_query_attachment_query_id'), 'customer_query_attachment', ['query_id'], unique=False)
    op.create_index(op.f('ix_customer_query_attachment_sha256'), 'customer_query_attachment', ['sha256'], unique=False)
    op.create_table('customer_query_change',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('query_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('allocated_to_id', sa.Integer(), nullable=False),
    sa.Column('escalation_category_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('raised', 'message', 'status', 'allocated')", name='kind_allowed'),
    sa.CheckConstraint("status IN ('open', 'awaiting_buyer', 'awaiting_supplier', 'escalated', 'closed')", name='status_allowed'),
    sa.ForeignKeyConstraint(['allocated_to_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['escalation_category_id'], ['query_escalation_category.id'], ),
    sa.ForeignKeyConstraint(['query_id'], ['customer_query.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_customer_query_change_query_at', 'customer_query_change', ['query_id', 'at'], unique=False)
    op.create_table('customer_query_message',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('query_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('char_length(body) BETWEEN 1 AND 10000', name='customer_query_message_length'),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['query_id'], ['customer_query.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_customer_query_message_query_at', 'customer_query_message', ['query_id', 'at'], unique=False)
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()")


def downgrade() -> None:
    # The append-only triggers go with their tables; the files on disk stay (they are not schema).
    op.drop_index('ix_customer_query_message_query_at', table_name='customer_query_message')
    op.drop_table('customer_query_message')
    op.drop_index('ix_customer_query_change_query_at', table_name='customer_query_change')
    op.drop_table('customer_query_change')
    op.drop_index(op.f('ix_customer_query_attachment_sha256'), table_name='customer_query_attachment')
    op.drop_index(op.f('ix_customer_query_attachment_query_id'), table_name='customer_query_attachment')
    op.drop_table('customer_query_attachment')
    op.drop_index(op.f('ix_customer_query_type_id'), table_name='customer_query')
    op.drop_index(op.f('ix_customer_query_case_id'), table_name='customer_query')
    op.drop_index('ix_customer_query_buyer_status', table_name='customer_query')
    op.drop_index('ix_customer_query_buyer_raised', table_name='customer_query')
    op.drop_index(op.f('ix_customer_query_allocated_to_id'), table_name='customer_query')
    op.drop_table('customer_query')
    op.drop_table('query_type')
    op.drop_table('query_escalation_category')
    op.drop_table('stored_file')
