// `ledger audit-secrets`: what a secret looks like in build output. Pure: text in, findings out;
// the command walks the directories (services/cli/auditSecrets.ts).

export type SecretRule =
  | 'stripe_live_key'
  | 'stripe_test_key'
  | 'stripe_webhook_secret'
  | 'private_key'
  | 'bearer_token'
  | 'hubspot_private_app_token'
  | 'secret_assignment';

export interface SecretFinding {
  rule: SecretRule;
  line: number;
  column: number;
  // The value as found. Never print it: maskSecret().
  value: string;
  // For a source map: the original source whose `sourcesContent` held it.
  source?: string;
}

// Token-shaped values are matched anywhere, without a word boundary in front: in Hermes bytecode
// (Expo builds) the string table packs strings back to back, so `apiKeysk_live_…` must still hit.
// A Stripe test key is flagged too: it still opens the test account, and a test key in a bundle
// means the code path that leaks a live key exists.
const TOKEN_RULES: { rule: SecretRule; pattern: RegExp; group?: number }[] = [
  { rule: 'stripe_live_key', pattern: /(?:sk|rk)_live_[0-9A-Za-z]{10,}/g },
  { rule: 'stripe_test_key', pattern: /(?:sk|rk)_test_[0-9A-Za-z]{10,}/g },
  { rule: 'stripe_webhook_secret', pattern: /whsec_[0-9A-Za-z+/=_]{10,}/g },
  { rule: 'private_key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g },
  { rule: 'hubspot_private_app_token', pattern: /pat-[a-z]{2,4}\d?-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g },
  { rule: 'bearer_token', pattern: /\bBearer\s+([A-Za-z0-9\-._~+/]{20,}=*)/g, group: 1 },
];

const SECRET_NAME = String.raw`(?:secret|token|api[_-]?key|apikey|passw(?:or)?d|private[_-]?key)`;
// `clientSecret: "…"`, `"api_key":"…"`, `password = '…'`, and the same JSON-escaped inside a JS
// string (`\"token\":\"…\"`). Comparisons (`token === "…"`) are not assignments.
const QUOTED_ASSIGNMENT = new RegExp(String.raw`${SECRET_NAME}[A-Za-z0-9_-]*\\?["'\x60]?\s*(?::|=(?!=))\s*\\?(["'\x60])([^"'\x60\s\\]{20,}?)\\?\1`, 'gi');
// `.env` style lines that ended up in a build: `STRIPE_SECRET=…`.
const ENV_ASSIGNMENT = new RegExp(String.raw`^[ \t]*(?:export[ \t]+)?[A-Za-z0-9_]*${SECRET_NAME}[A-Za-z0-9_]*[ \t]*=[ \t]*([^\s"'\x60#]{20,})[ \t]*$`, 'gim');

// Bits per character. Random base62 of 20+ characters scores above 4; words and identifiers,
// even long ones, rarely above 3.5.
export const SECRET_ENTROPY_BITS = 3.5;
// Hex carries at most 4 bits a character, so hex digests and keys get their own bar.
export const HEX_ENTROPY_BITS = 3.0;

export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

// Words joined by separators or camelCase (`auth_token_storage_key_v2`, `resetPasswordToken`):
// names, not secrets.
const WORDISH = /^[A-Za-z]+\d*(?:[_\-. ][A-Za-z]+\d*)*$/;

export function looksLikeSecretValue(value: string): boolean {
  if (value.length < 20 || WORDISH.test(value)) return false;
  // URLs, paths, templates and placeholders are configuration, not credentials.
  if (/:\/\/|^\.{0,2}\/|\$\{|\{\{|<[^>]*>|process\.env|import\.meta/.test(value)) return false;
  if (/^[0-9a-f]+$/i.test(value)) return shannonEntropy(value) >= HEX_ENTROPY_BITS;
  return shannonEntropy(value) >= SECRET_ENTROPY_BITS;
}

export const maskSecret = (value: string): string => `${value.slice(0, 4)}…`;

export interface AllowList {
  literals: ReadonlySet<string>;
  patterns: readonly RegExp[];
}

export const EMPTY_ALLOW_LIST: AllowList = { literals: new Set(), patterns: [] };

// One entry a line: a literal value, or /regex/flags. `#` starts a comment line.
export function parseAllowList(text: string): { allow: AllowList; errors: string[] } {
  const literals = new Set<string>();
  const patterns: RegExp[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const entry = raw.trim();
    if (entry.length === 0 || entry.startsWith('#')) return;
    const regex = /^\/(.+)\/([imsu]*)$/.exec(entry);
    if (!regex) {
      literals.add(entry);
      return;
    }
    try {
      patterns.push(new RegExp(regex[1]!, regex[2]));
    } catch {
      errors.push(`line ${index + 1}: not a valid regular expression`);
    }
  });
  return { allow: { literals, patterns }, errors };
}

export const isAllowed = (value: string, allow: AllowList): boolean => allow.literals.has(value) || allow.patterns.some((p) => p.test(value));

// Line and column (1-based) of each offset, by binary search over the line starts.
function locator(text: string): (index: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (index) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= index) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: index - starts[low]! + 1 };
  };
}

export function scanText(text: string, allow: AllowList = EMPTY_ALLOW_LIST): SecretFinding[] {
  const locate = locator(text);
  const findings: (SecretFinding & { start: number; end: number })[] = [];
  const overlaps = (start: number, end: number) => findings.some((f) => start < f.end && f.start < end);
  const add = (rule: SecretRule, value: string, start: number) => {
    // One value, one finding: the most specific rule (token rules run first) names it.
    if (isAllowed(value, allow) || overlaps(start, start + value.length)) return;
    findings.push({ rule, value, ...locate(start), start, end: start + value.length });
  };
  for (const { rule, pattern, group } of TOKEN_RULES) {
    for (const match of text.matchAll(pattern)) {
      const value = match[group ?? 0]!;
      add(rule, value, match.index + match[0].lastIndexOf(value));
    }
  }
  for (const pattern of [QUOTED_ASSIGNMENT, ENV_ASSIGNMENT]) {
    for (const match of text.matchAll(pattern)) {
      const value = match[pattern === QUOTED_ASSIGNMENT ? 2 : 1]!;
      if (looksLikeSecretValue(value)) add('secret_assignment', value, match.index + match[0].lastIndexOf(value));
    }
  }
  return findings.sort((a, b) => a.start - b.start).map(({ start: _start, end: _end, ...finding }) => finding);
}

// A source map ships the original sources in `sourcesContent`: a secret the minifier inlined or
// dropped from the bundle may still sit there, with its original line. undefined: not a map.
export function scanSourceMap(text: string, allow: AllowList = EMPTY_ALLOW_LIST): SecretFinding[] | undefined {
  let map: unknown;
  try {
    map = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof map !== 'object' || map === null || !('sourcesContent' in map) || !Array.isArray(map.sourcesContent)) return undefined;
  const sources = 'sources' in map && Array.isArray(map.sources) ? map.sources : [];
  return map.sourcesContent.flatMap((content: unknown, index: number) => {
    if (typeof content !== 'string') return [];
    const source = typeof sources[index] === 'string' ? sources[index] : `sources[${index}]`;
    return scanText(content, allow).map((finding) => ({ ...finding, source }));
  });
}

// `//# sourceMappingURL=data:application/json;base64,…` at the end of a development bundle.
export function inlineSourceMaps(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/sourceMappingURL=data:application\/json;(?:charset=[^;,]+;)?base64,([A-Za-z0-9+/=]+)/g)) {
    found.push(Buffer.from(match[1]!, 'base64').toString('utf8'));
  }
  return found;
}
