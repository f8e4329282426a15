import { readFileSync } from 'node:fs';

/**
 * A WSDL as a server serves it, with the facets that depend on its configuration filled in
 * (bank.wsdl: Amount's maxInclusive = BANK_AMOUNT_MAX; data.wsdl: LeaseMillis' bounds =
 * BANK_LEASE_MS_MIN/MAX). The file states the defaults; what a server serves states what it
 * enforces, so any caller's XML Schema validator judges a value as the server does.
 */
export interface FacetValue {
  /** Name of a named xsd:simpleType of the schema. */
  readonly simpleType: string;
  /** Facet element's local name, e.g. 'maxInclusive'. */
  readonly facet: string;
  readonly value: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Sets each facet's value; throws when a simple type does not carry exactly that one facet. */
export function withFacets(wsdlText: string, facets: readonly FacetValue[]): string {
  let text = wsdlText;
  for (const { simpleType, facet, value } of facets) {
    if (!/^[0-9.+-]+$/.test(value)) throw new Error(`facet value ${JSON.stringify(value)} is not a number`);
    const pattern = new RegExp(
      `(<xsd:simpleType name="${escapeRegExp(simpleType)}">(?:(?!</xsd:simpleType>)[\\s\\S])*?<xsd:${escapeRegExp(facet)} value=")[^"]*(")`,
      'g',
    );
    let count = 0;
    text = text.replace(pattern, (_m, open: string, close: string) => {
      count++;
      return `${open}${value}${close}`;
    });
    if (count !== 1)
      throw new Error(`the WSDL's simple type ${simpleType} must carry one xsd:${facet}, found ${count}`);
  }
  return text;
}

export function wsdlWithFacets(wsdlPath: string, facets: readonly FacetValue[]): string {
  return withFacets(readFileSync(wsdlPath, 'utf8'), facets);
}
