// Checks in the voter's own browser, shared by the booth and the verify page: a receipt
// against the board's signed tree head (RFC 9162 inclusion proof, Ed25519 signature), and
// a ballot's proofs or a challenged ballot's opening. Every check throws with a message
// naming what failed; nothing here trusts the server's word.
"use strict";
(function (root) {
  var pageElection = null;

  // The election for checks on this page: a small fixed-base window keeps the page
  // responsive (the booth's worker builds the big tables for encryption).
  async function election(doc) {
    if (!pageElection) pageElection = await TohyoCrypto.loadElection(doc, { window: 4 });
    return pageElection;
  }

  async function getJson(path) {
    var resp = await fetch(path, { headers: { Accept: "application/json" } });
    var body = null;
    try { body = await resp.json(); } catch (_) { body = null; }
    if (!resp.ok) {
      var e = new Error((body && body.error) || String(resp.status));
      e.status = resp.status;
      e.code = body && body.error;
      throw e;
    }
    return body;
  }

  function optionIds(held) {
    var out = {};
    Object.keys(held).forEach(function (k) {
      out[k] = held[k].map(function (o) { return typeof o === "string" ? o : o.id; });
    });
    return out;
  }

  // Check a receipt: its entry is in the signed tree, and the entry's ballot is valid.
  // Resolves to {entry, kind, held} (held: a challenged ballot's opened choices).
  async function check(receipt, electionDoc) {
    var entry = await getJson("/api/entries/" + Number(receipt.entry));
    await TohyoCrypto.verifyReceipt(electionDoc.board_key, receipt, entry);
    var e = await election(electionDoc);
    var payload = JSON.parse(entry.payload);
    var held = null;
    if (entry.kind === "ballot") await TohyoCrypto.verifyBallot(e, payload);
    else if (entry.kind === "challenged") held = optionIds(await TohyoCrypto.verifyChallenged(e, payload));
    return { entry: entry, kind: entry.kind, held: held };
  }

  // Open a challenged ballot document: recompute every encryption from the revealed nonce.
  async function opened(challengedDoc, electionDoc) {
    return optionIds(await TohyoCrypto.verifyChallenged(await election(electionDoc), challengedDoc));
  }

  // Opened choices {contest id: [option ids]} as text in the page's language.
  function describe(electionDoc, held, lang, blank) {
    return Object.keys(held).map(function (cid) {
      var c = electionDoc.manifest.contests.find(function (x) { return x.id === cid; });
      var names = held[cid].map(function (id) {
        var o = c.options.find(function (x) { return x.id === id; });
        return o ? o.label[lang] : id;
      });
      return c.title[lang] + ": " + (names.length ? names.join("、") : blank);
    }).join(" / ");
  }

  root.TohyoReceipt = { check: check, opened: opened, getJson: getJson, describe: describe };
})(globalThis);
