"""weekly covering index

Revision ID: b996948307d1
Revises: e12ccfba5eac
Create Date: 2026-11-21 18:59:11.509131
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


import service.models.base

revision = 'b996948307d1'
down_revision = 'e12ccfba5eac'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_weekly', ['start_time', 'athlete_id', 'sport', 'private', 'source', 'indoor', 'manual', 'distance_m', 'loss_m'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_weekly')

