'use strict';
// Fresh randomness: ballots encrypted here verify here; the worker's message protocol.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { ROOT, T, vectors, election } = require('./helpers.js');

for (const groupName of ['test', 'standard']) {
  test(`${groupName}: a random 3×3 ballot verifies, its challenge decrypts`, async () => {
    const e = await election(groupName);
    const choices = { gyosei: ['ai-citizen-voice'], mobility: [], healthcare: ['online-home-care'] };
    const out = await T.encryptBallot(e, choices, { device: 'round-trip' });
    assert.equal(out.ballot.contests.length, 3);
    await T.verifyBallot(e, JSON.parse(out.canonical));
    const ch = T.challengeBallot(out.ballot, out.secret);
    assert.deepEqual(await T.verifyChallenged(e, JSON.parse(ch.canonical)), choices);
    const again = await T.encryptBallot(e, choices, { device: 'round-trip' });
    assert.notEqual(again.ballot.ballot_id, out.ballot.ballot_id);
    assert.notEqual(again.ballot.confirmation_code, out.ballot.confirmation_code);
  });
}

test('random scalars lie in [1, q)', () => {
  const g = T.getGroup('test');
  for (let i = 0; i < 200; i++) {
    const x = g.randomScalar();
    assert.ok(x >= 1n && x < g.q);
  }
});

test('a fixed-base table agrees with square-and-multiply at the edges', () => {
  const g = T.getGroup('test');
  const t = g.gTable(5);
  for (const e of [0n, 1n, 31n, 32n, g.q - 1n, g.q / 3n]) assert.equal(t.pow(e), g.pow(g.g, e));
  assert.throws(() => t.pow(g.q), RangeError);
});

/** Run encrypt-worker.js in a fresh context, as a browser would run it in a worker. */
function startWorker() {
  const dir = path.join(ROOT, 'web', 'static', 'js');
  const waiting = [];
  const context = vm.createContext({ crypto: globalThis.crypto, performance, TextEncoder, console });
  Object.assign(context, {
    self: context,
    importScripts: (url) => vm.runInContext(fs.readFileSync(path.join(dir, url), 'utf8'), context, { filename: url }),
    // A copy into this realm, as a real worker's messages are.
    postMessage: (reply) => waiting.shift()(structuredClone(reply)),
  });
  vm.runInContext(fs.readFileSync(path.join(dir, 'encrypt-worker.js'), 'utf8'), context, { filename: 'encrypt-worker.js' });
  return (msg) => {
    context.onmessage({ data: msg });
    return new Promise((resolve) => waiting.push(resolve));
  };
}

test('worker: setup, encrypt, challenge, forget and errors', async () => {
  const send = startWorker();
  const docs = vectors('core-test-group.json').election;
  const e = await election('test');

  assert.deepEqual(await send({ cmd: 'encrypt', choices: { gyosei: [] }, id: 1 }), {
    ok: false, id: 1, error: 'no election: send setup first',
  });
  const setup = await send({ cmd: 'setup', election: { state: 'open', ...docs }, id: 2 });
  assert.equal(setup.ok, true);
  assert.equal(setup.id, 2);
  assert.equal(setup.insecure, true);
  assert.ok(setup.ms >= 0);

  const choices = { mobility: ['smart-mobility'], healthcare: [] };
  const enc = await send({ cmd: 'encrypt', choices, id: 3 });
  assert.equal(enc.ok, true, enc.error);
  assert.equal(enc.canonical, T.canonicalJSON(enc.ballot));
  assert.equal(enc.confirmation_code, enc.ballot.confirmation_code);
  assert.equal(enc.nonce, undefined); // the nonce stays in the worker unless challenged
  assert.equal(enc.ballot.device, 'tohyo');
  await T.verifyBallot(e, JSON.parse(enc.canonical));

  const ch = await send({ cmd: 'challenge', id: 4 });
  assert.equal(ch.ok, true, ch.error);
  assert.match(ch.challenged.ballot_nonce, /^[0-9A-F]{64}$/);
  assert.equal(ch.challenged.ballot.confirmation_code, enc.confirmation_code);
  assert.equal(ch.canonical, T.canonicalJSON(ch.challenged));
  assert.deepEqual(await T.verifyChallenged(e, JSON.parse(ch.canonical)), choices);
  assert.deepEqual(await send({ cmd: 'challenge', id: 5 }), {
    ok: false, id: 5, error: 'no ballot to challenge: encrypt one first',
  });

  const device = await send({ cmd: 'encrypt', choices: { 1: [2] }, device: 'booth', id: 6 });
  assert.equal(device.ballot.device, 'booth');
  assert.deepEqual(await send({ cmd: 'forget', id: 7 }), { ok: true, id: 7 });
  assert.equal((await send({ cmd: 'challenge', id: 8 })).ok, false);

  const bad = await send({ cmd: 'encrypt', choices: { gyosei: [1, 2] }, id: 9 });
  assert.deepEqual(bad, { ok: false, id: 9, error: 'contest "gyosei" allows at most 1 choice(s), got 2' });
  const broken = { ...docs, manifest: { ...docs.manifest, quorum: 2 } };
  const refused = await send({ cmd: 'setup', election: broken, id: 10 });
  assert.match(refused.error, /trustees and quorum differ from the manifest/);
  assert.equal((await send({ cmd: 'encrypt', choices: { gyosei: [] }, id: 11 })).ok, true, 'the earlier election stays');
  assert.match((await send({ cmd: 'nope', id: 12 })).error, /unknown command "nope"/);
});
