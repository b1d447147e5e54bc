'use strict';
// Checkpoints and the witnesses' cosignatures (tests/vectors/checkpoint.json): every note
// gets the verdict e2e/checkpoint.py gives it, with the same error message, and receipts
// that carry a checkpoint say whether their head is witnessed.
const test = require('node:test');
const assert = require('node:assert/strict');
const { T, vectors, copy } = require('./helpers.js');

const v = vectors('checkpoint.json');
const board = vectors('board.json');
const head = v.tree_heads[v.tree_heads.length - 1];

/** What verifyCheckpoint resolved to, in the vector's terms (or the error's message). */
async function verdict(note, treeHead, witnessing = v.witnessing) {
  try {
    const r = await T.verifyCheckpoint(v.board_key, witnessing, note, treeHead);
    return { size: r.size, root: r.root, cosigners: r.cosigners, witnessed: r.witnessed };
  } catch (e) {
    if (!(e instanceof T.VerificationError)) throw e;
    assert.equal(e.name, 'NoteError', e.message);
    return { error: e.message };
  }
}

test('the board key and the vectors are board.json\'s', () => {
  assert.deepEqual(v.board_key, board.board_key);
  assert.deepEqual(v.tree_heads, board.tree_heads);
  assert.deepEqual(v.entry, board.entries[board.receipt.entry]);
});

test('key ids, verifier keys and the checkpoint text', async () => {
  const boardKey = T.hexToBytes(v.board_key.public_key);
  const w = T.parseWitnessing(v.witnessing);
  assert.equal(T.bytesToHex(await T.noteKeyId(w.origin, 0x01, boardKey)).toLowerCase(), v.board_key_id);
  const vkey = (name, kind, key) => `${name}+${T.bytesToHex(key).toLowerCase()}+`;
  assert.ok(v.board_vkey.startsWith(vkey(w.origin, 1, T.hexToBytes(v.board_key_id))));
  // A verifier key's base64 is type ∥ key.
  assert.deepEqual(T.base64Decode(v.board_vkey.split('+').slice(2).join('+')), Uint8Array.of(1, ...boardKey));
  for (const [i, x] of w.witnesses.entries()) {
    const info = v.witnesses[i];
    assert.equal(info.name, x.name);
    assert.ok(info.in_manifest);
    assert.equal(T.bytesToHex(await T.noteKeyId(x.name, 0x04, x.publicKey)).toLowerCase(), info.key_id);
    assert.deepEqual(T.base64Decode(info.vkey.split('+').slice(2).join('+')), Uint8Array.of(4, ...x.publicKey));
  }
  const cp = T.parseCheckpoint(v.checkpoint);
  assert.equal(cp.origin, w.origin);
  assert.equal(cp.size, head.size);
  assert.equal(T.bytesToHex(cp.root), head.root);
  assert.equal(v.cosigned_message, `cosignature/v1\ntime ${v.cosigned_at}\n${v.checkpoint}`);
});

test('the good note parses into its text and signature lines, and renders back', () => {
  const good = v.notes[0].note;
  const n = T.parseNote(good);
  assert.equal(n.text, v.checkpoint);
  assert.equal(n.signatures.length, 3);
  const line = (s) => `\u2014 ${s.name} ${T.base64Encode(new Uint8Array([...s.keyId, ...s.signature]))}\n`;
  assert.equal(n.text + '\n' + n.signatures.map(line).join(''), good);
  assert.equal(n.signatures[0].signature.length, 64); // the board's Ed25519 signature
  assert.equal(n.signatures[1].signature.length, 72); // a timestamp and the witness's
  // The same note as UTF-8 bytes.
  assert.deepEqual(T.parseNote(T.utf8(good)), n);
});

for (const c of v.notes) {
  test(`note: ${c.what}`, async () => {
    assert.deepEqual(await verdict(c.note, v.tree_heads[c.head]), c.expect);
  });
}

for (const c of v.receipts) {
  test(`receipt: ${c.what}`, async () => {
    const entry = JSON.parse(v.entry);
    let got;
    try {
      const r = await T.verifyReceipt(v.board_key, c.receipt, entry, v.witnessing);
      assert.equal(r.checkpoint, true);
      assert.equal(r.quorum, 2);
      assert.equal(r.witnesses, 3);
      got = { size: r.size, root: r.root, cosigners: r.cosigners, witnessed: r.witnessed };
    } catch (e) {
      if (!(e instanceof T.VerificationError)) throw e;
      got = { error: e.message };
    }
    assert.deepEqual(got, c.expect);
    // Without witnessing in the manifest the checkpoint is not looked at.
    assert.equal(await T.verifyReceipt(v.board_key, c.receipt, entry), null);
  });
}

test('a receipt without a checkpoint under a manifest with witnesses is not witnessed', async () => {
  const entry = JSON.parse(v.entry);
  const r = await T.verifyReceipt(board.board_key, board.receipt, entry, v.witnessing);
  assert.deepEqual(
    { checkpoint: r.checkpoint, witnessed: r.witnessed, cosigners: r.cosigners, quorum: r.quorum, size: r.size },
    { checkpoint: false, witnessed: false, cosigners: [], quorum: 2, size: 7 },
  );
  // The receipt must still be right: its inclusion proof is checked before anything else.
  const bad = copy(v.receipts[0].receipt);
  bad.inclusion_proof.reverse();
  await assert.rejects(T.verifyReceipt(v.board_key, bad, entry, v.witnessing), { name: 'LogProofError' });
  const extra = copy(v.receipts[0].receipt);
  extra.other = 1;
  await assert.rejects(T.verifyReceipt(v.board_key, extra, entry, v.witnessing), { message: /receipt: unexpected field 'other'/ });
  const notText = copy(v.receipts[0].receipt);
  notText.checkpoint = 7;
  await assert.rejects(T.verifyReceipt(v.board_key, notText, entry, v.witnessing), { message: /receipt\.checkpoint: expected a string/ });
});

test('a checkpoint of another tree head in the receipt', async () => {
  const entry = JSON.parse(v.entry);
  // The receipt's head is size 7; the checkpoint is of the head of size 4.
  const four = v.tree_heads[1];
  const text = `${v.witnessing.origin}\n${four.size}\n${T.base64Encode(T.hexToBytes(four.root))}\n`;
  const r = copy(v.receipts[0].receipt);
  r.checkpoint = r.checkpoint.replace(v.checkpoint, text);
  // The board's signature is over the text of size 7: the swap breaks it first.
  await assert.rejects(T.verifyReceipt(v.board_key, r, entry, v.witnessing), {
    name: 'NoteError',
    message: "checkpoint 4: the board's signature on the checkpoint does not verify",
  });
});

test('notes the vectors cannot hold: too large, not UTF-8, a lone surrogate', () => {
  const good = v.notes[0].note;
  const big = good + `\u2014 x ${'A'.repeat(16385 - T.utf8(good + '\u2014 x \n').length)}\n`;
  assert.equal(T.utf8(big).length, 16385);
  assert.throws(() => T.parseNote(big), { name: 'NoteError', message: 'note: note too large' });
  const bytes = T.utf8(good);
  bytes[3] = 0xff;
  assert.throws(() => T.parseNote(bytes), { message: 'note: note is not UTF-8' });
  assert.throws(() => T.parseNote(good.replace('tsukuba', '\uD800')), { message: 'note: note is not UTF-8' });
  assert.throws(() => T.parseNote(42), { message: 'note: note is not text' });
  // A byte order mark is text like any other (not stripped): it is part of the origin.
  assert.equal(T.parseCheckpoint('\uFEFF' + v.checkpoint).origin, '\uFEFF' + v.witnessing.origin);
  assert.equal(T.parseNote('\uFEFF' + good).text, '\uFEFF' + v.checkpoint);
});

test('base64 as Python and Go read it', () => {
  assert.deepEqual(T.base64Decode(''), new Uint8Array(0));
  assert.deepEqual(T.base64Decode('AB=='), Uint8Array.of(0)); // unused bits are not checked
  for (const s of ['AA=', 'AA', 'A===', '====', 'AA==AA==', 'AA=A', 'A A=', 'AA-_', 'AAAAA', 'AAA']) {
    assert.equal(T.base64Decode(s), null, s);
  }
  for (let n = 0; n < 8; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => 37 * i + 200);
    assert.equal(T.base64Encode(b), Buffer.from(b).toString('base64'));
    assert.deepEqual(T.base64Decode(T.base64Encode(b)), b);
  }
});

test('a manifest\'s witnessing that cannot be right is refused', async () => {
  const good = v.notes[0].note;
  const w = (f) => {
    const x = copy(v.witnessing);
    f(x);
    return x;
  };
  const cases = [
    [w((x) => { x.quorum = 0; }), /quorum: must be between 1 and the witnesses \(3\)/],
    [w((x) => { x.quorum = 4; }), /quorum: must be between 1 and the witnesses \(3\)/],
    [w((x) => { x.witnesses = []; }), /witnesses: must list at least one witness/],
    [w((x) => { x.witnesses[1].name = x.witnesses[0].name; }), /witnesses\[1\]: the same witness twice/],
    [w((x) => { x.witnesses[2].public_key = x.witnesses[0].public_key; }), /witnesses\[2\]: the same witness twice/],
    [w((x) => { x.witnesses[0].public_key = v.board_key.public_key; }), /the board cannot witness itself/],
    [w((x) => { x.witnesses[0].public_key = 'ab'.repeat(32); }), /public_key: not upper-case hexadecimal/],
    [w((x) => { x.extra = 1; }), /Manifest\.witnessing: unexpected field 'extra'/],
    [w((x) => { x.origin = 'a b'; }), /origin 'a b' is not a valid note key name/],
  ];
  for (const [witnessing, message] of cases) {
    await assert.rejects(T.verifyCheckpoint(v.board_key, witnessing, good, head), { message });
  }
});

test('a quorum of 1 or 3 changes only the verdict', async () => {
  const good = v.notes[0].note; // two cosignatures
  const q = (n) => Object.assign(copy(v.witnessing), { quorum: n });
  assert.equal((await verdict(good, head, q(1))).witnessed, true);
  assert.equal((await verdict(good, head, q(3))).witnessed, false);
  const r = await T.verifyCheckpoint(v.board_key, v.witnessing, good, head);
  assert.deepEqual(r.cosignatures, r.cosigners.map((witness) => ({ witness, time: v.cosigned_at })));
  // Without a head to compare with, the note alone.
  assert.equal((await T.verifyCheckpoint(T.hexToBytes(v.board_key.public_key), v.witnessing, good)).size, 7);
});

test('key names with characters Python counts as spaces, and their messages', () => {
  const cases = [
    ['a\u0085b', "key name 'a\\x85b'"],
    ['a\u00A0b', "key name 'a\\xa0b'"],
    ['a\u2028b', "key name 'a\\u2028b'"],
    ["{it's", 'key name "{it\'s"'],
  ];
  for (const [name, shown] of cases) {
    const note = `${v.checkpoint}\n\u2014 ${name} AQIDBAU=\n`;
    assert.throws(() => T.parseNote(note), { name: 'NoteError', message: `key name: ${shown} is not a valid note key name` });
  }
  // U+FEFF is not a space for Python (JavaScript's \s would say it is).
  assert.equal(T.parseNote(`${v.checkpoint}\n\u2014 a\uFEFFb AQIDBAU=\n`).signatures[0].name, 'a\uFEFFb');
  assert.throws(() => T.parseNote(`${v.checkpoint}\n\u2014 ${'x'.repeat(256)} AQIDBAU=\n`), { message: /is not a valid note key name/ });
});
