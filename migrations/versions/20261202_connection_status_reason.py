"""connection status reason and refresh-token expiry

Revision ID: 7d16a9e2c4b1
Revises: b996948307d1
Create Date: 2026-12-02 05:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = '7d16a9e2c4b1'
down_revision = 'b996948307d1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # status_reason: why a connection is revoked or paused, in words the runner can act on.
    # refresh_expires_at: Garmin's refresh_token_expires_in (~90 days), so a job refreshes ahead.
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('refresh_expires_at', service.models.base.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('refresh_expires_at')
        batch_op.drop_column('status_reason')
