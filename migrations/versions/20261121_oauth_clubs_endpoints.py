"""oauth clubs endpoints

Revision ID: 2cb1fe63f710
Revises: 85af15e7474c
Create Date: 2026-11-21 18:26:51.728610
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.models.base

revision = '2cb1fe63f710'
down_revision = '85af15e7474c'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('clubs',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clubs'))
    )
    op.create_table('oauth_states',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=True),
    sa.Column('code_verifier_enc', sa.Text(), nullable=True),
    sa.Column('options', sa.String(length=200), nullable=True),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oauth_states'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('club_id', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['club_id'], ['clubs.id'], name=op.f('fk_api_keys_club_id_clubs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_club_id'), ['club_id'], unique=False)

    op.create_table('club_invites',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('club_id', sa.String(length=40), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['club_id'], ['clubs.id'], name=op.f('fk_club_invites_club_id_clubs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_club_invites_token_hash'))
    )
    with op.batch_alter_table('club_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_club_invites_club_id'), ['club_id'], unique=False)

    op.create_table('club_members',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('club_id', sa.String(length=40), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('consent_scope', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('consented_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_club_members_athlete_id_athletes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['club_id'], ['clubs.id'], name=op.f('fk_club_members_club_id_clubs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_members')),
    sa.UniqueConstraint('club_id', 'athlete_id', name=op.f('uq_club_members_club_id_athlete_id'))
    )
    with op.batch_alter_table('club_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_club_members_athlete_id'), ['athlete_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_club_members_club_id'), ['club_id'], unique=False)

    op.create_table('endpoints',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.Column('event_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=True),
    sa.Column('club_id', sa.String(length=40), nullable=True),
    sa.Column('owner_key_id', sa.String(length=40), nullable=True),
    sa.Column('owner_email', sa.String(length=320), nullable=True),
    sa.Column('secret_enc', sa.Text(), nullable=False),
    sa.Column('previous_secret_enc', sa.Text(), nullable=True),
    sa.Column('previous_expires_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('disabled_reason', sa.String(length=300), nullable=True),
    sa.Column('failing_since', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_endpoints_athlete_id_athletes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['club_id'], ['clubs.id'], name=op.f('fk_endpoints_club_id_clubs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endpoints'))
    )
    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_endpoints_athlete_id'), ['athlete_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_endpoints_club_id'), ['club_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_endpoints_club_id'))
        batch_op.drop_index(batch_op.f('ix_endpoints_athlete_id'))

    op.drop_table('endpoints')
    with op.batch_alter_table('club_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_club_members_club_id'))
        batch_op.drop_index(batch_op.f('ix_club_members_athlete_id'))

    op.drop_table('club_members')
    with op.batch_alter_table('club_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_club_invites_club_id'))

    op.drop_table('club_invites')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_club_id'))

    op.drop_table('api_keys')
    op.drop_table('oauth_states')
    op.drop_table('clubs')

