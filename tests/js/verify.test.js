'use strict';
// The verify functions reject corrupted inputs, each with its specific error.
const test = require('node:test');
const assert = require('node:assert/strict');
const { T, vectors, election, copy, flipHex } = require('./helpers.js');

const v = vectors('core-test-group.json');
const board = vectors('board.json');
const ballot = () => JSON.parse(v.ballots[0].ballot);
const challenged = () => JSON.parse(v.ballots[0].challenged);
const group = T.getGroup('test');

test('a flipped digit in a selection proof response', async () => {
  const e = await election('test');
  const b = ballot();
  const proof = b.contests[0].selections[1].proof;
  proof.responses[0] = flipHex(proof.responses[0]);
  await assert.rejects(T.verifyBallot(e, b), {
    name: 'InvalidProof',
    message: /^ballot [0-9A-F]{16} contest 1 option 2: range proof: proof equation for a_0 does not hold$/,
  });
});

test('a flipped digit in a commitment changes the challenge', async () => {
  const e = await election('test');
  const b = ballot();
  const proof = b.contests[1].limit_proof;
  proof.commitments[1][1] = flipHex(proof.commitments[1][1], 40);
  await assert.rejects(T.verifyBallot(e, b), {
    name: 'InvalidProof',
    message: /contest 3: selection-limit proof: challenges do not add up to the hash challenge$/,
  });
});

test('a swapped ciphertext breaks the contest hash', async () => {
  const e = await election('test');
  const b = ballot();
  const sels = b.contests[0].selections;
  [sels[0].ciphertext, sels[1].ciphertext] = [sels[1].ciphertext, sels[0].ciphertext];
  await assert.rejects(T.verifyBallot(e, b), { name: 'VerificationError', message: /contest 1: contest hash is wrong$/ });
});

test('another device label breaks the confirmation code', async () => {
  const e = await election('test');
  const b = ballot();
  b.device = 'another-device';
  await assert.rejects(T.verifyBallot(e, b), { name: 'VerificationError', message: /confirmation code is wrong$/ });
});

test('contests out of order, missing options', async () => {
  const e = await election('test');
  const b = ballot();
  b.contests.reverse();
  await assert.rejects(T.verifyBallot(e, b), { message: /contest indices not ascending, unique and in the manifest/ });
  const c = ballot();
  c.contests[0].selections.pop();
  await assert.rejects(T.verifyBallot(e, c), { message: /contest 1: selections do not match the manifest's options/ });
});

test('elements out of range, outside the subgroup, badly written', async () => {
  const e = await election('test');
  const width = 2 * group.pBytes;
  const cases = [
    ['0'.repeat(width), 'InvalidElement', /ciphertext\.alpha: element out of range \(0, p\)$/],
    [group.elementHex(group.p), 'InvalidElement', /element out of range \(0, p\)$/],
    [group.elementHex(group.p - 1n), 'InvalidElement', /element is not in the order-q subgroup$/],
    [group.elementHex(2n), 'InvalidElement', /element is not in the order-q subgroup$/],
    ['ab'.repeat(width / 2), 'CodecError', /not upper-case hexadecimal$/],
    ['AB', 'CodecError', /expected 128 hex digits, got 2$/],
  ];
  for (const [alpha, name, message] of cases) {
    const b = ballot();
    b.contests[0].selections[0].ciphertext.alpha = alpha;
    await assert.rejects(T.verifyBallot(e, b), { name, message });
  }
  const b = ballot();
  b.contests[0].selections[0].proof.challenges[0] = group.scalarHex(group.q);
  await assert.rejects(T.verifyBallot(e, b), {
    name: 'InvalidScalar',
    message: /^EncryptedBallot\.contests\[0\]\.selections\[0\]\.proof\.challenges\[0\]: scalar out of range \[0, q\)$/,
  });
});

test('a malformed document', async () => {
  const e = await election('test');
  const b = ballot();
  b.extra = 1;
  await assert.rejects(T.verifyBallot(e, b), { name: 'CodecError', message: /EncryptedBallot: unexpected field 'extra'/ });
  const c = ballot();
  c.type = 'ChallengedBallot';
  await assert.rejects(T.verifyBallot(e, c), { name: 'CodecError', message: /type "ChallengedBallot", expected EncryptedBallot/ });
});

test('a challenged ballot with another choice or nonce', async () => {
  const e = await election('test');
  const cb = challenged();
  cb.choices[0] = [1, 0, 0];
  await assert.rejects(T.verifyChallenged(e, cb), {
    name: 'VerificationError',
    message: /contest 1 option 1: the revealed nonce and choice do not reproduce the encryption$/,
  });
  const other = challenged();
  other.ballot_nonce = flipHex(other.ballot_nonce);
  await assert.rejects(T.verifyChallenged(e, other), { message: /option 1: the revealed nonce and choice do not reproduce/ });
  const over = challenged();
  over.choices[0] = [1, 1, 0];
  await assert.rejects(T.verifyChallenged(e, over), { message: /contest 1: revealed choices exceed the contest limit$/ });
});

test('election documents that do not match', async () => {
  const docs = v.election;
  const m = copy(docs);
  m.manifest.contests[0].limit = 2;
  await assert.rejects(T.loadElection(m), { name: 'VerificationError', message: /base hash H_B does not match the manifest/ });
  const k = copy(docs);
  k.parameters.election_key = group.elementHex(1n);
  await assert.rejects(T.loadElection(k), { name: 'InvalidElement', message: /election_key: the identity element is not a valid key/ });
  const g = copy(docs);
  g.parameters.group = 'standard';
  await assert.rejects(T.loadElection(g), { message: /ElectionParameters: p is not the standard group's constant/ });
  const u = copy(docs);
  u.parameters.group = 'toy';
  await assert.rejects(T.loadElection(u), { message: /unknown group "toy"/ });
});

test('plaintexts that break the manifest are refused before encryption', async () => {
  const e = await election('test');
  const cases = [
    [{}, /a ballot must cover at least one contest/],
    [{ nope: [] }, /unknown contest "nope"/],
    [{ gyosei: ['nope'] }, /unknown option "nope" in contest "gyosei"/],
    [{ gyosei: [1, 'internet-voting'] }, /an option is chosen twice in contest "gyosei"/],
    [{ gyosei: [1, 2] }, /contest "gyosei" allows at most 1 choice\(s\), got 2/],
    [{ gyosei: [], 1: [] }, /contest "gyosei" is given twice/],
  ];
  for (const [choices, message] of cases) {
    assert.throws(() => T.plaintextValues(e, choices), { name: 'BallotError', message });
  }
  assert.deepEqual(T.plaintextValues(e, { 3: [3], mobility: [] }), [[2, [0, 0, 0]], [3, [0, 0, 1]]]);
});

test('a wrong inclusion path', async () => {
  const leaves = await Promise.all(board.entries.map((x) => T.leafHash(T.utf8(x))));
  const p = board.inclusion_proofs.find((x) => x.index === 4 && x.size === 7);
  const root = T.hexToBytes(board.roots[6]);
  const proof = p.proof.map(T.hexToBytes);
  const where = /^inclusion of leaf 4 in tree of size 7: /;
  await assert.rejects(T.verifyInclusion(4, 7, leaves[3], proof, root), { name: 'LogProofError', message: /proof does not lead to the root$/ });
  const bad = proof.map((h) => h.slice());
  bad[1][0] ^= 1;
  await assert.rejects(T.verifyInclusion(4, 7, leaves[4], bad, root), { name: 'LogProofError', message: where });
  await assert.rejects(T.verifyInclusion(4, 7, leaves[4], proof.slice(1), root), { message: /proof has 2 hashes, expected 3$/ });
  await assert.rejects(T.verifyInclusion(7, 7, leaves[4], proof, root), { message: /leaf index outside the tree$/ });
  await assert.rejects(T.verifyInclusion(4, 7, leaves[4], [...proof.slice(0, 2), new Uint8Array(31)], root), { message: /proof\[2\] is not 32 bytes$/ });
  await T.verifyInclusion(4, 7, leaves[4], proof, root);
});

test('a bad tree head signature, another log, a receipt for another ballot', async () => {
  const head = copy(board.tree_heads[2]);
  head.signature = flipHex(head.signature, 10);
  await assert.rejects(T.verifyTreeHead(board.board_key, head), { name: 'VerificationError', message: /^tree head 7: signature does not verify$/ });
  const resized = copy(board.tree_heads[2]);
  resized.size = 6;
  await assert.rejects(T.verifyTreeHead(board.board_key, resized), { message: /^tree head 6: signature does not verify$/ });
  const otherKey = copy(board.board_key);
  otherKey.public_key = flipHex(otherKey.public_key);
  await assert.rejects(T.verifyTreeHead(otherKey, board.tree_heads[2]), { message: /^tree head 7: signed by another log$/ });
  const entry = JSON.parse(board.entries[5]);
  await assert.rejects(T.verifyReceipt(board.board_key, board.receipt, entry), { message: /the entry is number 5/ });
  const moved = copy(board.receipt);
  moved.inclusion_proof.reverse();
  await assert.rejects(T.verifyReceipt(board.board_key, moved, JSON.parse(board.entries[3])), { name: 'LogProofError' });
  // A valid inclusion of an entry that is not a ballot (the manifest, entry 0) is no receipt.
  const atManifest = copy(board.receipt);
  atManifest.entry = 0;
  atManifest.inclusion_proof = board.inclusion_proofs.find((p) => p.index === 0 && p.size === 7).proof;
  await assert.rejects(T.verifyReceipt(board.board_key, atManifest, JSON.parse(board.entries[0])), { message: /the entry is a manifest, not a ballot/ });
  // Another ballot's receipt, relabelled with this code.
  const other = copy(board.receipt);
  other.confirmation_code = 'AB'.repeat(32);
  await assert.rejects(T.verifyReceipt(board.board_key, other, JSON.parse(board.entries[3])), { message: /another confirmation code/ });
});

test('a board key other than the one the manifest names', async () => {
  // The manifest names the board (D7); its H_B and H_E are recomputed so that only the
  // board key offered beside it is wrong.
  const pinned = (boardHex, offeredHex) => {
    const d = copy(v.election);
    d.manifest.board = { public_key: boardHex };
    d.board_key = { format: T.FORMAT, type: 'BoardKey', public_key: offeredHex };
    return d;
  };
  const rehash = async (d) => {
    const hP = T.hexToBytes(d.parameters.parameter_base_hash);
    const hB = await T.H(hP, T.DOMAIN.base_hash, [T.encodeString(T.canonicalJSON(d.manifest))]);
    d.parameters.base_hash = T.bytesToHex(hB).toUpperCase();
    const K = group.parseElement(d.parameters.election_key, 'K', { key: true });
    const hE = await T.H(hB, T.DOMAIN.extended_base_hash, [T.encodeElement(group, K)]);
    d.parameters.extended_base_hash = T.bytesToHex(hE).toUpperCase();
    return d;
  };
  const a = 'AB'.repeat(32);
  const ok = await T.loadElection(await rehash(pinned(a, a)));
  assert.equal(T.bytesToHex(ok.boardKey).toUpperCase(), a);
  await assert.rejects(T.loadElection(await rehash(pinned(a, 'CD'.repeat(32)))), {
    name: 'VerificationError',
    message: /the board key is not the one the manifest names/,
  });
  const none = await rehash(pinned(a, a));
  delete none.board_key;
  await assert.rejects(T.loadElection(none), { message: /the board key is not the one the manifest names/ });
});
