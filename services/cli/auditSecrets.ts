import { lstat, readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import {
  EMPTY_ALLOW_LIST,
  inlineSourceMaps,
  maskSecret,
  parseAllowList,
  scanSourceMap,
  scanText,
  type AllowList,
  type SecretFinding,
} from '../operations/secretScanner.ts';
import { CliError } from './cliError.ts';

const USAGE = `Usage:
  ledger audit-secrets <dir…> [--allow <file>] [--json]

Scans build output (dist, build, .expo, web bundles, source maps and their sourcesContent, Hermes
bytecode) for secret-looking values. Prints file:line:column and the rule, with the value masked.
--allow: one literal value or /regex/ per line, for values that are public (pk_live_… keys).
Exit 1 on any finding, 0 on a clean tree.
`;

// Media, fonts and archives cannot hold a readable secret worth the time; everything else is
// read, binaries for their printable strings.
const SKIPPED = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.avif', '.ico', '.bmp', '.woff', '.woff2', '.ttf', '.otf', '.eot', '.mp3', '.mp4', '.wav', '.ogg', '.webm', '.mov', '.zip', '.gz', '.br', '.zst', '.tgz', '.jar', '.aab', '.apk', '.ipa']);
const MAX_BYTES = 128 * 1024 * 1024;

interface Located extends SecretFinding {
  file: string;
  binary: boolean;
}

export async function run(args: string[]): Promise<number> {
  let values;
  let dirs: string[];
  try {
    ({ values, positionals: dirs } = parseArgs({ args, allowPositionals: true, options: { allow: { type: 'string' }, json: { type: 'boolean', default: false } } }));
  } catch (error) {
    process.stderr.write(`ledger audit-secrets: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (dirs.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  const allow = values.allow === undefined ? EMPTY_ALLOW_LIST : await allowListFrom(values.allow);

  const findings: Located[] = [];
  let files = 0;
  for (const dir of dirs) {
    // A missing directory must not read as "clean": the build step may have put it elsewhere.
    const stats = await lstat(dir).catch(() => undefined);
    if (!stats?.isDirectory()) throw new CliError(`${dir} is not a directory`);
    for await (const file of filesUnder(dir)) {
      files += 1;
      findings.push(...(await scanFile(file, allow)));
    }
  }

  if (values.json) {
    const masked = findings.map(({ value, ...rest }) => ({ ...rest, masked: maskSecret(value) }));
    process.stdout.write(`${JSON.stringify({ files, findings: masked }, null, 2)}\n`);
  } else {
    for (const f of findings) {
      const where = f.binary ? `${relative('.', f.file)} (binary)` : `${relative('.', f.file)}${f.source ? ` (${f.source})` : ''}:${f.line}:${f.column}`;
      process.stdout.write(`${where}  ${f.rule}  ${maskSecret(f.value)}\n`);
    }
    process.stdout.write(`${files} file${files === 1 ? '' : 's'} scanned, ${findings.length} secret-looking value${findings.length === 1 ? '' : 's'} found\n`);
  }
  return findings.length > 0 ? 1 : 0;
}

async function allowListFrom(path: string): Promise<AllowList> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`cannot read the allow-list ${path}`);
  });
  const { allow, errors } = parseAllowList(text);
  if (errors.length > 0) throw new CliError(`allow-list ${path}: ${errors.join('; ')}`);
  return allow;
}

// Every regular file, dot-directories included (.expo, .next); symlinks are not followed, so a
// link back up the tree cannot loop.
async function* filesUnder(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile() && !SKIPPED.has(extname(entry.name).toLowerCase())) yield path;
  }
}

async function scanFile(file: string, allow: AllowList): Promise<Located[]> {
  const { size } = await lstat(file);
  if (size > MAX_BYTES) {
    process.stderr.write(`ledger audit-secrets: skipped ${file} (${Math.round(size / 1024 / 1024)} MiB)\n`);
    return [];
  }
  const bytes = await readFile(file);
  const binary = bytes.subarray(0, 8192).includes(0);
  const at = (findings: SecretFinding[]) => findings.map((f) => ({ ...f, file, binary }));
  if (binary) return at(scanText(printableStrings(bytes), allow)).map((f) => ({ ...f, line: 0, column: 0 }));

  const text = bytes.toString('utf8');
  if (file.endsWith('.map')) {
    const inMap = scanSourceMap(text, allow);
    if (inMap) return at(inMap);
  }
  const inlined = inlineSourceMaps(text).flatMap((map) => scanSourceMap(map, allow) ?? []);
  return at([...scanText(text, allow), ...inlined.map((f) => ({ ...f, source: `inline map: ${f.source ?? ''}` }))]);
}

// Runs of printable ASCII, as `strings` would list them: where a bytecode file (Hermes) keeps
// its string literals.
function printableStrings(bytes: Buffer): string {
  const runs: string[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i += 1) {
    const byte = i < bytes.length ? bytes[i]! : 0;
    const printable = byte >= 0x20 && byte < 0x7f;
    if (printable && start < 0) start = i;
    if (!printable && start >= 0) {
      if (i - start >= 8) runs.push(bytes.toString('latin1', start, i));
      start = -1;
    }
  }
  return runs.join('\n');
}
