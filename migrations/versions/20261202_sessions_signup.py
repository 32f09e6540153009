"""sessions, browser-bound OAuth state, sign-up by connect, display names, email confirmation,
dashboard privacy index

Revision ID: 5e1f0c2a9d15
Revises: 7d16a9e2c4b1
Create Date: 2026-12-02 05:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = '5e1f0c2a9d15'
down_revision = '7d16a9e2c4b1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('athletes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('pending_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('email_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_token_expires_at',
                                      service.models.base.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_unique_constraint('uq_athletes_email_token_hash', ['email_token_hash'])
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browser_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('return_to', sa.String(length=300), nullable=True))
    with op.batch_alter_table('club_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_name', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_id_private', ['id', 'private'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_id_private')
    with op.batch_alter_table('club_members', schema=None) as batch_op:
        batch_op.drop_column('share_name')
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_column('return_to')
        batch_op.drop_column('browser_hash')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('athletes', schema=None) as batch_op:
        batch_op.drop_constraint('uq_athletes_email_token_hash', type_='unique')
        batch_op.drop_column('email_token_expires_at')
        batch_op.drop_column('email_token_hash')
        batch_op.drop_column('pending_email')
        batch_op.drop_column('session_version')
        batch_op.drop_column('display_name')
