/*
 * encrypt-worker.js — the booth's Web Worker: encrypts ballots off the page's thread with
 * tohyo-crypto.js, and keeps the last ballot's nonce until the voter casts or challenges.
 *
 * Start it with `new Worker('/static/js/encrypt-worker.js')`. Every request is an object
 * with `cmd`; an optional `id` is echoed in the reply so that the page can match replies
 * to requests. Every reply has `ok`; a failed request replies {ok: false, id, error:
 * message} and changes nothing.
 *
 *   {cmd: 'setup', election, window?}
 *       election: the JSON of GET /api/election, {state, manifest, parameters, board_key}.
 *       Checks the parameters against the known group and the manifest (H_P, H_B, H_E) and
 *       builds the fixed-base tables of g and K (about a second for the standard group);
 *       window: bits per table digit (default: the group's).
 *       → {ok: true, id, ms, group, insecure}   (insecure: the small test group)
 *
 *   {cmd: 'encrypt', choices, device?}
 *       choices: {contest: [option, ...]} — a contest by its id (or 1-based index), an
 *       option by its id (a string) or 1-based index (a number); an empty list is a blank
 *       contest, an absent contest is not covered. device: the device label hashed into the
 *       confirmation code (default 'tohyo').
 *       → {ok: true, id, ballot, canonical, confirmation_code, ms}
 *       ballot: the EncryptedBallot document; canonical: its exact canonical JSON (post this
 *       string as the body); ms: encryption time. The ballot nonce never leaves the worker
 *       except in a challenge: a cast ballot's nonce would let anyone who sees it (a
 *       script on the page, a screenshot) read the vote.
 *       The worker keeps the ballot and its nonce for 'challenge' (replacing any earlier).
 *
 *   {cmd: 'challenge'}
 *       → {ok: true, id, challenged, canonical, ms}: the ChallengedBallot document of the
 *       last encrypted ballot (its nonce and choices revealed) and its canonical JSON. The
 *       worker then forgets that ballot: a challenged ballot must never be cast.
 *
 *   {cmd: 'forget'}
 *       → {ok: true, id}: drop the last ballot's nonce (after it was cast).
 */
/* global importScripts, TohyoCrypto */
'use strict';

// The page names the crypto script's version (?c=...), so that a worker never pairs with a
// cached copy from another deployment.
importScripts('tohyo-crypto.js' + (self.location && self.location.search ? '?v=' + new URL(self.location.href).searchParams.get('c') : ''));

let election = null;
let last = null; // {ballot, secret} of the last encrypted ballot

async function handle(msg) {
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 1000) / 1000;
  switch (msg && msg.cmd) {
    case 'setup': {
      election = await TohyoCrypto.loadElection(msg.election, { window: msg.window });
      last = null;
      return { ms: ms(), group: election.group.name, insecure: election.group.insecure };
    }
    case 'encrypt': {
      if (!election) throw new Error('no election: send setup first');
      const out = await TohyoCrypto.encryptBallot(election, msg.choices, { device: msg.device });
      last = out;
      return {
        ballot: out.ballot,
        canonical: out.canonical,
        confirmation_code: out.ballot.confirmation_code,
        ms: ms(),
      };
    }
    case 'challenge': {
      if (!last) throw new Error('no ballot to challenge: encrypt one first');
      const { document, canonical } = TohyoCrypto.challengeBallot(last.ballot, last.secret);
      last = null;
      return { challenged: document, canonical, ms: ms() };
    }
    case 'forget':
      last = null;
      return {};
    default:
      throw new Error(`unknown command ${JSON.stringify(msg && msg.cmd)}`);
  }
}

// Requests are handled one at a time, in order: a second 'encrypt' never interleaves with
// the hashing of the first, and 'challenge' always refers to the last completed ballot.
let queue = Promise.resolve();

self.onmessage = (event) => {
  const msg = event.data;
  const id = msg && msg.id;
  queue = queue.then(() =>
    handle(msg).then(
      (reply) => self.postMessage(Object.assign({ ok: true, id }, reply)),
      (err) => self.postMessage({ ok: false, id, error: (err && err.message) || String(err) }),
    ),
  );
};
