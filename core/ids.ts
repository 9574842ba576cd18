import { v7 as uuidv7 } from 'uuid';

/** Globally unique, time-ordered punch id (UUIDv7): made at the gateway, the server's dedup key. */
export function newPunchId(): string {
  return uuidv7();
}

export function newBatchId(): string {
  return uuidv7();
}
