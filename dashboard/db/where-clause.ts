import type { SqlValue } from '../../platform/sqlite.js';

/**
 * The optional filters of a list query, gathered into one `WHERE` and its parameters: a filter
 * whose value is undefined is left out, so each list states its filters once, in order.
 */
export class WhereClause {
  private readonly conditions: string[] = [];
  readonly params: SqlValue[] = [];

  /** `sql` with one `?` per value; left out when the (first) value is undefined. */
  add(sql: string, ...values: ReadonlyArray<SqlValue | undefined>): this {
    if (values.length > 0 && values[0] === undefined) return this;
    this.conditions.push(sql);
    for (const value of values) if (value !== undefined) this.params.push(value);
    return this;
  }

  /** `column IN (?, ...)` for a list that is given; an empty list matches nothing. */
  addIn(column: string, values: readonly SqlValue[] | undefined): this {
    if (values === undefined) return this;
    if (values.length === 0) return this.add('0');
    this.conditions.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    this.params.push(...values);
    return this;
  }

  /** `WHERE a AND b`, or nothing. */
  get sql(): string {
    return this.conditions.length > 0 ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}
