import { machine } from './stats.ts';
import { appendSqlBench } from './appendSqlBench.ts';
import { cacheBench } from './cacheBench.ts';
import { e2eBench } from './e2eBench.ts';
import { ingestBench } from './ingestBench.ts';
import { kafkaBench } from './kafkaBench.ts';
import { mapperBench } from './mapperBench.ts';
import { readRowsBench } from './readRowsBench.ts';
import { rebuildBench } from './rebuildBench.ts';
import { storeBench } from './storeBench.ts';
import { workBench } from './workBench.ts';

// `npm run bench -- <name>`: each bench prints markdown tables for bench/RESULTS.md (and the README's summary).
const benches: Record<string, () => Promise<void>> = {
  store: storeBench,
  ingest: ingestBench,
  kafka: kafkaBench,
  e2e: e2eBench,
  rebuild: rebuildBench,
  append: appendSqlBench,
  mappers: mapperBench,
  rows: readRowsBench,
  work: workBench,
  caches: cacheBench,
};

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = names.length > 0 ? names : Object.keys(benches);
console.log(`Machine: ${machine()}`);
for (const name of selected) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown bench '${name}'; choose from: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## bench: ${name} (npm run bench -- ${name})`);
  await bench();
}
