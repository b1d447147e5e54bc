'use strict';
// Every vector of tests/vectors/core-*.json, reproduced by tohyo-crypto.js in both groups.
const test = require('node:test');
const assert = require('node:assert/strict');
const { T, GROUP_FILES, vectors, big, randomness, election } = require('./helpers.js');

for (const [groupName, file] of Object.entries(GROUP_FILES)) {
  const v = vectors(file);
  const group = T.getGroup(groupName);

  test(`${groupName}: group constants`, () => {
    assert.equal(group.p.toString(16).toUpperCase(), v.parameters.p);
    assert.equal(group.q.toString(16).toUpperCase(), v.parameters.q);
    assert.equal(group.g.toString(16).toUpperCase(), v.parameters.g);
  });

  test(`${groupName}: hashes H_P, H_I, H_E and H_q`, async () => {
    const hP = await T.parameterBaseHash(group, 5, 3);
    assert.equal(T.bytesToHex(hP), v.hashes[0].expected);
    const K = group.parseElement(v.public_key, 'public_key', { key: true });
    const hE = await T.H(hP, T.DOMAIN.extended_base_hash, [T.encodeElement(group, K)]);
    assert.equal(T.bytesToHex(hE), v.hashes[2].expected);
    const hq = await T.Hq(group, hP, 0x21, [T.encodeInt(1), T.encodeInt(2), T.encodeScalar(group, 5n)]);
    assert.equal(group.scalarHex(hq), v.h_q_example.expected);
  });

  test(`${groupName}: encryptions`, () => {
    const key = new T.PublicKey(group, big(v.public_key));
    for (const e of v.encryptions) {
      const ct = T.encrypt(key, e.value, big(e.nonce));
      assert.deepEqual(T.ciphertextDocument(group, ct), e.ciphertext);
    }
  });

  test(`${groupName}: range proofs are reproduced and verify`, async () => {
    const key = new T.PublicKey(group, big(v.public_key));
    for (const rp of v.range_proofs) {
      const ct = { alpha: big(rp.ciphertext.alpha), beta: big(rp.ciphertext.beta) };
      const hI = T.hexToBytes(rp.h_i);
      const proof = await T.proveRangeWith(
        key, hI, rp.indices, ct, big(rp.nonce), rp.value, rp.limit, rp.u.map(big), rp.simulated_challenges.map(big),
      );
      assert.deepEqual(T.rangeProofDocument(group, proof), rp.proof);
      const challenge = proof.challenges.reduce((s, c) => s + c, 0n) % group.q;
      assert.equal(group.scalarHex(challenge), rp.challenge);
      await T.verifyRangeProof(key, hI, rp.indices, rp.ciphertext, rp.proof, rp.limit);
      const bad = JSON.parse(JSON.stringify(rp.proof));
      bad.responses[rp.limit] = group.scalarHex((big(bad.responses[rp.limit]) + 1n) % group.q);
      await assert.rejects(T.verifyRangeProof(key, hI, rp.indices, rp.ciphertext, bad, rp.limit), {
        name: 'InvalidProof',
        message: new RegExp(`^range proof: range proof: proof equation for a_${rp.limit} does not hold$`),
      });
    }
  });

  test(`${groupName}: Schnorr proof of the key ceremony verifies`, async () => {
    const s = v.schnorr;
    const publics = s.publics.map((x, i) => group.parseElement(x, `publics[${i}]`));
    await T.verifySchnorr(group, T.hexToBytes(s.h_p), s.index, publics, s.proof);
    await assert.rejects(
      T.verifySchnorr(group, T.hexToBytes(s.h_p), s.index + 1, publics, s.proof),
      { name: 'InvalidProof', message: /Schnorr proof of knowledge: proof equation 0 does not hold/ },
    );
  });

  test(`${groupName}: the election documents load (H_P, H_B, H_E recomputed)`, async () => {
    const e = await election(groupName);
    assert.equal(T.bytesToHex(e.hE), v.election.parameters.extended_base_hash);
    assert.deepEqual(e.contests.map((c) => c.options.length), [3, 3, 3]);
  });

  for (const [n, b] of v.ballots.entries()) {
    test(`${groupName}: ballot ${n} byte for byte, its confirmation code and challenge`, async () => {
      const e = await election(groupName);
      assert.deepEqual(T.plaintextValues(e, b.choices), b.values);
      const out = await T.encryptBallotWith(
        e, b.values, T.hexToBytes(b.ballot_id), T.hexToBytes(b.ballot_nonce), randomness(b), b.device,
      );
      assert.equal(out.canonical, b.ballot);
      assert.equal(T.canonicalJSON(out.ballot), b.ballot);
      assert.equal(out.ballot.confirmation_code, b.confirmation_code);
      const ch = T.challengeBallot(out.ballot, out.secret);
      assert.equal(ch.canonical, b.challenged);
      assert.deepEqual(JSON.parse(b.challenged), ch.document);
    });

    test(`${groupName}: ballot ${n} verifies, its challenge decrypts to the choices`, async () => {
      const e = await election(groupName);
      await T.verifyBallot(e, JSON.parse(b.ballot));
      assert.deepEqual(await T.verifyChallenged(e, JSON.parse(b.challenged)), b.choices);
      // The intermediate values, for whoever debugs another implementation.
      const hI = await T.H(e.hE, T.DOMAIN.selection_identifier, [T.hexToBytes(b.ballot_id)]);
      assert.equal(T.bytesToHex(hI), b.h_i);
      const nonce = T.hexToBytes(b.ballot_nonce);
      for (const [n, [ci, row]] of b.values.entries()) {
        for (let oi = 1; oi <= row.length; oi++) {
          const xi = await T.Hq(e.group, hI, T.DOMAIN.selection_nonce, [T.encodeInt(ci), T.encodeInt(oi), nonce]);
          assert.equal(e.group.scalarHex(xi), b.selection_nonces[n][oi - 1]);
        }
      }
    });
  }
}

test('board: leaf hashes, roots and every inclusion proof', async () => {
  const v = vectors('board.json');
  const leaves = await Promise.all(v.entries.map((e) => T.leafHash(T.utf8(e))));
  assert.deepEqual(leaves.map(T.bytesToHex), v.leaf_hashes);
  for (const p of v.inclusion_proofs) {
    await T.verifyInclusion(p.index, p.size, leaves[p.index], p.proof.map(T.hexToBytes), T.hexToBytes(v.roots[p.size - 1]));
  }
  // The entries are canonical: re-encoding the parsed JSON gives the same text.
  for (const e of v.entries) assert.equal(T.canonicalJSON(JSON.parse(e)), e);
});

test('board: signed tree heads and the receipt', async () => {
  const v = vectors('board.json');
  for (const head of v.tree_heads) await T.verifyTreeHead(v.board_key, head);
  const last = v.tree_heads[v.tree_heads.length - 1];
  const { signature, format, type, ...body } = last;
  assert.equal(T.canonicalJSON({ format, type: 'TreeHeadBody', ...body }), v.signed_body);
  await T.verifyReceipt(v.board_key, v.receipt, JSON.parse(v.entries[v.receipt.entry]));
});
