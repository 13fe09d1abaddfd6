"""visit evidence per case: unique on (device_id, arrival, case_id)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:40:00

Several planned cases at one address point (flats in one block, warrants geocoded to one postcode
centroid) may each be given the whole span of one stop when the phone cannot tell their visits apart
(``tracking.shared_door``): those rows share device and arrival, so the case joins the key.
"""
from __future__ import annotations

from alembic import op

revision = '0008'
# 0007 (the dead-letter change) is on another branch; at merge this becomes '0007'.
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint('uq_visit_evidence_device_arrival', 'visit_evidence', type_='unique')
    op.create_unique_constraint('uq_visit_evidence_device_arrival_case', 'visit_evidence',
                                ['device_id', 'arrival', 'case_id'])


def downgrade() -> None:
    # Rows sharing a stop's span would break the narrower key: keep the lowest case id of each.
    op.execute("DELETE FROM visit_evidence v USING visit_evidence w "
               "WHERE v.device_id = w.device_id AND v.arrival = w.arrival AND v.case_id > w.case_id")
    op.drop_constraint('uq_visit_evidence_device_arrival_case', 'visit_evidence', type_='unique')
    op.create_unique_constraint('uq_visit_evidence_device_arrival', 'visit_evidence', ['device_id', 'arrival'])
