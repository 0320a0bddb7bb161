import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';

// `ledger audit-secrets` over a build tree as bundlers leave it: a web bundle with its source
// map, an Expo export, a Hermes bytecode file, a stray .env. The planted secrets are found and
// printed masked; the clean tree passes.

const LIVE_KEY = 'sk_live_51PlantedAbCdEfGhIjKlMnOpQr';
const WEBHOOK_SECRET = 'whsec_PlantedOnlyInTheSourceMap0123';
const CLIENT_SECRET = 'Qm9vL4tR7wN1bY6cH3Zx8kQ2';
const HERMES_KEY = 'rk_live_PlantedInBytecode0123456';
const PUBLIC_API_KEY = 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW';

function write(root: string, path: string, content: string | Buffer): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

// What a clean build looks like: code full of names that sound secret and values that are not.
function cleanTree(root: string): void {
  const bundle = [
    '"use strict";(()=>{var e={tokenType:"Bearer",storageKey:"auth_token_storage_key_v2",publishableKey:"pk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv"};',
    'function t(n){return fetch("/api",{headers:{Authorization:`Bearer ${n}`}})}})();',
    '//# sourceMappingURL=main.3f2a.js.map',
  ].join('\n');
  write(root, 'dist/assets/main.3f2a.js', bundle);
  write(
    root,
    'dist/assets/main.3f2a.js.map',
    JSON.stringify({ version: 3, file: 'main.3f2a.js', sources: ['../src/api.ts'], sourcesContent: ['export const api = (token: string) => fetch("/api", { headers: { Authorization: `Bearer ${token}` } });\n'], mappings: 'AAAA,OAAO,MAAMA' }),
  );
  write(root, 'dist/index.html', '<!doctype html><script src="/assets/main.3f2a.js" integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"></script>');
  write(root, 'dist/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
  write(root, '.expo/web/cache/app.json', JSON.stringify({ expo: { name: 'app', extra: { apiUrl: 'https://api.example.com/v1' } } }));
}

function plantSecrets(root: string): void {
  // Minified away from the bundle, still shipped in the map's sourcesContent.
  write(
    root,
    'dist/assets/vendor.9c1d.js.map',
    JSON.stringify({
      version: 3,
      file: 'vendor.9c1d.js',
      sources: ['../src/clean.ts', '../src/stripeHook.ts'],
      sourcesContent: ['export {};\n', `// verifies webhooks in the browser (wrong!)\nexport const secret = "${WEBHOOK_SECRET}";\n`],
      mappings: 'AAAA',
    }),
  );
  write(root, 'dist/assets/vendor.9c1d.js', 'export{};\n//# sourceMappingURL=vendor.9c1d.js.map\n');
  write(root, 'build/static/js/config.js', `window.cfg={firebase:{apiKey:"${PUBLIC_API_KEY}"},\nstripe:"${LIVE_KEY}"};\n`);
  write(root, '.expo/web/config.json', JSON.stringify({ extra: { clientSecret: CLIENT_SECRET } }, null, 2));
  write(root, 'build/index.android.bundle', Buffer.concat([Buffer.from([0xc6, 0x1f, 0xbc, 0x03, 0, 0, 0, 0]), Buffer.from(`fetchapiKey${HERMES_KEY}`, 'latin1'), Buffer.from([0, 1, 2])]));
}

describe('ledger audit-secrets (e2e)', () => {
  const roots: string[] = [];
  const tree = (plant: boolean) => {
    const root = mkdtempSync(join(tmpdir(), 'ledger-audit-'));
    roots.push(root);
    cleanTree(root);
    if (plant) plantSecrets(root);
    return root;
  };
  after(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  const audit = (cwd: string, args: string[]) =>
    spawnSync(process.execPath, [join(process.cwd(), 'bin/ledger.js'), 'audit-secrets', ...args], { cwd, encoding: 'utf8', timeout: 30_000 });

  test('finds every planted secret, file:line masked, the source map one by its original source; exit 1', () => {
    const root = tree(true);
    const result = audit(root, ['dist', 'build', '.expo']);
    assert.equal(result.status, 1, result.stderr);
    const out = result.stdout;
    assert.match(out, /^dist\/assets\/vendor\.9c1d\.js\.map \(\.\.\/src\/stripeHook\.ts\):2:\d+ {2}stripe_webhook_secret {2}whse…$/m);
    assert.match(out, /^build\/static\/js\/config\.js:2:\d+ {2}stripe_live_key {2}sk_l…$/m);
    assert.match(out, /^build\/static\/js\/config\.js:1:\d+ {2}secret_assignment {2}AIza…$/m);
    assert.match(out, /^\.expo\/web\/config\.json:3:\d+ {2}secret_assignment {2}Qm9v…$/m);
    assert.match(out, /^build\/index\.android\.bundle \(binary\) {2}stripe_live_key {2}rk_l…$/m);
    assert.match(out, /5 secret-looking values found/);
    for (const secret of [LIVE_KEY, WEBHOOK_SECRET, CLIENT_SECRET, HERMES_KEY, PUBLIC_API_KEY]) assert.ok(!out.includes(secret), 'printed a secret');
  });

  test('passes a clean tree', () => {
    const root = tree(false);
    const result = audit(root, ['dist', '.expo']);
    assert.equal(result.status, 0, result.stdout);
    assert.match(result.stdout, /^\d+ files scanned, 0 secret-looking values found$/m);
  });

  test('an allow-list suppresses public values (literal or /regex/), the rest still fail', () => {
    const root = tree(true);
    write(root, 'allow.txt', `# Firebase web keys are public\n/^AIza[0-9A-Za-z_-]{35}$/\n${CLIENT_SECRET}\n`);
    const result = audit(root, ['dist', 'build', '.expo', '--allow', 'allow.txt', '--json']);
    assert.equal(result.status, 1);
    const report = JSON.parse(result.stdout) as { findings: { file: string; rule: string; masked: string }[] };
    assert.deepEqual(report.findings.map((f) => f.masked).sort(), ['rk_l…', 'sk_l…', 'whse…']);

    write(root, 'everything.txt', `${LIVE_KEY}\n${HERMES_KEY}\n${WEBHOOK_SECRET}\n${CLIENT_SECRET}\n${PUBLIC_API_KEY}\n`);
    assert.equal(audit(root, ['dist', 'build', '.expo', '--allow', 'everything.txt']).status, 0);
  });

  test('a directory that is not there is an error, never a pass', () => {
    const root = tree(false);
    const result = audit(root, ['dist', 'no-such-build']);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /no-such-build is not a directory/);
    assert.equal(audit(root, []).status, 2);
  });
});
