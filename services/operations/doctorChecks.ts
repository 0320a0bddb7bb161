import { DoctorEnv, type DoctorSettings } from '../../contracts/doctorEnv.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { kafkaCheck, webhookRejectsUnsignedCheck } from './doctorNetworkChecks.ts';
import { longTransactionsCheck, projectionChecks, storeCheck, unmatchedDeliveriesCheck } from './doctorStoreChecks.ts';
import { fail, pass, skip, type CheckResult, type DoctorContext } from './doctorResult.ts';
import { ourFingerprints, parseFingerprints, sharedSecrets } from './secretFingerprints.ts';

// `ledger doctor`: the launch-readiness checks. Each says pass, fail (with how to fix it) or
// skip (with why it could not be judged); any fail fails the run. Secrets are never printed.

const REQUIRED_SECRETS: Record<string, string> = {
  STRIPE_WEBHOOK_SECRET: 'the endpoint’s signing secret (Stripe Dashboard → Developers → Webhooks)',
  HUBSPOT_CLIENT_SECRET: 'the app’s client secret (HubSpot developer account → your app → Auth)',
  ZENDESK_WEBHOOK_SECRET: 'the webhook’s signing secret (Zendesk Admin Center → Webhooks → your webhook)',
  LEDGER_API_KEYS: 'key:scope entries for the app and the operators (e.g. `openssl rand -hex 32`)',
};

// Stripe's test-mode prefixes, and a `test` word in any secret (`whsec_test_…`, `…-test-…`).
const TEST_MARKER = /^(?:sk|rk|pk)_test_|(?:^|[_-])test(?:[_-]|$)/i;

export async function runDoctor(context: DoctorContext): Promise<CheckResult[]> {
  const { settings, result: settingsResult } = doctorSettings(context.env);
  const env = context.env;
  const store = await storeCheck(context);
  return [
    ...(settingsResult ? [settingsResult] : []),
    configCheck(env),
    requiredSecretsCheck(env),
    testKeysCheck(env),
    await sharedSecretsCheck(env, settings, context.readFile),
    store,
    await webhookRejectsUnsignedCheck(context, settings),
    // Projection tables may not exist in a store that is not migrated.
    ...(await projectionChecks(context, settings, store.status === 'pass')),
    await longTransactionsCheck(context, settings),
    store.status === 'pass' ? await unmatchedDeliveriesCheck(context, settings) : skip('no unmatched deliveries past the retry window', 'the store is not ready'),
    await kafkaCheck(context, settings),
  ];
}

export function doctorSettings(env: Record<string, string | undefined>): { settings: DoctorSettings; result?: CheckResult } {
  const input = Object.fromEntries(Object.keys(DoctorEnv.shape).flatMap((name) => (env[name]?.trim() ? [[name, env[name].trim()]] : [])));
  const parsed = DoctorEnv.safeParse(input);
  if (parsed.success) return { settings: parsed.data };
  const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`).join('; ');
  const defaults = DoctorEnv.parse({});
  return { settings: defaults, result: fail('doctor settings', problems, 'correct these variables; the defaults were used meanwhile') };
}

export function configCheck(env: Record<string, string | undefined>): CheckResult {
  const name = 'configuration valid';
  try {
    loadConfig(env);
    return pass(name, 'every variable parses; `ledger serve` would start with it');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail(name, error.problems.map((p) => `${p.variable}: ${p.message}`).join('; '), 'correct these variables: `ledger serve` refuses to start with them');
  }
}

export function requiredSecretsCheck(env: Record<string, string | undefined>): CheckResult {
  const name = 'required secrets present';
  const missing = Object.keys(REQUIRED_SECRETS).filter((variable) => !env[variable]?.trim());
  if (missing.length === 0) return pass(name, Object.keys(REQUIRED_SECRETS).join(', '));
  return fail(name, `missing: ${missing.join(', ')}`, missing.map((variable) => `set ${variable} to ${REQUIRED_SECRETS[variable]}`).join('\n'));
}

export function testKeysCheck(env: Record<string, string | undefined>): CheckResult {
  const name = 'no test keys in production';
  if (env.NODE_ENV?.trim() !== 'production') return skip(name, `NODE_ENV is ${env.NODE_ENV?.trim() || 'development (unset)'}: test keys are expected outside production`);
  const suspects = ourSecretValues(env).filter(([, value]) => TEST_MARKER.test(value)).map(([label]) => label);
  if (suspects.length === 0) return pass(name, 'no secret carries a test-mode marker');
  return fail(name, `test-mode secret in ${[...new Set(suspects)].join(', ')}`, 'use the live-mode values (Stripe: toggle off "Test mode" in the Dashboard, then copy the secret again)');
}

function ourSecretValues(env: Record<string, string | undefined>): [string, string][] {
  const list = (raw: string | undefined) => (raw ?? '').split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  return [
    ...list(env.STRIPE_WEBHOOK_SECRET).map((v): [string, string] => ['STRIPE_WEBHOOK_SECRET', v]),
    ...list(env.STRIPE_API_KEY).map((v): [string, string] => ['STRIPE_API_KEY', v]),
    ...list(env.HUBSPOT_CLIENT_SECRET).map((v): [string, string] => ['HUBSPOT_CLIENT_SECRET', v]),
    ...list(env.ZENDESK_WEBHOOK_SECRET).map((v): [string, string] => ['ZENDESK_WEBHOOK_SECRET', v]),
    ...list(env.LEDGER_API_KEYS).map((entry): [string, string] => ['LEDGER_API_KEYS', entry.slice(0, Math.max(0, entry.lastIndexOf(':'))) || entry]),
  ];
}

export async function sharedSecretsCheck(
  env: Record<string, string | undefined>,
  settings: DoctorSettings,
  readFile: DoctorContext['readFile'],
): Promise<CheckResult> {
  const name = 'secrets not shared with the other environment';
  const sources: string[] = [];
  if (settings.LEDGER_PEER_SECRET_FINGERPRINTS) sources.push(settings.LEDGER_PEER_SECRET_FINGERPRINTS);
  if (settings.LEDGER_PEER_FINGERPRINTS_FILE) {
    const read = readFile ?? (async (path: string) => (await import('node:fs/promises')).readFile(path, 'utf8'));
    try {
      sources.push(await read(settings.LEDGER_PEER_FINGERPRINTS_FILE));
    } catch {
      return fail(name, `cannot read LEDGER_PEER_FINGERPRINTS_FILE (${settings.LEDGER_PEER_FINGERPRINTS_FILE})`, 'point it at the file `ledger doctor --fingerprints` wrote on the other environment');
    }
  }
  if (sources.length === 0) {
    return skip(name, 'no peer fingerprints: run `ledger doctor --fingerprints` on the other environment and set LEDGER_PEER_SECRET_FINGERPRINTS (or LEDGER_PEER_FINGERPRINTS_FILE) here');
  }
  const { entries, errors } = parseFingerprints(sources.join('\n'));
  if (errors.length > 0) return fail(name, `peer fingerprints: ${errors.join('; ')}`, 'paste the output of `ledger doctor --fingerprints` unchanged');
  const shared = sharedSecrets(ourFingerprints(env), entries);
  if (shared.length === 0) return pass(name, `${ourFingerprints(env).length} secrets compared with ${entries.length} peer fingerprints, none shared`);
  return fail(
    name,
    `shared: ${shared.map((s) => (s.ours === s.theirs ? s.ours : `${s.ours} (theirs: ${s.theirs})`)).join(', ')}`,
    'issue a new secret for one environment (rotate in the provider, then update its variable) and compare again',
  );
}
