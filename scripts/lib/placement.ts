import { ChildSpec } from './supervised-child';

/**
 * Where each child of the cluster launcher runs, for the chaos tool's hosts mode: a Linux network
 * namespace of its own and the address it listens on there, plus extra environment (libfaketime
 * for a skewed clock). Given to `npm start` as JSON in BANK_CLUSTER_PLACEMENT, keyed by child
 * name (data, b1, b2, …, balancer); a child without an entry runs where the launcher runs.
 */
export interface Placement {
  readonly netns: string;
  readonly host: string;
  readonly env: Readonly<Record<string, string>>;
}

export type PlacementMap = ReadonlyMap<string, Placement>;

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parsePlacement(text: string | undefined): PlacementMap {
  const map = new Map<string, Placement>();
  if (text === undefined || text.trim() === '') return map;
  const raw = JSON.parse(text) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('BANK_CLUSTER_PLACEMENT must be a JSON object keyed by child name');
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const v = value as Partial<Record<keyof Placement, unknown>>;
    if (typeof v.netns !== 'string' || !NETNS_NAME.test(v.netns))
      throw new Error(`BANK_CLUSTER_PLACEMENT.${name}.netns must be a namespace name`);
    if (typeof v.host !== 'string' || !IPV4.test(v.host))
      throw new Error(`BANK_CLUSTER_PLACEMENT.${name}.host must be an IPv4 address`);
    const env = (v.env ?? {}) as Record<string, unknown>;
    for (const [k, x] of Object.entries(env))
      if (typeof x !== 'string') throw new Error(`BANK_CLUSTER_PLACEMENT.${name}.env.${k} must be a string`);
    map.set(name, Object.freeze({ netns: v.netns, host: v.host, env: Object.freeze(env as Record<string, string>) }));
  }
  return map;
}

/** The spec of a child as placed: started through `ip netns exec`, listening on its own address. */
export function placeSpec(spec: ChildSpec, placement: PlacementMap): ChildSpec {
  const p = placement.get(spec.name);
  if (p === undefined) return spec;
  return { ...spec, prefix: ['ip', 'netns', 'exec', p.netns], env: { ...spec.env, ...p.env, BANK_HOST: p.host } };
}
