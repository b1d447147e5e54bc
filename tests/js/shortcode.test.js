'use strict';
// Short codes (tests/vectors/short_codes.json): web/static/js/shortcode.js reads every code
// and every typed text as e2e/shortcode.py does.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { ROOT, vectors } = require('./helpers.js');

const S = require(path.join(ROOT, 'web', 'static', 'js', 'shortcode.js'));
const v = vectors('short_codes.json');

test('each code has its short form, from hex or bytes', () => {
  for (const c of v.codes) {
    assert.strictEqual(S.short(c.code), c.short);
    assert.strictEqual(S.short(c.code.toUpperCase()), c.short);
    assert.strictEqual(S.short(Uint8Array.from(Buffer.from(c.code, 'hex'))), c.short);
    const canonical = c.short.replace('-', '');
    assert.strictEqual(S.prefixHex(canonical), c.prefix);
    assert.ok(S.matches(canonical, c.code));
  }
});

test('each typed text reads as pinned', () => {
  for (const x of v.inputs) {
    const p = S.parse(x.input);
    const got = p === null ? null : [p.kind, p.kind === 'full' ? p.hex : p.short];
    assert.deepStrictEqual(got, x.kind === null ? null : [x.kind, x.value], JSON.stringify(x.input));
  }
});

test('a code of another length and a short code outside the alphabet are refused', () => {
  assert.throws(() => S.short('ab'.repeat(31)));
  assert.throws(() => S.prefixHex('ABCD-EFGH'));
  assert.throws(() => S.prefixHex('abcdefgh'));
  assert.ok(!S.matches('00000000', 'ff'.repeat(32)));
});
