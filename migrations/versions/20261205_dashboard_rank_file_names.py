"""findings by date (the club dashboard's ranking), the file each activity was read from

Revision ID: 9b3e5f7a1c20
Revises: 5e1f0c2a9d15
Create Date: 2026-12-05 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '9b3e5f7a1c20'
down_revision = '5e1f0c2a9d15'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_date', ['date'], unique=False)
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_name', sa.String(length=500), nullable=True))
    # Runs stored before this revision: the name of the raw file they came from, while it is kept
    # (an archive's own name for its members: the member name was not recorded then).
    op.execute("UPDATE activities SET file_name = (SELECT raw_files.filename FROM raw_files "
               "WHERE raw_files.id = activities.raw_file_id) WHERE raw_file_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('file_name')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_date')
