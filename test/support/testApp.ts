import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { LedgerAccess } from '../../services/cli/ledgerAccess.ts';
import { loadConfig, type LedgerConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';
import type { Projector } from '../../services/projector/projector.ts';
import { createProjector } from '../../services/projector/readModelRunners.ts';
import { dropSchemaOf, type DatabaseTarget } from './databases.ts';

// Known test secrets: tests sign deliveries with these, exactly as the providers would.
export const TEST_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  STRIPE_WEBHOOK_SECRET: 'whsec_test_current,whsec_test_previous',
  HUBSPOT_CLIENT_SECRET: 'hubspot-test-client-secret',
  ZENDESK_WEBHOOK_SECRET: 'zendesk-test-signing-secret',
  LEDGER_API_KEYS: 'key-app:app,key-read:read,key-viewer:viewer,key-support:support,key-admin:admin,key-all:app+read+viewer+support+admin',
  LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
  LEDGER_RATE_LIMIT_CRM_PER_SECOND: '0',
  LEDGER_RATE_LIMIT_SUPPORT_PER_SECOND: '0',
  LEDGER_RATE_LIMIT_APP_PER_SECOND: '0',
} as const;

export const STRIPE_TEST_SECRET = 'whsec_test_current';

export interface TestApp {
  app: FastifyInstance;
  db: LedgerDatabase;
  config: LedgerConfig;
  // Not started: a test calls projector.catchUp(), or start() for live behaviour (long-polls).
  projector: Projector;
  close(): Promise<void>;
}

export async function startTestApp(
  target: DatabaseTarget,
  options: { env?: Record<string, string>; now?: () => Date; logger?: FastifyBaseLogger } = {},
): Promise<TestApp> {
  const db = await target.open();
  const config = loadConfig({ ...TEST_ENV, ...options.env });
  const projector = createProjector(db, config);
  const app = buildApp({ db, config, projector, ...(options.now ? { now: options.now } : {}), ...(options.logger ? { logger: options.logger } : {}) });
  await app.ready();
  return {
    app,
    db,
    config,
    projector,
    async close() {
      await app.close();
      await projector.stop();
      await dropSchemaOf(db);
      await db.close();
    },
  };
}

// The CLI's in-process access to a test app's store (the app owns the store: closing it is the app's).
export const directAccessOf = (t: TestApp): LedgerAccess => ({ kind: 'direct', db: t.db, config: t.config, close: async () => {} });
