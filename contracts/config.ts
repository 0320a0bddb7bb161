import { z } from 'zod';

// The service's configuration contract: environment variables in, one typed config out.
// Messages never quote the received value, because several of these variables are secrets.

export const API_KEY_SCOPES = ['app', 'read', 'viewer', 'support', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export interface ApiKey {
  key: string;
  scopes: ApiKeyScope[];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const NODE_ENVS = ['development', 'test', 'production'] as const;

const boundedInteger = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be an integer between ${min} and ${max}` })
    .int({ error: `must be an integer between ${min} and ${max}` })
    .min(min, { error: `must be an integer between ${min} and ${max}` })
    .max(max, { error: `must be an integer between ${min} and ${max}` });
const integer = (min: number, max: number, fallback: number) => boundedInteger(min, max).default(fallback);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.enum(values, { error: `must be one of: ${values.join(', ')}` }).default(fallback);

const secret = z.string().min(1).optional();

const commaList = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

// What a client can send as `Authorization: Bearer <key>`, less the separators of this variable.
const PRESENTABLE_KEY = /^[\x21-\x3A\x3C-\x7E]+$/;

// `key:scope[+scope…]`, comma-separated. Entries are named by position, never by key.
const apiKeys = z
  .string()
  .optional()
  .transform((raw, ctx): ApiKey[] => {
    const keys: ApiKey[] = [];
    commaList(raw ?? '').forEach((entry, index) => {
      const at = `entry ${index + 1}`;
      const colon = entry.lastIndexOf(':');
      const key = colon > 0 ? entry.slice(0, colon) : '';
      const scopes = colon > 0 ? entry.slice(colon + 1).split('+') : [];
      const known = scopes.filter((s): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s));
      if (key.length === 0 || scopes.length === 0) {
        ctx.addIssue({ code: 'custom', message: `${at} must look like key:scope[+scope…]` });
      } else if (!PRESENTABLE_KEY.test(key)) {
        // `k1:read;k2:admin` (the separator of the plan tables) was taken as one key, `k1:read;k2`,
        // with the admin scope; a key with a space can never be presented as a Bearer token.
        ctx.addIssue({ code: 'custom', message: `${at}: a key is printable ASCII without spaces or ';' (separate entries with ',')` });
      } else if (known.length !== scopes.length) {
        ctx.addIssue({ code: 'custom', message: `${at} has an unknown scope (allowed: ${API_KEY_SCOPES.join(', ')})` });
      } else if (keys.some((k) => k.key === key)) {
        ctx.addIssue({ code: 'custom', message: `${at} repeats an earlier key` });
      } else {
        keys.push({ key, scopes: known });
      }
    });
    return keys;
  });

// `plan=value|value;plan=value`: owners or features keyed by plan (a Stripe price id or a
// nickname, any case; `default` for every other plan). Entries are named by position.
const planTable = (what: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): Record<string, string[]> => {
      const entries: [string, string[]][] = [];
      (raw ?? '')
        .split(';')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0)
        .forEach((entry, index) => {
          const at = `entry ${index + 1}`;
          const equals = entry.indexOf('=');
          const key = equals > 0 ? entry.slice(0, equals).trim().toLowerCase() : '';
          const values = equals > 0 ? entry.slice(equals + 1).split('|').map((v) => v.trim()).filter((v) => v.length > 0) : [];
          if (key.length === 0 || values.length === 0) {
            ctx.addIssue({ code: 'custom', message: `${at} must look like plan=${what}[|${what}…]` });
          } else if (entries.some(([known]) => known === key)) {
            ctx.addIssue({ code: 'custom', message: `${at} repeats an earlier plan` });
          } else {
            entries.push([key, values]);
          }
        });
      // fromEntries defines own keys, so a plan named `__proto__` cannot reach the prototype.
      return Object.fromEntries(entries);
    });

const databaseUrl = z
  .string()
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), {
    error: 'must be a postgres:// or postgresql:// URL',
  })
  .optional();

// Kafka's own limits for a topic name.
const kafkaTopic = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'must be 1-249 of A-Z a-z 0-9 . _ -' });

const kafkaBrokers = z
  .string()
  .optional()
  .transform((raw, ctx): string[] => {
    const brokers = commaList(raw ?? '');
    brokers.forEach((broker, index) => {
      if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) ctx.addIssue({ code: 'custom', message: `entry ${index + 1} must look like host:port` });
    });
    return brokers;
  });

// Stripe retries an unanswered delivery for three days; `ledger doctor` reads it too.
export const UNMATCHED_RETRY_HOURS_DEFAULT = 72;

const fields = z.object({
  PORT: integer(0, 65_535, 3000),
  // Loopback by default so a laptop never exposes an unauthenticated dev instance;
  // containers set HOST=0.0.0.0.
  HOST: z.string().min(1).default('127.0.0.1'),
  NODE_ENV: oneOf(NODE_ENVS, 'development'),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  DATABASE_URL: databaseUrl,
  LEDGER_DATA_DIR: z.string().min(1).default('./.ledger'),
  // PostgreSQL connections per process (projectors hold up to four of them).
  DATABASE_POOL_SIZE: integer(2, 1000, 24),
  // A statement past it is cancelled by PostgreSQL, or given up by the client (its connection
  // dropped) when the server cannot answer: a partition or a host gone without a reset otherwise
  // leaves it waiting until TCP gives up (~15 min; never, for a connection with nothing
  // unacknowledged). Schema changes are exempt (pgClient.ts).
  DATABASE_QUERY_TIMEOUT_MS: integer(1000, 3_600_000, 60_000),
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .optional()
    .transform((raw) => commaList(raw ?? '')),
  HUBSPOT_CLIENT_SECRET: secret,
  ZENDESK_WEBHOOK_SECRET: secret,
  LEDGER_API_KEYS: apiKeys,
  STRIPE_API_KEY: secret,
  LEDGER_INBOX_RETENTION_DAYS: integer(1, 3650, 30),
  // Unmatched deliveries (no known customer yet) are tried again on a backoff starting at this
  // many seconds, for the window below (Stripe retries for three days); 0 turns it off.
  LEDGER_UNMATCHED_RETRY_SECONDS: integer(0, 86_400, 60),
  LEDGER_UNMATCHED_RETRY_HOURS: integer(1, 24 * 30, UNMATCHED_RETRY_HOURS_DEFAULT),
  LEDGER_BODY_LIMIT_BYTES: integer(1024, 64 * 1024 * 1024, 1024 * 1024),
  // A request not wholly received by then is answered 408 and its socket closed. Providers give
  // up on a delivery within seconds (and retry it); a client that stalls mid-body, or a peer gone
  // without closing, would otherwise hold an in-flight slot for as long as its socket lives.
  LEDGER_REQUEST_TIMEOUT_MS: integer(1000, 600_000, 30_000),
  // Requests per second accepted per source, across all clients; 0 turns the limit off.
  LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: integer(0, 1_000_000, 2000),
  LEDGER_RATE_LIMIT_CRM_PER_SECOND: integer(0, 1_000_000, 500),
  LEDGER_RATE_LIMIT_SUPPORT_PER_SECOND: integer(0, 1_000_000, 500),
  LEDGER_RATE_LIMIT_APP_PER_SECOND: integer(0, 1_000_000, 100),
  // Webhook deliveries being processed at once, per source; past it 503 LEDGER_OVERLOADED with
  // Retry-After, so a burst past capacity is retried by the provider instead of queueing here
  // until it times out. 0 turns the limit off.
  LEDGER_WEBHOOK_MAX_IN_FLIGHT: integer(0, 100_000, 256),
  // Read models (projections/readModels.ts): CRM owner pools, VIP threshold, grace, features.
  LEDGER_CRM_OWNERS: planTable('owner'),
  // round-robin: strictly even, in projection order; hash: the same owner in any order (Kafka
  // mode, rebuilds). See projections/crm/crmOwners.ts.
  LEDGER_CRM_OWNER_ASSIGNMENT: oneOf(['round-robin', 'hash'] as const, 'round-robin'),
  LEDGER_VIP_MRR_CENTS: integer(0, 1_000_000_000_000, 50_000),
  LEDGER_PAST_DUE_GRACE_DAYS: integer(0, 365, 7),
  LEDGER_PLAN_FEATURES: planTable('feature'),
  // `in-process`: `ledger serve` also runs the projectors; `off`: run `ledger projections run`
  // processes instead (several may run: they take turns per batch, never double-apply).
  LEDGER_PROJECTOR: oneOf(['in-process', 'off'] as const, 'in-process'),
  // Polling fallback; appends in this process (and NOTIFY on Postgres) wake projectors at once.
  LEDGER_PROJECTOR_POLL_MS: integer(10, 60_000, 1000),
  // Least time between the starts of one projection's batches while events keep arriving: a
  // steady stream is applied in batches rather than one transaction per append. An event
  // after a quiet spell is applied at once. 0: no spacing. Unset: 10 on PGlite (one
  // connection, so per-append transactions starve ingest), 0 on PostgreSQL (measured best).
  LEDGER_PROJECTOR_MIN_INTERVAL_MS: boundedInteger(0, 10_000).optional(),
  // Events per projector transaction: larger catches up faster, smaller holds locks shorter.
  LEDGER_PROJECTOR_BATCH_SIZE: integer(1, 100_000, 500),
  // Kafka (services/relay, services/projector/kafkaSource.ts). Brokers as host:port, comma-separated.
  KAFKA_BROKERS: kafkaBrokers,
  KAFKA_TOPIC: kafkaTopic.default('customer-ledger.events'),
  KAFKA_CLIENT_ID: z.string().trim().min(1).max(255).default('customer-ledger'),
  // `store`: projectors poll the event store; `kafka`: they consume KAFKA_TOPIC as the consumer
  // group KAFKA_GROUP_ID (several processes share its partitions), and `ledger relay` feeds it.
  PROJECTOR_SOURCE: oneOf(['store', 'kafka'] as const, 'store'),
  KAFKA_GROUP_ID: z.string().trim().min(1).max(255).default('customer-ledger.projectors'),
  // Unset: off. Set: `ledger relay` also consumes app events that internal producers publish there.
  KAFKA_INBOUND_TOPIC: kafkaTopic.optional(),
  // How long a silent consumer keeps its partitions before the group hands them to the others.
  KAFKA_SESSION_TIMEOUT_MS: integer(1_000, 300_000, 30_000),
  KAFKA_RELAY_BATCH_SIZE: integer(1, 10_000, 500),
});

function productionRules(env: z.output<typeof fields>, ctx: z.RefinementCtx): void {
  if (env.NODE_ENV !== 'production') return;
  const required = {
    STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET.length > 0,
    HUBSPOT_CLIENT_SECRET: env.HUBSPOT_CLIENT_SECRET !== undefined,
    ZENDESK_WEBHOOK_SECRET: env.ZENDESK_WEBHOOK_SECRET !== undefined,
  };
  for (const [name, present] of Object.entries(required)) {
    // Without it every delivery from that source would be rejected, or worse, unverified.
    if (!present) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when NODE_ENV=production' });
  }
  const stripeValues = {
    STRIPE_API_KEY: env.STRIPE_API_KEY ? [env.STRIPE_API_KEY] : [],
    STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET,
  };
  for (const [name, values] of Object.entries(stripeValues)) {
    if (values.some((v) => v.startsWith('sk_test_') || v.startsWith('rk_test_'))) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'holds a Stripe test-mode key, refused when NODE_ENV=production' });
    }
  }
}

function kafkaRules(env: z.output<typeof fields>, ctx: z.RefinementCtx): void {
  // Both need a broker; saying so at start beats a consumer that silently never connects.
  if (env.PROJECTOR_SOURCE === 'kafka' && env.KAFKA_BROKERS.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'is required when PROJECTOR_SOURCE=kafka' });
  }
  if (env.KAFKA_INBOUND_TOPIC !== undefined && env.KAFKA_BROKERS.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'is required when KAFKA_INBOUND_TOPIC is set' });
  }
}

export const ConfigEnv = fields
  // Run even when another variable is invalid, so one start-up names every problem.
  .superRefine(productionRules, { when: () => true })
  .superRefine(kafkaRules, { when: () => true })
  .transform((env) => ({
    nodeEnv: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: { host: env.HOST, port: env.PORT, bodyLimitBytes: env.LEDGER_BODY_LIMIT_BYTES, requestTimeoutMs: env.LEDGER_REQUEST_TIMEOUT_MS },
    // databaseUrl set: PostgreSQL; unset: embedded PGlite under dataDir.
    store: { databaseUrl: env.DATABASE_URL, dataDir: env.LEDGER_DATA_DIR, poolSize: env.DATABASE_POOL_SIZE, queryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS },
    webhooks: {
      stripeSecrets: env.STRIPE_WEBHOOK_SECRET,
      hubspotClientSecret: env.HUBSPOT_CLIENT_SECRET,
      zendeskSecret: env.ZENDESK_WEBHOOK_SECRET,
    },
    apiKeys: env.LEDGER_API_KEYS,
    stripeApiKey: env.STRIPE_API_KEY,
    inbox: {
      retentionDays: env.LEDGER_INBOX_RETENTION_DAYS,
      unmatchedRetry: { intervalMs: env.LEDGER_UNMATCHED_RETRY_SECONDS * 1000, windowMs: env.LEDGER_UNMATCHED_RETRY_HOURS * 3_600_000 },
    },
    webhookMaxInFlight: env.LEDGER_WEBHOOK_MAX_IN_FLIGHT,
    rateLimitsPerSecond: {
      stripe: env.LEDGER_RATE_LIMIT_STRIPE_PER_SECOND,
      crm: env.LEDGER_RATE_LIMIT_CRM_PER_SECOND,
      support: env.LEDGER_RATE_LIMIT_SUPPORT_PER_SECOND,
      app: env.LEDGER_RATE_LIMIT_APP_PER_SECOND,
    },
    projector: {
      mode: env.LEDGER_PROJECTOR,
      pollIntervalMs: env.LEDGER_PROJECTOR_POLL_MS,
      minIntervalMs: env.LEDGER_PROJECTOR_MIN_INTERVAL_MS,
      batchSize: env.LEDGER_PROJECTOR_BATCH_SIZE,
    },
    // Where projectors read events from (PROJECTOR_SOURCE).
    projectorSource: env.PROJECTOR_SOURCE,
    kafka: {
      brokers: env.KAFKA_BROKERS,
      topic: env.KAFKA_TOPIC,
      clientId: env.KAFKA_CLIENT_ID,
      groupId: env.KAFKA_GROUP_ID,
      inboundTopic: env.KAFKA_INBOUND_TOPIC,
      sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
      relayBatchSize: env.KAFKA_RELAY_BATCH_SIZE,
    },
    projections: {
      crm: { owners: env.LEDGER_CRM_OWNERS, ownerAssignment: env.LEDGER_CRM_OWNER_ASSIGNMENT },
      support: { vipMrrCents: env.LEDGER_VIP_MRR_CENTS },
      app: { pastDueGraceDays: env.LEDGER_PAST_DUE_GRACE_DAYS, planFeatures: env.LEDGER_PLAN_FEATURES },
    },
  }));

export type LedgerConfig = z.output<typeof ConfigEnv>;
export type ConfigVariable = keyof z.input<typeof ConfigEnv>;
export const CONFIG_VARIABLES = Object.keys(ConfigEnv.in.shape) as ConfigVariable[];
