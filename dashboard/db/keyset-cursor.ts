/**
 * Opaque keyset-paging cursors for every list the API pages: the last row's key values, as
 * base64url JSON. One format and one error for all lists, so a route maps a bad cursor to 400
 * the same way everywhere.
 */
export class CursorError extends Error {
  override name = 'CursorError';
  constructor() {
    super('cursor is not one this server gave out');
  }
}

type KeyKind = 'string' | 'number';
type KeyOf<K extends KeyKind> = K extends 'string' ? string : number;
type KeysOf<Kinds extends readonly KeyKind[]> = { [I in keyof Kinds]: KeyOf<Kinds[I]> };

export function encodeCursor(...key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key values a cursor carries, checked against the kinds the list pages by; CursorError otherwise. */
export function decodeCursor<const Kinds extends readonly KeyKind[]>(cursor: string, ...kinds: Kinds): KeysOf<Kinds> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError();
  }
  const fits = Array.isArray(value) && value.length === kinds.length && kinds.every((kind, index) => (kind === 'number' ? Number.isSafeInteger(value[index]) : typeof value[index] === 'string'));
  if (!fits) throw new CursorError();
  return value as KeysOf<Kinds>;
}

/**
 * A page from rows fetched with `LIMIT limit + 1`: the first `limit` rows, and a cursor made of
 * the last one's key when the extra row shows there is more.
 */
export function keysetPage<Row>(rows: readonly Row[], limit: number, keyOf: (row: Row) => ReadonlyArray<string | number>): { page: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(...keyOf(last)) : null };
}
