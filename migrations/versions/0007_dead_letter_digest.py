"""idempotent dead letters: gps_dead_letter.digest

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:10:00

- gps_dead_letter.digest: sha256 of the topic, the rejected payload and the kind of fault, joined by NUL
  bytes (tracking.store.letter_digest). A message the broker redelivers (DUP flag) or a batch whose
  commit is retried adds no letter whose digest is already there, so a crash between the commit and
  the acknowledgement does not dead-letter a message twice. Not unique: a phone that sends the same
  bad payload again, as a new message, is dead-lettered again. Existing letters get theirs from their
  reason, which starts with the kind ("<kind>: <detail>").
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('gps_dead_letter', sa.Column('digest', sa.LargeBinary(), nullable=True))
    op.execute("UPDATE gps_dead_letter SET digest = sha256(convert_to(topic, 'UTF8') || '\\x00'::bytea || payload "
               "|| '\\x00'::bytea || convert_to(split_part(reason, ': ', 1), 'UTF8'))")
    op.alter_column('gps_dead_letter', 'digest', nullable=False)
    op.create_index('ix_gps_dead_letter_digest', 'gps_dead_letter', ['digest'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_gps_dead_letter_digest', table_name='gps_dead_letter')
    op.drop_column('gps_dead_letter', 'digest')
