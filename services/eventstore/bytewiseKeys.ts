// Ids (stream ids, customer ids, provider ids, sources) are opaque strings. Compared by the
// database's locale, every probe and insert of their indexes ran strcoll (200,000 rows keyed by
// such ids, two indexes, took 1.7 times as long to insert under C.UTF-8 as compared as bytes),
// and an operating-system upgrade that changes the locale's order silently corrupts those
// indexes. "C" compares bytes: the same order on every server, PGlite included. Changing a
// column's collation keeps its data and rebuilds its indexes, under a lock on the table for as
// long as that takes (README › Operating it › Upgrading).
export const bytewiseKeysSql = (columns: Record<string, string[]>): string =>
  Object.entries(columns)
    .map(([table, names]) => `alter table ${table} ${names.map((name) => `alter column ${name} type text collate "C"`).join(', ')};`)
    .join('\n');
