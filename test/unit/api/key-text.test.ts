import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyBytes, keyText, pathSegment, unescapeSlashes } from '../../../src/api/key-text';
import { toBytes } from '../../../src/config/bytes';

/** Byte strings (one char per byte), biased towards the bytes that matter: `\`, `/`, `x`, hex digits, UTF-8 lead and continuation bytes. */
const byteString = fc
  .array(fc.oneof(fc.constantFrom(0x5c, 0x2f, 0x78, 0x46, 0x32, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xff, 0xed, 0xa0), fc.integer({ min: 0, max: 255 })), {
    maxLength: 12,
  })
  .map((codes) => String.fromCharCode(...codes));

describe('key text', () => {
  it('shows valid UTF-8 as its characters and leaves plain names alone', () => {
    expect(keyText('tenant-1')).toBe('tenant-1');
    expect(keyText('a/b')).toBe('a/b');
    expect(keyText(toBytes('café €'))).toBe('café €');
  });

  it('escapes bytes that are not UTF-8 as \\xHH and a backslash as \\\\', () => {
    expect(keyText('dup\xff')).toBe('dup\\xFF');
    expect(keyText('dup\xfe')).toBe('dup\\xFE');
    expect(keyText('dup\\xFF')).toBe('dup\\\\xFF');
    expect(keyText('cut\xc3')).toBe('cut\\xC3');
    // Overlong, surrogate and out-of-range sequences are not UTF-8.
    expect(keyText('\xc0\x80')).toBe('\\xC0\\x80');
    expect(keyText('\xed\xa0\x80')).toBe('\\xED\\xA0\\x80');
    expect(keyText('\xf4\x90\x80\x80')).toBe('\\xF4\\x90\\x80\\x80');
  });

  it('is injective, and keyBytes reads every shown name back to its bytes', () => {
    fc.assert(
      fc.property(byteString, byteString, (a, b) => {
        if (a !== b) expect(keyText(a)).not.toBe(keyText(b));
        expect(keyBytes(toBytes(keyText(a)))).toBe(a);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps a name one path segment, and a captured segment reads back as the shown name', () => {
    expect(pathSegment('a/b')).toBe('a\\x2Fb');
    expect(pathSegment('victim/0.1')).toBe('victim\\x2F0.1');
    fc.assert(
      fc.property(byteString, (a) => {
        expect(pathSegment(a)).not.toContain('/');
        expect(unescapeSlashes(pathSegment(a))).toBe(toBytes(keyText(a)));
        expect(keyBytes(pathSegment(a))).toBe(a);
      }),
      { numRuns: 3000 },
    );
  });

  it('lets a backslash that starts no escape stand for itself when addressing', () => {
    expect(keyBytes('a\\b')).toBe('a\\b');
    expect(keyBytes('a\\x4')).toBe('a\\x4');
  });
});
