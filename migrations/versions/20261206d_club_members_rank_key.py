"""club members carry their ranking key; triggers mark it due when its inputs change

Revision ID: 7e4b1d9c2a58
Revises: 3c7d2e9f4a61
Create Date: 2026-12-06 16:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.rank_triggers import create_triggers, drop_triggers

revision = '7e4b1d9c2a58'
down_revision = '3c7d2e9f4a61'
branch_labels = None
depends_on = None

SHARING = sa.text("withdrawn_at IS NULL AND consented_at IS NOT NULL")


def upgrade() -> None:
    name_type = sa.String().with_variant(sa.String(collation="C"), "postgresql")
    # Plain ADD COLUMNs (no batch copy on SQLite): a copy would drop the tables' triggers.
    # Negated level and count: every column of the index ascends (SQLite's autogenerate cannot
    # compare DESC index columns, so a DESC index would never match the models).
    op.add_column('club_members', sa.Column('rank_minus_level', sa.SmallInteger(), nullable=False,
                                            server_default='0'))
    op.add_column('club_members', sa.Column('rank_minus_findings', sa.Integer(), nullable=False,
                                            server_default='0'))
    op.add_column('club_members', sa.Column('rank_name', name_type, nullable=False,
                                            server_default=''))
    # Every existing row is due: the first dashboard read of each club computes its keys.
    op.add_column('club_members', sa.Column('rank_due_on', sa.Date(), nullable=True,
                                            server_default=sa.text("'1970-01-01'")))
    op.add_column('club_members', sa.Column('rank_marks', sa.Integer(), nullable=False,
                                            server_default='0'))
    op.create_index('ix_club_members_rank', 'club_members',
                    ['club_id', 'rank_minus_level', 'rank_minus_findings', 'rank_name',
                     'athlete_id'], postgresql_where=SHARING, sqlite_where=SHARING)
    op.create_index('ix_club_members_rank_due', 'club_members', ['club_id', 'rank_due_on'])
    create_triggers(op.get_bind())


def downgrade() -> None:
    drop_triggers(op.get_bind())
    op.drop_index('ix_club_members_rank_due', table_name='club_members')
    op.drop_index('ix_club_members_rank', table_name='club_members')
    with op.batch_alter_table('club_members', schema=None) as batch_op:
        for column in ('rank_marks', 'rank_due_on', 'rank_name', 'rank_minus_findings',
                       'rank_minus_level'):
            batch_op.drop_column(column)
