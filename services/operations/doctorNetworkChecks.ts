import { connect } from 'node:net';
import type { DoctorSettings } from '../../contracts/doctorEnv.ts';
import { WEBHOOK_PATHS, WEBHOOK_SECRET_VARIABLES } from './providerSigning.ts';
import { NO_SECRET_DETAIL } from '../ingest/hmacSignature.ts';
import { fail, pass, skip, type CheckResult, type DoctorContext } from './doctorResult.ts';

// What doctor checks over the network: that the running service refuses an unsigned webhook (a
// proxy or a misconfigured route could be accepting anything), and that Kafka's brokers answer.

export async function webhookRejectsUnsignedCheck(context: DoctorContext, settings: DoctorSettings): Promise<CheckResult> {
  const name = 'webhooks reject unsigned deliveries';
  const url = settings.LEDGER_URL;
  const http = context.fetch ?? fetch;
  const live = await http(`${url}/health/live`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok,
    () => false,
  );
  if (!live) return skip(name, `no service answers at ${url} (LEDGER_URL): start it and run doctor again to check its webhook endpoints`);

  const wrong: string[] = [];
  const unconfigured: string[] = [];
  for (const [source, path] of Object.entries(WEBHOOK_PATHS) as [keyof typeof WEBHOOK_PATHS, string][]) {
    const response = await http(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(5_000),
    }).catch(() => undefined);
    type Problem = { code?: unknown; detail?: unknown };
    const problem: Problem = response ? await response.json().then((b: unknown): Problem => (typeof b === 'object' && b !== null ? b : {}), (): Problem => ({})) : {};
    const code = typeof problem.code === 'string' ? problem.code : '';
    // Refused, but because the service holds no secret for the source: it refuses every delivery.
    if (response?.status === 400 && code === 'LEDGER_SIGNATURE_INVALID' && problem.detail === NO_SECRET_DETAIL) unconfigured.push(`${path} (${WEBHOOK_SECRET_VARIABLES[source]})`);
    else if (response?.status !== 400 || code !== 'LEDGER_SIGNATURE_MISSING') wrong.push(`${path} answered ${response ? `${response.status} ${code}`.trim() : 'nothing'}`);
  }
  if (unconfigured.length > 0 && wrong.length === 0) {
    return fail(
      name,
      `the service at ${url} has no secret for ${unconfigured.join(', ')}: it refuses every delivery from there`,
      'set that variable on the service (the provider shows the signing secret) and restart it; a source you do not use can be ignored',
    );
  }
  if (wrong.length === 0) return pass(name, `${Object.values(WEBHOOK_PATHS).join(', ')} at ${url} answer 400 LEDGER_SIGNATURE_MISSING`);
  return fail(
    name,
    wrong.join('; '),
    'an unsigned delivery must be refused before anything is appended: check that LEDGER_URL reaches this ledger directly (no proxy answering for it) and that the webhook routes are the ledger’s own',
  );
}

const tcpConnect = (host: string, port: number, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error('timed out'));
    });
    socket.once('error', reject);
  });

// A TCP connect per broker: enough to tell a wrong host, port or firewall from a working one.
export async function kafkaCheck(context: DoctorContext, settings: DoctorSettings): Promise<CheckResult> {
  const name = 'kafka reachable';
  const brokers = settings.KAFKA_BROKERS;
  if (brokers.length === 0) return skip(name, 'not configured (KAFKA_BROKERS unset)');
  const open = context.connect ?? tcpConnect;
  const unreachable: string[] = [];
  await Promise.all(
    brokers.map(async (broker) => {
      const colon = broker.lastIndexOf(':');
      await open(broker.slice(0, colon), Number(broker.slice(colon + 1)), 3_000).catch((error: unknown) => {
        unreachable.push(`${broker} (${error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : 'failed'})`);
      });
    }),
  );
  if (unreachable.length === 0) return pass(name, `${brokers.join(', ')} accept connections`);
  return fail(name, `unreachable: ${unreachable.sort().join(', ')}`, 'check KAFKA_BROKERS (host:port as the brokers advertise them), that the brokers run, and the firewall between');
}
