"""integrators, per-integrator consent and references, withdrawn findings

Revision ID: 3c7a2e9f4b18
Revises: c4d2a8e61f37
Create Date: 2026-12-06 13:40:00

Existing data (docs/decisions.md, "Per-integrator consent"): every integrator key becomes one
integrator (keys with the same name are one integrator); its endpoints follow it. A runner whose
single `integrators` switch was on consented to every integrator on the deployment at that time:
they get a grant of every scope (findings, distance, descent) for each integrator that exists
now, and no grant for integrators added later. The switch is then removed from preferences.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

import service.models.base

revision = '3c7a2e9f4b18'
down_revision = 'c4d2a8e61f37'
branch_labels = None
depends_on = None

ALL_SCOPES = ["descent", "distance", "findings"]
UTC_DT = service.models.base.UTCDateTime(timezone=True)
JSON = service.models.base.JSONType
GRANTS = sa.table('integrator_grants', sa.column('id'), sa.column('athlete_id'),
                  sa.column('integrator_id'), sa.column('scopes', JSON),
                  sa.column('consented_at', UTC_DT), sa.column('updated_at', UTC_DT))
ATHLETES = sa.table('athletes', sa.column('id'), sa.column('preferences', JSON))


def upgrade() -> None:
    op.create_table(
        'integrators',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrators')))
    op.create_table(
        'integrator_grants',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('athlete_id', sa.String(length=40), nullable=False),
        sa.Column('integrator_id', sa.String(length=40), nullable=False),
        sa.Column('scopes', JSON, nullable=False),
        sa.Column('ref', sa.String(length=200), nullable=True),
        sa.Column('consented_at', UTC_DT, nullable=True),
        sa.Column('updated_at', UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], ondelete='CASCADE',
                                name=op.f('fk_integrator_grants_athlete_id_athletes')),
        sa.ForeignKeyConstraint(['integrator_id'], ['integrators.id'], ondelete='CASCADE',
                                name=op.f('fk_integrator_grants_integrator_id_integrators')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrator_grants')),
        sa.UniqueConstraint('athlete_id', 'integrator_id',
                            name=op.f('uq_integrator_grants_athlete_id_integrator_id')))
    op.create_index('ix_integrator_grants_athlete_id', 'integrator_grants', ['athlete_id'])
    op.create_index('ix_integrator_grants_integrator_id', 'integrator_grants', ['integrator_id'])
    op.create_table(
        'withdrawn_findings',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('athlete_id', sa.String(length=40), nullable=False),
        sa.Column('activity_id', sa.String(length=40), nullable=True),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('sources', JSON, nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('withdrawn_at', UTC_DT, nullable=False),
        sa.ForeignKeyConstraint(['athlete_id'], ['athletes.id'], ondelete='CASCADE',
                                name=op.f('fk_withdrawn_findings_athlete_id_athletes')),
        sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], ondelete='CASCADE',
                                name=op.f('fk_withdrawn_findings_activity_id_activities')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawn_findings')))
    op.create_index('ix_withdrawn_findings_athlete_id', 'withdrawn_findings', ['athlete_id'])
    op.create_index('ix_withdrawn_findings_activity_id', 'withdrawn_findings', ['activity_id'])
    for table in ('api_keys', 'endpoints'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('integrator_id', sa.String(length=40), nullable=True))
            batch_op.create_index(f'ix_{table}_integrator_id', ['integrator_id'])
            batch_op.create_foreign_key(f'fk_{table}_integrator_id_integrators', 'integrators',
                                        ['integrator_id'], ['id'], ondelete='CASCADE')
    _carry_over(op.get_bind())


def _carry_over(bind) -> None:
    now = service.models.base.utcnow()
    by_name: dict[str, str] = {}
    keys = bind.execute(sa.text("SELECT id, name FROM api_keys WHERE kind = 'integrator' "
                                "ORDER BY created_at")).all()
    for key_id, name in keys:
        label = name or key_id
        if label not in by_name:
            by_name[label] = service.models.base.new_id("int")
            bind.execute(sa.text("INSERT INTO integrators (id, name, created_at) "
                                 "VALUES (:i, :n, :c)").bindparams(sa.bindparam("c", type_=UTC_DT)),
                         {"i": by_name[label], "n": label, "c": now})
        params = {"i": by_name[label], "k": key_id}
        bind.execute(sa.text("UPDATE api_keys SET integrator_id = :i WHERE id = :k"), params)
        bind.execute(sa.text("UPDATE endpoints SET integrator_id = :i WHERE owner_key_id = :k "
                             "AND athlete_id IS NULL AND club_id IS NULL"), params)
    for athlete_id, prefs in bind.execute(sa.select(ATHLETES.c.id, ATHLETES.c.preferences)).all():
        prefs = json.loads(prefs) if isinstance(prefs, str) else dict(prefs or {})
        if "integrators" not in prefs:
            continue
        if prefs.pop("integrators"):
            for integrator_id in by_name.values():
                bind.execute(sa.insert(GRANTS).values(
                    id=service.models.base.new_id("grt"), athlete_id=athlete_id,
                    integrator_id=integrator_id, scopes=ALL_SCOPES, consented_at=now,
                    updated_at=now))
        bind.execute(sa.update(ATHLETES).where(ATHLETES.c.id == athlete_id).values(
            preferences=prefs))


def downgrade() -> None:
    for table in ('endpoints', 'api_keys'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_integrator_id_integrators', type_='foreignkey')
            batch_op.drop_index(f'ix_{table}_integrator_id')
            batch_op.drop_column('integrator_id')
    op.drop_table('withdrawn_findings')
    op.drop_table('integrator_grants')
    op.drop_table('integrators')
