import sqlite3 from 'sqlite3';

export type SqlValue = string | number | bigint | null | Buffer;
export type Row = Record<string, SqlValue>;

/** A thin promise face on one sqlite3 connection: the gateway store and the central database both use it. */
export class Database {
  /** The tail of the queue of transactions: each waits for the one before it. */
  private transactions: Promise<void> = Promise.resolve();

  private constructor(private readonly db: sqlite3.Database) {}

  /** `readOnly`: a second connection for reads, which in WAL mode sees committed rows only. */
  static open(file: string, options: { readOnly?: boolean } = {}): Promise<Database> {
    return new Promise((resolve, reject) => {
      const mode = options.readOnly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
      const db = new sqlite3.Database(file, mode, (error) => {
        if (error) reject(error);
        else resolve(new Database(db));
      });
    });
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
        if (error) reject(error);
        else resolve({ changes: this.changes, lastID: this.lastID });
      });
    });
  }

  get<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.db.get(sql, params, (error: Error | null, row: T | undefined) => (error ? reject(error) : resolve(row)));
    });
  }

  all<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, params, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows)));
    });
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (error) => (error ? reject(error) : resolve())));
  }

  /**
   * Runs `work` inside BEGIN IMMEDIATE .. COMMIT. The promise resolves after COMMIT returns, which
   * (WAL, synchronous=FULL) is after the WAL was fsynced: the rows are on disk.
   * Transactions run one at a time, in call order: the desk's commits, the uplink's acks, config
   * pushes and clock corrections all write on this one connection at run time, and a second
   * BEGIN inside an open transaction would fail (or its statements would join the wrong one).
   * So `work` must never start a transaction itself (it would wait for itself forever).
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.exec('BEGIN IMMEDIATE');
      try {
        const result = await work();
        await this.exec('COMMIT');
        return result;
      } catch (error) {
        await this.exec('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /**
   * One statement in its own implicit transaction (atomic and, with synchronous=FULL, durable
   * when it resolves), queued like `transaction` so that it never lands inside another caller's
   * open transaction. Two thread-pool round trips fewer than BEGIN .. COMMIT around it.
   */
  write(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number; lastID: number }> {
    return this.exclusive(() => this.run(sql, params));
  }

  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.transactions;
    let release: () => void = () => undefined;
    this.transactions = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }


  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((error) => (error ? reject(error) : resolve())));
  }
}
