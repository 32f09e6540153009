"""activity loss column

Revision ID: e12ccfba5eac
Revises: 2cb1fe63f710
Create Date: 2026-11-21 18:55:45.705727
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


import service.models.base

revision = 'e12ccfba5eac'
down_revision = '2cb1fe63f710'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('loss_m', sa.Float(), nullable=True))
    _backfill_loss()


def _backfill_loss() -> None:
    """Copy each stored run's elevation loss out of its metrics JSON (portable: done in Python)."""
    import json

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, metrics FROM activities WHERE metrics IS NOT NULL")).all()
    for row_id, metrics in rows:
        data = json.loads(metrics) if isinstance(metrics, str) else metrics
        loss = ((data or {}).get("elevation") or {}).get("loss_m")
        if loss is not None:
            bind.execute(sa.text("UPDATE activities SET loss_m = :loss WHERE id = :id"),
                         {"loss": float(loss), "id": row_id})



def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('loss_m')

