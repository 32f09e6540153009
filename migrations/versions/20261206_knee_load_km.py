"""knee load per activity: knee-equivalent kilometres (docs/knee-load.md)

Revision ID: c4d2a8e61f37
Revises: 9b3e5f7a1c20
Create Date: 2026-12-06 13:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c4d2a8e61f37'
down_revision = '9b3e5f7a1c20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL until the run is analysed (again): the engine then weighs it from its metrics, or from
    # distance and elevation loss when those metrics predate knee load (low confidence).
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('knee_load_km', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('knee_load_km')
