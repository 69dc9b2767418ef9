import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seeded } from '../testing/random';
import { Sha256 } from './sha256';

const node = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('incremental SHA-256', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    const enc = new TextEncoder();
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(enc.encode('abc')).hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(new Sha256().update(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).hex()).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('agrees with Node for every length around the block and padding edges, fed in uneven pieces', () => {
    const rng = seeded(3);
    const data = Uint8Array.from({ length: 1000 }, () => Math.floor(rng() * 256));
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
      const whole = data.subarray(0, n);
      expect(new Sha256().update(whole).hex()).toBe(node(whole));
      const h = new Sha256();
      for (let at = 0; at < n; at += 1 + (at % 37)) h.update(whole.subarray(at, Math.min(n, at + 1 + (at % 37))));
      expect(h.hex()).toBe(node(whole));
    }
  });
});
