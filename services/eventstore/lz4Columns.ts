// Values past the TOAST threshold (~2 kB) are compressed on write; lz4 does it for a fraction of
// pglz's CPU (the default). Only where the server was built with it: PostgreSQL builds usually
// are, PGlite is not. Applies to values written from then on.
export const lz4ColumnsSql = (table: string, columns: string[]): string => `
do $$ begin
  if exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals)) then
    alter table ${table} ${columns.map((column) => `alter column ${column} set compression lz4`).join(', ')};
  end if;
end $$;`;
