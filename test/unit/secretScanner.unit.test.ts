import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  inlineSourceMaps,
  looksLikeSecretValue,
  maskSecret,
  parseAllowList,
  scanSourceMap,
  scanText,
  shannonEntropy,
} from '../../services/operations/secretScanner.ts';

// What audit-secrets calls a secret in build output, and what it leaves alone.

const STRIPE_LIVE = 'sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv';
const RANDOM = 'Zx8kQ2mP9vL4tR7wN1bY6cH3';
const rules = (text: string) => scanText(text).map((f) => f.rule);

describe('secret scanner', () => {
  test('finds each kind of secret, with its line and column', () => {
    const text = [
      `var a="${STRIPE_LIVE}";`,
      'const r = "rk_live_abcdefghij0123456789";',
      'stripe("sk_test_4eC39HqLyjWDarjtT1zdp7dc")',
      'const hook = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";',
      '-----BEGIN RSA PRIVATE KEY-----',
      'fetch(u,{headers:{Authorization:"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"}})',
      'hubspot("pat-na1-1a2b3c4d-1234-4abc-9def-0123456789ab")',
      `const config={clientSecret:"${RANDOM}"}`,
      `{"api_key": "${RANDOM}a"}`,
      `DATABASE_PASSWORD=${RANDOM}b`,
      '-----BEGIN OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const findings = scanText(text);
    assert.deepEqual(
      findings.map((f) => [f.rule, f.line]),
      [
        ['stripe_live_key', 1],
        ['stripe_live_key', 2],
        ['stripe_test_key', 3],
        ['stripe_webhook_secret', 4],
        ['private_key', 5],
        ['bearer_token', 6],
        ['hubspot_private_app_token', 7],
        ['secret_assignment', 8],
        ['secret_assignment', 9],
        ['secret_assignment', 10],
        ['private_key', 11],
      ],
    );
    assert.deepEqual([findings[0]!.column, findings[0]!.value], [8, STRIPE_LIVE]);
    assert.equal(findings[5]!.value.startsWith('eyJh'), true);
    assert.equal(findings[7]!.value, RANDOM);
  });

  test('finds keys packed against other strings (Hermes bytecode string tables)', () => {
    assert.deepEqual(rules(`apiKey${STRIPE_LIVE}publishable`), ['stripe_live_key']);
  });

  test('a value is reported once, by its most specific rule', () => {
    assert.deepEqual(rules(`const secretKey = "${STRIPE_LIVE}"`), ['stripe_live_key']);
  });

  test('finds a secret inside a JSON string embedded in a bundle', () => {
    assert.deepEqual(rules(`module.exports=JSON.parse("{\\"client_secret\\":\\"${RANDOM}\\"}")`), ['secret_assignment']);
  });

  test('leaves alone what bundles are full of', () => {
    const clean = [
      'const publishableKey = "pk_live_51HxYzAbCdEfGhIjKlMnOpQrStUv";',
      'tokenType:"Bearer",',
      'authTokenStorageKey:"auth_token_storage_key_v2",',
      'passwordResetRoute:"resetPasswordTokenExpiredScreen",',
      'tokenUrl:"https://oauth2.example.com/token/refresh/v1",',
      'apiKeyPlaceholder:"<your-api-key-goes-here-please>",',
      'if (token === "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") {}',
      'headers.Authorization = "Bearer " + token;',
      'headers.Authorization = `Bearer ${token}`;',
      'const secret = process.env.STRIPE_SECRET_KEY_FOR_THE_SERVER;',
      'integrity:"sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"',
      'password:"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    ].join('\n');
    assert.deepEqual(scanText(clean), []);
  });

  test('entropy: random strings score high, repeated and wordy ones low; hex has its own bar', () => {
    assert.ok(shannonEntropy(RANDOM) > 4);
    assert.equal(shannonEntropy('aaaaaaaa'), 0);
    assert.equal(looksLikeSecretValue(RANDOM), true);
    assert.equal(looksLikeSecretValue('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b'), true);
    assert.equal(looksLikeSecretValue('0000000000000000000000000000000000000000'), false);
    assert.equal(looksLikeSecretValue('Zx8kQ2mP9vL4tR7'), false, 'shorter than 20');
  });

  test('a source map: secrets in sourcesContent, at their line in the original source', () => {
    const map = JSON.stringify({
      version: 3,
      file: 'main.js',
      sources: ['webpack://app/src/clean.ts', 'webpack://app/src/config.ts'],
      sourcesContent: ['export const x = 1;\n', `// settings\nexport const hook = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";\n`],
      mappings: 'AAAA,SAASA,EAAE,CAAC,CAAC',
    });
    const findings = scanSourceMap(map)!;
    assert.deepEqual(
      findings.map((f) => [f.source, f.line, f.rule]),
      [['webpack://app/src/config.ts', 2, 'stripe_webhook_secret']],
    );
    assert.equal(scanSourceMap('not json'), undefined);
    assert.equal(scanSourceMap('{"version":3,"mappings":""}'), undefined);
    const inline = `console.log(1)\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(map).toString('base64')}\n`;
    assert.deepEqual(inlineSourceMaps(inline), [map]);
  });

  test('an allow-list suppresses literal values and /regex/ matches, and reports bad entries', () => {
    const { allow, errors } = parseAllowList(`# public values\n${RANDOM}\n/^sk_test_/\n\n/(unclosed/\n`);
    assert.deepEqual(errors, ['line 5: not a valid regular expression']);
    const text = `clientSecret:"${RANDOM}"\nstripe("sk_test_4eC39HqLyjWDarjtT1zdp7dc")\nconst r = "rk_live_abcdefghij0123456789";`;
    assert.deepEqual(
      scanText(text, allow).map((f) => f.rule),
      ['stripe_live_key'],
    );
  });

  test('masks all but the first four characters', () => {
    assert.equal(maskSecret(STRIPE_LIVE), 'sk_l…');
  });
});
