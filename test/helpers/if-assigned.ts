/**
 * For after() hooks: a variable that before() assigns is typed as always set, but it is still
 * undefined when before() threw first. This widens the type back so `ifAssigned(x)?.stop()` is
 * checked as the optional call it has to be (a plain `x?.stop()` reads as unnecessary to the linter).
 */
export function ifAssigned<T>(value: T): T | undefined {
  return value;
}
