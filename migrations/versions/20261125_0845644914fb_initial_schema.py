"""initial schema

Revision ID: 0845644914fb
Revises: 
Create Date: 2026-11-25 12:52:12.664933
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0845644914fb'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS core")
    op.create_table('alert_outbox',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('recipients', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("state IN ('pending','sent','logged','failed')", name=op.f('ck_alert_outbox_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_outbox'))
    )
    op.create_index('ix_alert_outbox_dedupe', 'alert_outbox', ['company_id', 'kind', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_alert_outbox_due', 'alert_outbox', ['state', 'next_attempt_at'], unique=False)
    op.create_table('companies',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('admin_email', sa.String(length=320), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies')),
    schema='core'
    )
    op.create_table('csv_exports',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('storage_key', sa.Text(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csv_exports'))
    )
    op.create_index(op.f('ix_csv_exports_company_id'), 'csv_exports', ['company_id'], unique=False)
    op.create_table('dry_runs',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('profile_id', sa.UUID(), nullable=False),
    sa.Column('profile_revision', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('timecards_checked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('results', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('error_summary', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dry_runs'))
    )
    op.create_index(op.f('ix_dry_runs_company_id'), 'dry_runs', ['company_id'], unique=False)
    op.create_table('mapping_profiles',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('cost_code_field', sa.String(length=20), server_default='ServiceItem', nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("cost_code_field IN ('Class','ServiceItem')", name=op.f('ck_mapping_profiles_cost_code_field')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mapping_profiles')),
    sa.UniqueConstraint('company_id', 'name', name='uq_mapping_profiles_company_name')
    )
    op.create_index(op.f('ix_mapping_profiles_company_id'), 'mapping_profiles', ['company_id'], unique=False)
    op.create_index('uq_mapping_profiles_one_active', 'mapping_profiles', ['company_id'], unique=True, postgresql_where=sa.text('active'))
    op.create_table('qbo_directory_records',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('qbo_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('orphaned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('parent_qbo_id', sa.String(length=64), nullable=True),
    sa.Column('item_type', sa.String(length=30), nullable=True),
    sa.Column('qbo_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("entity_type IN ('Employee','Customer','Item','Class','Department')", name=op.f('ck_qbo_directory_records_entity_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qbo_directory_records')),
    sa.UniqueConstraint('company_id', 'entity_type', 'qbo_id', name='uq_qbo_directory_records_key')
    )
    op.create_index(op.f('ix_qbo_directory_records_company_id'), 'qbo_directory_records', ['company_id'], unique=False)
    op.create_table('setup_checklists',
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('directory_imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mapping_saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dry_run_passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('live_sync_enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_timecard_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alerts_sent', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('company_id', name=op.f('pk_setup_checklists'))
    )
    op.create_table('timecard_sync_records',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('timecard_id', sa.UUID(), nullable=False),
    sa.Column('operation', sa.String(length=10), server_default='create', nullable=False),
    sa.Column('state', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('timecard_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('synced_version', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('qbo_id', sa.String(length=64), nullable=True),
    sa.Column('qbo_sync_token', sa.String(length=32), nullable=True),
    sa.Column('request_id', sa.String(length=50), nullable=True),
    sa.Column('error_kind', sa.String(length=30), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_code', sa.String(length=30), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_job_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("operation IN ('create','update','delete','none')", name=op.f('ck_timecard_sync_records_operation')),
    sa.CheckConstraint("state IN ('pending','in_flight','synced','failed','dead')", name=op.f('ck_timecard_sync_records_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timecard_sync_records')),
    sa.UniqueConstraint('timecard_id', name=op.f('uq_timecard_sync_records_timecard_id'))
    )
    op.create_index('ix_tsr_due', 'timecard_sync_records', ['company_id', 'state', 'next_attempt_at'], unique=False)
    op.create_index('ix_tsr_state', 'timecard_sync_records', ['state'], unique=False)
    op.create_table('cost_codes',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['core.companies.id'], name=op.f('fk_cost_codes_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_codes')),
    schema='core'
    )
    op.create_index(op.f('ix_core_cost_codes_company_id'), 'cost_codes', ['company_id'], unique=False, schema='core')
    op.create_table('projects',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active','archived')", name=op.f('ck_projects_status')),
    sa.ForeignKeyConstraint(['company_id'], ['core.companies.id'], name=op.f('fk_projects_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    schema='core'
    )
    op.create_index(op.f('ix_core_projects_company_id'), 'projects', ['company_id'], unique=False, schema='core')
    op.create_table('users',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('role', sa.String(length=20), server_default='field_worker', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('external_ids', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('admin','supervisor','field_worker')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['company_id'], ['core.companies.id'], name=op.f('fk_users_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    schema='core'
    )
    op.create_index(op.f('ix_core_users_company_id'), 'users', ['company_id'], unique=False, schema='core')
    op.create_table('integrations',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('type', sa.String(length=50), server_default='quickbooks', nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=50), server_default='pending', nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('realm_id', sa.String(length=64), nullable=True),
    sa.Column('qbo_company_name', sa.String(length=300), nullable=True),
    sa.Column('connection_status', sa.String(length=20), server_default='never_connected', nullable=False),
    sa.Column('connection_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connection_reason', sa.Text(), nullable=True),
    sa.Column('connected_by', sa.String(length=200), nullable=True),
    sa.Column('access_token_enc', sa.Text(), nullable=True),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('access_token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_test_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_test_ok', sa.Boolean(), nullable=True),
    sa.Column('sync_start_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("connection_status IN ('never_connected','connected','disconnected','lost')", name=op.f('ck_integrations_connection_status')),
    sa.CheckConstraint("status IN ('pending','healthy','degraded','failed')", name=op.f('ck_integrations_status')),
    sa.CheckConstraint("type = 'quickbooks'", name=op.f('ck_integrations_type')),
    sa.ForeignKeyConstraint(['company_id'], ['core.companies.id'], name=op.f('fk_integrations_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('company_id', 'type', name='uq_integrations_company_id_type')
    )
    op.create_index('uq_integrations_connected_realm', 'integrations', ['realm_id'], unique=True, postgresql_where=sa.text("connection_status = 'connected'"))
    op.create_table('oauth_states',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('user_sub', sa.String(length=200), nullable=False),
    sa.Column('code_verifier_enc', sa.Text(), nullable=True),
    sa.Column('return_to', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['core.companies.id'], name=op.f('fk_oauth_states_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oauth_states'))
    )
    op.create_table('timecards',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('worker_id', sa.UUID(), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('cost_code_id', sa.UUID(), nullable=True),
    sa.Column('clock_in', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clock_out', sa.DateTime(timezone=True), nullable=False),
    sa.Column('break_minutes', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total_hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('billable', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='draft', nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('sync_status', sa.String(length=20), server_default='not_synced', nullable=False),
    sa.Column('qbo_id', sa.Text(), nullable=True),
    sa.Column('qbo_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft','submitted','approved','rejected')", name=op.f('ck_timecards_status')),
    sa.CheckConstraint("sync_status IN ('not_synced','pending','synced','failed')", name=op.f('ck_timecards_sync_status')),
    sa.ForeignKeyConstraint(['company_id'], ['core.companies.id'], name=op.f('fk_timecards_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cost_code_id'], ['core.cost_codes.id'], name=op.f('fk_timecards_cost_code_id_cost_codes')),
    sa.ForeignKeyConstraint(['project_id'], ['core.projects.id'], name=op.f('fk_timecards_project_id_projects')),
    sa.ForeignKeyConstraint(['worker_id'], ['core.users.id'], name=op.f('fk_timecards_worker_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timecards')),
    schema='core'
    )
    op.create_index(op.f('ix_core_timecards_company_id'), 'timecards', ['company_id'], unique=False, schema='core')
    op.create_index('ix_core_timecards_company_status', 'timecards', ['company_id', 'status', 'approved_at'], unique=False, schema='core')
    op.create_table('integration_audit_log',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('timecard_id', sa.UUID(), nullable=True),
    sa.Column('worker_id', sa.UUID(), nullable=True),
    sa.Column('project_id', sa.UUID(), nullable=True),
    sa.Column('job_id', sa.UUID(), nullable=True),
    sa.Column('qbo_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('request_payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('response_payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('success','failure')", name=op.f('ck_integration_audit_log_status')),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_integration_audit_log_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_audit_log'))
    )
    op.create_index('ix_audit_log_company_created', 'integration_audit_log', ['company_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_audit_log_created', 'integration_audit_log', ['created_at'], unique=False)
    op.create_index('ix_audit_log_integration_id', 'integration_audit_log', ['integration_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_audit_log_timecard_id', 'integration_audit_log', ['timecard_id'], unique=False)
    op.create_table('sync_jobs',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('integration_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=30), server_default='timecards', nullable=False),
    sa.Column('trigger', sa.String(length=30), server_default='event', nullable=False),
    sa.Column('status', sa.String(length=50), server_default='pending', nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('timecards_total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('timecards_synced', sa.Integer(), server_default='0', nullable=False),
    sa.Column('timecards_failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('errors', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('results', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('qbo_calls', sa.Integer(), server_default='0', nullable=False),
    sa.Column('qbo_batches', sa.Integer(), server_default='0', nullable=False),
    sa.Column('qbo_retries', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('timecards','directory_import','dry_run')", name=op.f('ck_sync_jobs_kind')),
    sa.CheckConstraint("status IN ('pending','running','completed','failed')", name=op.f('ck_sync_jobs_status')),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], name=op.f('fk_sync_jobs_integration_id_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_jobs'))
    )
    op.create_index('ix_sync_jobs_company_created', 'sync_jobs', ['company_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_sync_jobs_integration_id', 'sync_jobs', ['integration_id'], unique=False)
    op.create_index('ix_sync_jobs_status', 'sync_jobs', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sync_jobs_status', table_name='sync_jobs')
    op.drop_index('ix_sync_jobs_integration_id', table_name='sync_jobs')
    op.drop_index('ix_sync_jobs_company_created', table_name='sync_jobs')
    op.drop_table('sync_jobs')
    op.drop_index('ix_audit_log_timecard_id', table_name='integration_audit_log')
    op.drop_index('ix_audit_log_integration_id', table_name='integration_audit_log')
    op.drop_index('ix_audit_log_created', table_name='integration_audit_log')
    op.drop_index('ix_audit_log_company_created', table_name='integration_audit_log')
    op.drop_table('integration_audit_log')
    op.drop_index('ix_core_timecards_company_status', table_name='timecards', schema='core')
    op.drop_index(op.f('ix_core_timecards_company_id'), table_name='timecards', schema='core')
    op.drop_table('timecards', schema='core')
    op.drop_table('oauth_states')
    op.drop_index('uq_integrations_connected_realm', table_name='integrations', postgresql_where=sa.text("connection_status = 'connected'"))
    op.drop_table('integrations')
    op.drop_index(op.f('ix_core_users_company_id'), table_name='users', schema='core')
    op.drop_table('users', schema='core')
    op.drop_index(op.f('ix_core_projects_company_id'), table_name='projects', schema='core')
    op.drop_table('projects', schema='core')
    op.drop_index(op.f('ix_core_cost_codes_company_id'), table_name='cost_codes', schema='core')
    op.drop_table('cost_codes', schema='core')
    op.drop_index('ix_tsr_state', table_name='timecard_sync_records')
    op.drop_index('ix_tsr_due', table_name='timecard_sync_records')
    op.drop_table('timecard_sync_records')
    op.drop_table('setup_checklists')
    op.drop_index(op.f('ix_qbo_directory_records_company_id'), table_name='qbo_directory_records')
    op.drop_table('qbo_directory_records')
    op.drop_index('uq_mapping_profiles_one_active', table_name='mapping_profiles', postgresql_where=sa.text('active'))
    op.drop_index(op.f('ix_mapping_profiles_company_id'), table_name='mapping_profiles')
    op.drop_table('mapping_profiles')
    op.drop_index(op.f('ix_dry_runs_company_id'), table_name='dry_runs')
    op.drop_table('dry_runs')
    op.drop_index(op.f('ix_csv_exports_company_id'), table_name='csv_exports')
    op.drop_table('csv_exports')
    op.drop_table('companies', schema='core')
    op.drop_index('ix_alert_outbox_due', table_name='alert_outbox')
    op.drop_index('ix_alert_outbox_dedupe', table_name='alert_outbox')
    op.drop_table('alert_outbox')
    op.execute("DROP SCHEMA IF EXISTS core CASCADE")
