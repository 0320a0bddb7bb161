import { fileURLToPath } from 'node:url';

// The providers' real public payloads (test/fixtures/providers, SOURCES.md there): a byte-for-byte
// copy of the shared fixtures, kept in the repository so that `npm test` and the benches run on
// a fresh clone (they read ../shared/fixtures, outside it, and failed there).
export const PROVIDER_FIXTURES = fileURLToPath(new URL('../fixtures/providers/', import.meta.url));

export const providerFixtureUrl = (source: 'stripe' | 'crm' | 'support', name: string): URL =>
  new URL(`../fixtures/providers/${source}/${name}`, import.meta.url);
