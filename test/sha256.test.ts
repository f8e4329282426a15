import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { transactionIdFor } from '../business/transaction-id';
import { hashToken } from '../common/credentials';
import { sha256Hex } from '../common/sha256';
import { SeededRandom } from '../common/seeded-random';

describe('sha256Hex: one-shot SHA-256 of a UTF-8 text', () => {
  const reference = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

  it('is createHash(sha256) of the UTF-8 bytes, for ASCII, non-ASCII, empty and long texts', () => {
    const random = new SeededRandom(7);
    const texts = ['', 'a', 'ünïcödé €', '\u{1F4B6}', 'x'.repeat(100_000)];
    for (let i = 0; i < 500; i++)
      texts.push(String.fromCodePoint(...Array.from({ length: random.int(0, 80) }, () => random.int(32, 0x2fff))));
    for (const text of texts) expect(sha256Hex(text), JSON.stringify(text.slice(0, 20))).to.equal(reference(text));
  });

  it('leaves the transaction ids and the token hashes as they were', () => {
    expect(transactionIdFor('alice', 'lb-0123456789abcdef01234567')).to.equal('te0d118d0536a089298c7e88da900c80d');
    expect(hashToken('ünïcödé €')).to.equal('e0339c1498aa417b5720056e6a8697194c6d062b0e50255bad55c1c5c4a11b14');
  });
});
