import { auditMigrations } from './admin/auditLog.ts';
import { eventStoreMigrations } from './eventstore/storeSchema.ts';
import type { Migration } from './eventstore/migrations.ts';
import { idempotencyKeyMigrations } from './ingest/app/idempotencyKeys.ts';
import { inboxMigrations } from './ingest/inbox.ts';
import { kafkaProgressMigrations } from './projector/kafkaProgress.ts';
import { projectorMigrations } from './projector/projectorSchema.ts';
import { relayMigrations } from './relay/relaySchema.ts';
import { correlationMigrations } from './telemetry/correlationSchema.ts';

// Every table the service owns, in one list, so `ledger serve`, the tests and the readiness
// check agree on what "migrations current" means. SQL stays beside the code that owns it.
export const allMigrations: Migration[] = [...eventStoreMigrations, ...inboxMigrations, ...idempotencyKeyMigrations, ...projectorMigrations, ...relayMigrations, ...kafkaProgressMigrations, ...auditMigrations, ...correlationMigrations];
