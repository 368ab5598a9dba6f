import { PGlite, types } from '@electric-sql/pglite';
import { EventEmitter } from 'node:events';

/**
 * A `pg`-shaped pool over one embedded PGlite database, for TypeORM's postgres driver.
 *
 * PGlite is a single connection. TypeORM checks a client out of the pool for each query runner and
 * holds it for a whole transaction, so this pool hands out its one client to one holder at a time
 * and queues the rest: without that, two transactions running concurrently would interleave their
 * statements on the same session (typeorm-pglite's pool hands the client to everyone at once).
 */
export class PGlitePool extends EventEmitter {
  private readonly waiting: Array<() => void> = [];
  private busy = false;

  constructor(private readonly db: PGlite) {
    super();
  }

  connect(
    callback: (error: Error | null, client: PGlitePool | null, release: (error?: unknown) => void) => void,
  ) {
    const grant = () => {
      let released = false;
      callback(null, this, () => {
        if (released) return;
        released = true;
        const next = this.waiting.shift();
        if (next) next();
        else this.busy = false;
      });
    };
    if (this.busy) {
      this.waiting.push(grant);
    } else {
      this.busy = true;
      grant();
    }
  }

  async query(
    sql: string,
    paramsOrCallback?: unknown[] | ((error: Error | null, result: unknown) => void),
    maybeCallback?: (error: Error | null, result: unknown) => void,
  ): Promise<unknown> {
    const callback = typeof paramsOrCallback === 'function' ? paramsOrCallback : maybeCallback;
    const params = Array.isArray(paramsOrCallback) ? paramsOrCallback : undefined;
    try {
      // exec runs several statements (migrations); query binds parameters. TypeORM expects the
      // result of the last statement.
      const result =
        params && params.length > 0
          ? await this.db.query(sql, params)
          : await this.db
              .exec(sql)
              .then((results) => results[results.length - 1] ?? { rows: [], fields: [] });
      callback?.(null, result);
      return result;
    } catch (error) {
      callback?.(error as Error, null);
      if (!callback) throw error;
      return undefined;
    }
  }

  end(callback?: (error: Error | null) => void) {
    this.db.close().then(
      () => callback?.(null),
      (error: unknown) => callback?.(error as Error),
    );
  }

  /** The module object TypeORM's postgres driver expects in its `driver` option. */
  static driverFor(db: PGlite): unknown {
    const pool = new PGlitePool(db);
    return {
      Pool: function Pool() {
        return pool;
      },
    };
  }
}

/** PGlite serialises booleans its own way; TypeORM sends true/false/1/0. */
export const pgliteSerializers = {
  [types.BOOL]: (value: unknown): string => {
    if (value === true || value === 'true' || value === 1) return 'TRUE';
    if (value === false || value === 'false' || value === 0) return 'FALSE';
    return String(value);
  },
};

/** node-postgres returns int8 as a string (it may not fit a double); PGlite is made to do the same. */
export const pgliteParsers = {
  [types.INT8]: (value: string): string => value,
};
