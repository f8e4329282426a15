import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p` that ends. Node 20's `mkdirSync(p, { recursive: true })` loops forever when a parent
 * exists but cannot hold the child (a path under /proc, a dangling symlink): mkdir says ENOENT,
 * the walk steps back to the parent, finds it, steps forward again. Here each missing level is
 * made once, from the top down, and the first failure is final, with a message naming the path.
 */
export function makeDirectory(path: string, mode?: number): void {
  const missing: string[] = [];
  for (let p = resolve(path); !isDirectory(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p, mode === undefined ? undefined : { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(p)) continue;
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new Error(`cannot create the directory ${path}: ${reason} at ${p}`);
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
