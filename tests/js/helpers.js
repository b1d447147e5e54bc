'use strict';
// Shared by the tests in this directory: the library under test and the vector files.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const T = require(path.join(ROOT, 'web', 'static', 'js', 'tohyo-crypto.js'));

const GROUP_FILES = { test: 'core-test-group.json', standard: 'core-standard-group.json' };

function vectors(file) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', file), 'utf8'));
}

const big = (hex) => (hex === null ? null : BigInt('0x' + hex));

/** A vector ballot's proof_randomness as encryptBallotWith takes it. */
function randomness(vector) {
  const proof = (r) => ({ u: r.u.map(big), c: r.c.map(big) });
  return vector.proof_randomness.map((r) => ({ selections: r.selections.map(proof), limit: proof(r.limit) }));
}

/** Elections are loaded once per group: the standard group's tables take a second. */
const elections = new Map();
function election(groupName) {
  if (!elections.has(groupName)) elections.set(groupName, T.loadElection(vectors(GROUP_FILES[groupName]).election));
  return elections.get(groupName);
}

/** A copy of a JSON value. */
const copy = (x) => JSON.parse(JSON.stringify(x));

/** Replace the hex digit at position i of s with another hex digit. */
function flipHex(s, i = s.length - 1) {
  const c = s[i] === '0' ? '1' : '0';
  return s.slice(0, i) + c + s.slice(i + 1);
}

module.exports = { ROOT, T, GROUP_FILES, vectors, big, randomness, election, copy, flipHex };
