import { isStoreUnavailable } from '../eventstore/storeUnavailable.ts';

// PostgreSQL failing a command for a reason only the operator can fix (a server not running or
// not answering, a database not created, a login refused): one line saying which and where, from
// DATABASE_URL without its password, instead of the driver's stack. Undefined for anything else,
// whose stack is then the useful part. "Not answering" is the one list the HTTP 503s use.
export function storeConnectMessage(error: unknown, databaseUrl: string | undefined): string | undefined {
  if (!databaseUrl) return undefined;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const where = describeUrl(databaseUrl);
  if (isStoreUnavailable(error)) {
    return `cannot reach PostgreSQL at ${where.server} (${typeof code === 'string' ? code : String(message)}): is it running, and is DATABASE_URL right?`;
  }
  if (code === '3D000') return `database "${where.database}" does not exist on ${where.server}: create it (createdb ${where.database}) or fix DATABASE_URL`;
  if (code === '28000' || code === '28P01') return `PostgreSQL at ${where.server} refused the login of "${where.user}" (${String(message)}): check the user and password in DATABASE_URL`;
  return undefined;
}

function describeUrl(databaseUrl: string): { server: string; database: string; user: string } {
  try {
    const url = new URL(databaseUrl);
    return {
      server: `${url.hostname || 'localhost'}:${url.port || '5432'}`,
      database: decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres',
      user: decodeURIComponent(url.username) || 'the default user',
    };
  } catch {
    return { server: 'DATABASE_URL', database: '?', user: '?' };
  }
}
