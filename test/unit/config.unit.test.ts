import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultReadModelOptions } from '../../projections/readModels.ts';
import { ConfigError, loadConfig } from '../../services/config.ts';

const problemsOf = (env: Record<string, string>): Record<string, string> => {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return Object.fromEntries(error.problems.map((p) => [p.variable, p.message]));
  }
  assert.fail('expected a ConfigError');
};

const productionSecrets = {
  NODE_ENV: 'production',
  STRIPE_WEBHOOK_SECRET: 'whsec_live_one',
  HUBSPOT_CLIENT_SECRET: 'hubspot-secret',
  ZENDESK_WEBHOOK_SECRET: 'zendesk-secret',
};

describe('config', () => {
  test('an empty environment gives the documented defaults: embedded store on loopback', () => {
    const config = loadConfig({});
    assert.equal(config.http.port, 3000);
    assert.equal(config.http.host, '127.0.0.1');
    assert.equal(config.http.bodyLimitBytes, 1024 * 1024);
    assert.equal(config.http.requestTimeoutMs, 30_000);
    assert.equal(config.nodeEnv, 'development');
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.store, { databaseUrl: undefined, dataDir: './.ledger', poolSize: 24, queryTimeoutMs: 60_000 });
    assert.deepEqual(config.webhooks.stripeSecrets, []);
    assert.deepEqual(config.apiKeys, []);
    assert.equal(config.inbox.retentionDays, 30);
    assert.deepEqual(config.rateLimitsPerSecond, { stripe: 2000, crm: 500, support: 500, app: 100 });
  });

  test('empty values count as unset', () => {
    assert.equal(loadConfig({ PORT: '', HOST: '  ' }).http.port, 3000);
  });

  test('parses comma-separated Stripe secrets (rotation) and scoped API keys', () => {
    const config = loadConfig({
      STRIPE_WEBHOOK_SECRET: 'whsec_new, whsec_old',
      LEDGER_API_KEYS: 'app-key:app, ops-key:read+support+admin',
      DATABASE_URL: 'postgres://ledger@db:5432/ledger',
      PORT: '8080',
    });
    assert.deepEqual(config.webhooks.stripeSecrets, ['whsec_new', 'whsec_old']);
    assert.deepEqual(config.apiKeys, [
      { key: 'app-key', scopes: ['app'] },
      { key: 'ops-key', scopes: ['read', 'support', 'admin'] },
    ]);
    assert.equal(config.store.databaseUrl, 'postgres://ledger@db:5432/ledger');
    assert.equal(config.http.port, 8080);
  });

  test('names every bad variable at once', () => {
    assert.deepEqual(
      Object.keys(problemsOf({ PORT: 'eighty', NODE_ENV: 'staging', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', LEDGER_BODY_LIMIT_BYTES: '-1' })).sort(),
      ['DATABASE_URL', 'LEDGER_BODY_LIMIT_BYTES', 'LOG_LEVEL', 'NODE_ENV', 'PORT'],
    );
  });

  test('rejects malformed API key entries without echoing the key', () => {
    const error = (() => {
      try {
        loadConfig({ LEDGER_API_KEYS: 'topsecret-1:app+root,topsecret-2,topsecret-3:read,topsecret-3:admin' });
      } catch (e) {
        return e as ConfigError;
      }
      assert.fail('expected a ConfigError');
    })();
    assert.deepEqual(
      error.problems.map((p) => p.message),
      [
        'entry 1 has an unknown scope (allowed: app, read, viewer, support, admin)',
        'entry 2 must look like key:scope[+scope…]',
        'entry 4 repeats an earlier key',
      ],
    );
    assert.doesNotMatch(error.message, /topsecret/);
  });

  test('an API key a client could not present, or a wrong separator between entries, is refused rather than read as another key', () => {
    for (const raw of ['k1-secret:read;k2-secret:admin', 'k1-secret:read k2-secret:admin', 'my key:read']) {
      assert.deepEqual(problemsOf({ LEDGER_API_KEYS: raw }), {
        LEDGER_API_KEYS: "entry 1: a key is printable ASCII without spaces or ';' (separate entries with ',')",
      }, raw);
    }
    // A colon in a key is fine: the last one separates the scopes.
    assert.deepEqual(loadConfig({ LEDGER_API_KEYS: 'Ab9+/=_-.~:x:read+admin' }).apiKeys, [{ key: 'Ab9+/=_-.~:x', scopes: ['read', 'admin'] }]);
  });

  test('production refuses to start without each webhook secret, naming the variable', () => {
    assert.deepEqual(problemsOf({ NODE_ENV: 'production' }), {
      STRIPE_WEBHOOK_SECRET: 'is required when NODE_ENV=production',
      HUBSPOT_CLIENT_SECRET: 'is required when NODE_ENV=production',
      ZENDESK_WEBHOOK_SECRET: 'is required when NODE_ENV=production',
    });
    assert.equal(loadConfig(productionSecrets).nodeEnv, 'production');
  });

  for (const key of ['sk_test_51abcdef', 'rk_test_51abcdef']) {
    test(`production refuses a Stripe test key (${key.slice(0, 8)}) and does not print it`, () => {
      const problems = problemsOf({ ...productionSecrets, STRIPE_API_KEY: key });
      assert.deepEqual(Object.keys(problems), ['STRIPE_API_KEY']);
      assert.doesNotMatch(JSON.stringify(problems), /51abcdef/);
    });
  }

  test('production refuses a Stripe test key pasted into STRIPE_WEBHOOK_SECRET', () => {
    assert.deepEqual(Object.keys(problemsOf({ ...productionSecrets, STRIPE_WEBHOOK_SECRET: 'whsec_a,sk_test_oops' })), ['STRIPE_WEBHOOK_SECRET']);
  });

  test('test keys and missing secrets are fine outside production', () => {
    assert.equal(loadConfig({ NODE_ENV: 'development', STRIPE_API_KEY: 'sk_test_1' }).stripeApiKey, 'sk_test_1');
    assert.equal(loadConfig({ ...productionSecrets, STRIPE_API_KEY: 'sk_live_1' }).stripeApiKey, 'sk_live_1');
  });

  test('problems are reported while other variables are also invalid', () => {
    assert.deepEqual(Object.keys(problemsOf({ NODE_ENV: 'production', PORT: 'x', STRIPE_API_KEY: 'sk_test_1' })).sort(), [
      'HUBSPOT_CLIENT_SECRET',
      'PORT',
      'STRIPE_API_KEY',
      'STRIPE_WEBHOOK_SECRET',
      'ZENDESK_WEBHOOK_SECRET',
    ]);
  });

  test('the database URL never appears in an error message', () => {
    assert.doesNotMatch(JSON.stringify(problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' })), /hunter2/);
  });
  test('read-model options default to what the read models document', () => {
    assert.deepEqual(loadConfig({}).projections, defaultReadModelOptions);
  });

  test('owner pools and plan features are keyed by plan, lower-cased, with a default pool', () => {
    const { projections } = loadConfig({
      LEDGER_CRM_OWNERS: 'default=alice|bob; Pro Monthly = carol | dave ;price_basic=erin',
      LEDGER_PLAN_FEATURES: 'price_basic=reports|export;pro=reports|export|api',
      LEDGER_VIP_MRR_CENTS: '100000',
      LEDGER_PAST_DUE_GRACE_DAYS: '3',
      LEDGER_CRM_OWNER_ASSIGNMENT: 'hash',
    });
    assert.deepEqual(projections, {
      crm: { owners: { default: ['alice', 'bob'], 'pro monthly': ['carol', 'dave'], price_basic: ['erin'] }, ownerAssignment: 'hash' },
      support: { vipMrrCents: 100000 },
      app: { pastDueGraceDays: 3, planFeatures: { price_basic: ['reports', 'export'], pro: ['reports', 'export', 'api'] } },
    });
  });

  test('an unknown owner assignment is refused and named', () => {
    assert.throws(
      () => loadConfig({ LEDGER_CRM_OWNER_ASSIGNMENT: 'random' }),
      (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.variable === 'LEDGER_CRM_OWNER_ASSIGNMENT'),
    );
  });

  test('malformed plan tables and out-of-range numbers are named, entries by position', () => {
    const issues = (() => {
      try {
        loadConfig({ LEDGER_CRM_OWNERS: 'default=;alice|bob;pro=carol;PRO=dave' });
      } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error.problems.map((p) => p.message);
      }
      assert.fail('expected a ConfigError');
    })();
    assert.deepEqual(issues, ['entry 1 must look like plan=owner[|owner…]', 'entry 2 must look like plan=owner[|owner…]', 'entry 4 repeats an earlier plan']);
    assert.deepEqual(Object.keys(problemsOf({ LEDGER_PLAN_FEATURES: 'pro', LEDGER_VIP_MRR_CENTS: 'lots', LEDGER_PAST_DUE_GRACE_DAYS: '400' })).sort(), [
      'LEDGER_PAST_DUE_GRACE_DAYS',
      'LEDGER_PLAN_FEATURES',
      'LEDGER_VIP_MRR_CENTS',
    ]);
  });

  test('a plan named __proto__ is an ordinary key', () => {
    const owners = loadConfig({ LEDGER_CRM_OWNERS: '__proto__=mallory' }).projections.crm.owners;
    assert.deepEqual(Object.getPrototypeOf(owners), Object.prototype);
    assert.deepEqual(Object.entries(owners), [['__proto__', ['mallory']]]);
  });
});
