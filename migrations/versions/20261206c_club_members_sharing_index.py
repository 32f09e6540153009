"""club members who share, by club and athlete: index-only counts and keyset pages

Revision ID: 3c7d2e9f4a61
Revises: 3c7a2e9f4b18
Create Date: 2026-12-06 14:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '3c7d2e9f4a61'
down_revision = '3c7a2e9f4b18'
branch_labels = None
depends_on = None

SHARING = sa.text("withdrawn_at IS NULL AND consented_at IS NOT NULL")


def upgrade() -> None:
    # Only the members who share (the rows every club read filters to): counting a club and
    # walking its pages in athlete id order read this index alone.
    op.create_index('ix_club_members_sharing', 'club_members', ['club_id', 'athlete_id'],
                    postgresql_where=SHARING, sqlite_where=SHARING)


def downgrade() -> None:
    op.drop_index('ix_club_members_sharing', table_name='club_members')
