import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import Stripe from 'stripe';
import { stopChild } from './serviceProcess.ts';

// The ingest bench's other ceiling: what the same load generator gets from a fastify route that
// does only what any Stripe endpoint must (read the exact bytes, check the signature with the
// stripe package, parse the JSON, answer) and stores nothing. The service cannot be faster than
// this on the same machine; the gap between the two is what storing, deciding and projecting a
// delivery costs. Its own process, with the service's V8 settings, as the service runs.

const signature = Stripe.webhooks.signature;

async function serve(secret: string): Promise<void> {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.post('/webhooks/stripe', async (request, reply) => {
    const raw = request.body as Buffer;
    const header = request.headers['stripe-signature'];
    try {
      signature!.verifyHeader(raw, String(header), secret, 300);
    } catch {
      return reply.code(400).send({ code: 'LEDGER_SIGNATURE_INVALID' });
    }
    const event = JSON.parse(raw.toString('utf8')) as { id: string };
    return { received: true, eventId: event.id };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send!({ url: address });
}

export interface CeilingServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startHttpCeiling(secret: string): Promise<CeilingServer> {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', fileURLToPath(import.meta.url), secret], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { url: string }));
    child.once('exit', (code) => reject(new Error(`HTTP ceiling server exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () => stopChild(child),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve(process.argv[2]!);
