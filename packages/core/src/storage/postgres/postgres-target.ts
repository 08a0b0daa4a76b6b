import { StorageError } from '../../errors/index.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `host:port` of a connection URL, for error messages (never the password); a StorageError for a bad URL. */
export function checkedTarget(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new Error(`unsupported protocol '${parsed.protocol}'`);
    }
    const host = decodeURIComponent(parsed.hostname) || process.env.PGHOST || 'localhost';
    return `${host}:${parsed.port || process.env.PGPORT || '5432'}`;
  } catch (err) {
    throw new StorageError(
      `invalid PostgreSQL URL: ${(err as Error).message}; check storage.postgres.url in stepwise.yaml ` +
        '(expected postgres://user:password@host:5432/database)',
      { cause: err },
    );
  }
}

/** The schema name, checked to be a plain identifier (it is quoted into SQL text). */
export function checkedSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) {
    throw new StorageError(
      `invalid PostgreSQL schema name '${schema}': use letters, digits and _ (check storage.postgres.schema)`,
    );
  }
  return schema;
}
