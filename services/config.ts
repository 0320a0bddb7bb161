import { CONFIG_VARIABLES, ConfigEnv, type LedgerConfig } from '../contracts/config.ts';

export type { ApiKey, ApiKeyScope, LedgerConfig } from '../contracts/config.ts';

export interface ConfigProblem {
  variable: string;
  message: string;
}

// Thrown at start-up only. The message names every bad variable at once (so an operator fixes
// them in one go) and never includes a value: several variables are secrets.
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

// Reads the environment once, at start; everything downstream receives the parsed config.
export function loadConfig(env: Record<string, string | undefined> = process.env): LedgerConfig {
  const input: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    // `PORT=` in a .env file or compose means "not set", not "the empty string".
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }
  const parsed = ConfigEnv.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? 'environment'), message: issue.message })),
  );
}

// Which webhook sources hold a signing secret (without one, every delivery is refused).
export const webhookSecretsSet = (config: LedgerConfig): Record<'stripe' | 'crm' | 'support', boolean> => ({
  stripe: config.webhooks.stripeSecrets.length > 0,
  crm: config.webhooks.hubspotClientSecret !== undefined,
  support: config.webhooks.zendeskSecret !== undefined,
});

// What is safe to log at start: shape, not secrets.
export function describeConfig(config: LedgerConfig): Record<string, unknown> {
  return {
    nodeEnv: config.nodeEnv,
    http: config.http,
    store: config.store.databaseUrl ? 'postgres' : `pglite:${config.store.dataDir}`,
    webhookSecrets: { ...webhookSecretsSet(config), stripe: config.webhooks.stripeSecrets.length },
    apiKeys: config.apiKeys.length,
    rateLimitsPerSecond: config.rateLimitsPerSecond,
    webhookMaxInFlight: config.webhookMaxInFlight,
  };
}
