"""core tables

Revision ID: 85af15e7474c
Revises: 
Create Date: 2026-11-21 18:23:07.669498
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import service.models.base

revision = '85af15e7474c'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('athletes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('preferences', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('thresholds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note_writeback', sa.Boolean(), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_athletes')),
    sa.UniqueConstraint('email', name=op.f('uq_athletes_email')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_athletes_token_hash'))
    )
    op.create_table('inbound_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_inbound_events_dedupe_key'))
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_events_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('connections',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_user_id', sa.String(length=64), nullable=False),
    sa.Column('access_token_enc', sa.Text(), nullable=True),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('expires_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_connections_athlete_id_athletes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections')),
    sa.UniqueConstraint('athlete_id', 'provider', name=op.f('uq_connections_athlete_id_provider')),
    sa.UniqueConstraint('provider', 'provider_user_id', name=op.f('uq_connections_provider_provider_user_id'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_athlete_id'), ['athlete_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=True),
    sa.Column('target', sa.String(length=100), nullable=True),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_deliveries_athlete_id_athletes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_deliveries_dedupe_key'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_athlete_id'), ['athlete_id'], unique=False)
        batch_op.create_index('ix_deliveries_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('raw_files',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_raw_files_athlete_id_athletes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_files')),
    sa.UniqueConstraint('athlete_id', 'sha256', name=op.f('uq_raw_files_athlete_id_sha256'))
    )
    op.create_table('activities',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('provider_activity_id', sa.String(length=64), nullable=True),
    sa.Column('raw_file_id', sa.String(length=40), nullable=True),
    sa.Column('leg', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.Column('start_time', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sport', sa.String(length=40), nullable=True),
    sa.Column('sub_sport', sa.String(length=40), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('moving_time_s', sa.Float(), nullable=False),
    sa.Column('indoor', sa.Boolean(), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('gear_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', service.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_activities_athlete_id_athletes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raw_file_id'], ['raw_files.id'], name=op.f('fk_activities_raw_file_id_raw_files'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('source', 'provider_activity_id', name=op.f('uq_activities_source_provider_activity_id'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_athlete_start', ['athlete_id', 'start_time'], unique=False)

    op.create_table('delivery_attempts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('attempted_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('response_code', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('response_snippet', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_attempts_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempts_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('athlete_id', sa.String(length=40), nullable=False),
    sa.Column('activity_id', sa.String(length=40), nullable=True),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', service.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_findings_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], name=op.f('fk_findings_athlete_id_athletes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    sa.UniqueConstraint('athlete_id', 'rule', 'date', 'subject', name=op.f('uq_findings_athlete_id_rule_date_subject'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_findings_athlete_date', ['athlete_id', 'date'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_athlete_date')
        batch_op.drop_index(batch_op.f('ix_findings_activity_id'))

    op.drop_table('findings')
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempts_delivery_id'))

    op.drop_table('delivery_attempts')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_athlete_start')

    op.drop_table('activities')
    op.drop_table('raw_files')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_next')
        batch_op.drop_index(batch_op.f('ix_deliveries_athlete_id'))

    op.drop_table('deliveries')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connections_athlete_id'))

    op.drop_table('connections')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_status_next')

    op.drop_table('inbound_events')
    op.drop_table('athletes')
    
