import { createHash } from 'node:crypto';

// Staging and production must not share a secret, and neither may see the other's. So each
// environment shows the other a FINGERPRINT: the first 16 hex digits (64 bits) of the secret's
// SHA-256. For random secrets that reveals nothing usable; for a guessable one the fix is the same
// as for a shared one: replace it.

export interface SecretFingerprint {
  label: string;
  fingerprint: string;
}

export const FINGERPRINT_HEX = 16;
// A peer may give fewer digits; fewer than 12 would match by chance across many secrets.
const MIN_PEER_HEX = 12;

export const fingerprintOf = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, FINGERPRINT_HEX);

const listOf = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

// Our secrets, named by what they are (never by value): stripe, stripe.2 (during a rotation),
// crm, support, stripe_api, api_key.<n> (LEDGER_API_KEYS by position).
export function ourFingerprints(env: Record<string, string | undefined>): SecretFingerprint[] {
  const named: [string, string][] = [];
  listOf(env.STRIPE_WEBHOOK_SECRET).forEach((secret, i) => named.push([i === 0 ? 'stripe' : `stripe.${i + 1}`, secret]));
  if (env.HUBSPOT_CLIENT_SECRET?.trim()) named.push(['crm', env.HUBSPOT_CLIENT_SECRET.trim()]);
  if (env.ZENDESK_WEBHOOK_SECRET?.trim()) named.push(['support', env.ZENDESK_WEBHOOK_SECRET.trim()]);
  if (env.STRIPE_API_KEY?.trim()) named.push(['stripe_api', env.STRIPE_API_KEY.trim()]);
  listOf(env.LEDGER_API_KEYS).forEach((entry, i) => {
    const colon = entry.lastIndexOf(':');
    named.push([`api_key.${i + 1}`, colon > 0 ? entry.slice(0, colon) : entry]);
  });
  return named.map(([label, secret]) => ({ label, fingerprint: fingerprintOf(secret) }));
}

export const formatFingerprints = (fingerprints: SecretFingerprint[]): string => fingerprints.map((f) => `${f.label}:${f.fingerprint}`).join(',');

// `label:hex` entries separated by commas, spaces or lines; `#` starts a comment line.
export function parseFingerprints(text: string): { entries: SecretFingerprint[]; errors: string[] } {
  const entries: SecretFingerprint[] = [];
  const errors: string[] = [];
  const items = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((item) => item.length > 0);
  items.forEach((item, index) => {
    const match = /^([A-Za-z0-9_.-]+):([0-9a-fA-F]+)$/.exec(item);
    if (!match || match[2]!.length < MIN_PEER_HEX) errors.push(`entry ${index + 1} must look like label:<at least ${MIN_PEER_HEX} hex digits>`);
    else entries.push({ label: match[1]!, fingerprint: match[2]!.toLowerCase() });
  });
  return { entries, errors };
}

// Any of ours equal to any of theirs, whatever the labels: a Stripe secret reused as an API key
// is shared all the same.
export function sharedSecrets(ours: SecretFingerprint[], peers: SecretFingerprint[]): { ours: string; theirs: string }[] {
  const shared: { ours: string; theirs: string }[] = [];
  for (const mine of ours) {
    for (const peer of peers) {
      const length = Math.min(mine.fingerprint.length, peer.fingerprint.length);
      if (mine.fingerprint.slice(0, length) === peer.fingerprint.slice(0, length)) shared.push({ ours: mine.label, theirs: peer.label });
    }
  }
  return shared;
}
