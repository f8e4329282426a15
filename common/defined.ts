/**
 * What replaces `value!` outside the tests: where the code knows a value is there (a key it has
 * just set, an index inside bounds it has just computed, a regex group that always takes part), it
 * says which value, and a broken invariant fails here with that name instead of as a TypeError
 * further on. A thrown Error is an internal error at every SOAP edge (nothing of it is sent).
 */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`internal error: ${what} is missing`);
  return value;
}

/** `items[index]` for an index the caller computed to be inside the array. */
export function itemAt<T>(items: ArrayLike<T>, index: number): T {
  if (!Number.isInteger(index) || index < 0 || index >= items.length) {
    throw new Error(`internal error: index ${index} outside an array of ${items.length}`);
  }
  return items[index] as T;
}
