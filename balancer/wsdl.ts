import { xmlAttribute } from '../common/xml-writer';

/**
 * bank.wsdl as the balancer serves it: the contract (with the configured maximum amount) with soap:address pointing at
 * the balancer's public URL, so a client that reads `?wsdl` here calls the balancer, not a
 * business server behind it. Built once at start.
 */
const ADDRESS = /(<soap:address\s+location=")[^"]*(")/g;

export function wsdlWithAddress(text: string, wsdlPath: string, publicUrl: string): Buffer {
  let count = 0;
  const rewritten = text.replace(ADDRESS, (_m, open: string, close: string) => {
    count++;
    return `${open}${xmlAttribute(publicUrl)}${close}`;
  });
  if (count !== 1) throw new Error(`${wsdlPath}: expected exactly one soap:address, found ${count}`);
  return Buffer.from(rewritten, 'utf8');
}
