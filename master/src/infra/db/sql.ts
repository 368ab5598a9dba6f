import { DataSource, type EntityManager } from 'typeorm';

export type SqlExecutor = DataSource | EntityManager;

/**
 * Runs one SQL statement and returns its rows. TypeORM's plain `query()` returns UPDATE ... RETURNING
 * as [rows, count] on node-postgres but as rows elsewhere; the structured result is the same on both.
 */
export async function sqlRows<T>(executor: SqlExecutor, text: string, params: unknown[] = []): Promise<T[]> {
  const manager = executor instanceof DataSource ? executor.manager : executor;
  const existing = manager.queryRunner;
  if (existing && !existing.isReleased) {
    return (await existing.query(text, params, true)).records as T[];
  }
  const runner = manager.connection.createQueryRunner();
  try {
    return (await runner.query(text, params, true)).records as T[];
  } finally {
    await runner.release();
  }
}

export async function sqlOne<T>(
  executor: SqlExecutor,
  text: string,
  params: unknown[] = [],
): Promise<T | undefined> {
  const rows = await sqlRows<T>(executor, text, params);
  return rows[0];
}

/** True when an error is PostgreSQL's unique_violation (23505), optionally on one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const driverError =
    (error as { driverError?: { code?: string; constraint?: string } }).driverError ?? error;
  const { code, constraint: name } = driverError as { code?: string; constraint?: string };
  return (
    code === '23505' &&
    (constraint === undefined || name === constraint || String(error).includes(constraint))
  );
}
