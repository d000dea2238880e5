/**
 * Why a webhook's settle transaction failed, as far as it matters for retrying it: a transient failure
 * (the database connection, a lock, a resource, an operator) says nothing about the webhook and is simply
 * retried at the next claim; any other failure is taken to be about the webhook itself and counts towards
 * quarantining it (MAX_SETTLE_FAILURES), so that one webhook can never be retried for ever.
 */

export interface SettleFailure {
  readonly transient: boolean;
  /** Stable and short: a PostgreSQL SQLSTATE (`54000`), a SQLite code (`SQLITE_TOOBIG`), a system error code or an error's name. */
  readonly code: string;
}

/**
 * SQLSTATE classes that are about the database, not the statement: 08 connection exception, 40 transaction
 * rollback (serialization failure, deadlock), 53 insufficient resources, 57 operator intervention (incl. a
 * statement timeout or an administrator's shutdown), 58 system error; and 55P03 lock not available.
 */
const TRANSIENT_SQLSTATE = /^(08|40|53|57|58)...$|^55P03$/;
/** SQLite result codes of the same kind (the extended codes share their primary code's prefix). */
const TRANSIENT_SQLITE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|NOMEM|CANTOPEN|PROTOCOL|INTERRUPT|READONLY|CORRUPT|NOTADB)/;
/** Node system errors (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT, …). */
const SYSTEM_ERROR = /^E[A-Z]+$/;
/** What pg throws, without a code, when its connection is lost or never comes. */
const PG_CONNECTION_LOST =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect|Query read timeout|timeout expired)/;

const codeOf = (error: unknown): string | null => {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : null;
};

const nameOf = (error: unknown): string => {
  const name = error instanceof Error ? error.name : 'Error';
  return /^[A-Za-z0-9_]{1,40}$/.test(name) ? name : 'Error';
};

export function classifySettleFailure(error: unknown): SettleFailure {
  const code = codeOf(error);
  if (code !== null) {
    const transient = TRANSIENT_SQLSTATE.test(code) || TRANSIENT_SQLITE.test(code) || SYSTEM_ERROR.test(code);
    return { transient, code };
  }
  if (error instanceof Error && PG_CONNECTION_LOST.test(error.message)) return { transient: true, code: 'connection_lost' };
  return { transient: false, code: nameOf(error) };
}
