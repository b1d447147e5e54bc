// Checks in the voter's own browser, shared by the booth and the verify page: a receipt
// against the board's signed tree head (RFC 9162 inclusion proof, Ed25519 signature) and,
// when the manifest names witnesses, the cosignatures of that head; and a ballot's proofs
// or a challenged ballot's opening. Every check throws with a message naming what failed;
// nothing here trusts the server's word.
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
  // Resolves to {entry, kind, held, witness} (held: a challenged ballot's opened choices;
  // witness: who cosigned the receipt's head, as TohyoCrypto.verifyReceipt says — null in
  // an election without witnesses). A bad checkpoint or cosignature throws.
  async function check(receipt, electionDoc) {
    var entry = await getJson("/api/entries/" + Number(receipt.entry));
    var witness = await recheck(receipt, electionDoc, entry);
    var e = await election(electionDoc);
    var payload = JSON.parse(entry.payload);
    var held = null;
    if (entry.kind === "ballot") await TohyoCrypto.verifyBallot(e, payload);
    else if (entry.kind === "challenged") held = optionIds(await TohyoCrypto.verifyChallenged(e, payload));
    return { entry: entry, kind: entry.kind, held: held, witness: witness };
  }

  // A newer receipt for an entry that check() has checked (its ballot's proofs need no
  // second look): the inclusion in the receipt's head and that head's cosignatures.
  // Resolves to the witness description (null without witnesses).
  function recheck(receipt, electionDoc, entry) {
    return TohyoCrypto.verifyReceipt(electionDoc.board_key, receipt, entry, electionDoc.manifest.witnessing);
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // Ask the board again for the receipt of ``code`` (GET /api/receipts/<code>) every
  // ``every`` ms until ``until`` (a Date.now() time): the board answers against the latest
  // head a quorum of witnesses cosigned, once there is one. Each answer is checked with
  // recheck() for the entry check() saw; one that does not verify throws (a bad signature
  // is an error, not a wait). Resolves to {receipt, witness} for the first witnessed head,
  // or null when the time is up or ``stopped()`` says so; ``progress(witness, receipt)``
  // hears of each checked answer short of the quorum. An unanswered request is tried again.
  async function awaitWitnessed(code, entry, electionDoc, opts) {
    var every = opts.every || 1000;
    for (;;) {
      var left = opts.until - Date.now();
      if (left <= 0) return null;
      await sleep(Math.min(every, left));
      if (opts.stopped && opts.stopped()) return null;
      var next;
      try {
        next = await getJson("/api/receipts/" + code);
      } catch (_) {
        continue;
      }
      if (opts.stopped && opts.stopped()) return null;
      if (next.confirmation_code !== code || next.entry !== entry.index) {
        throw new Error(opts.other || "the receipt is not for this ballot");
      }
      var witness = await recheck(next, electionDoc, entry);
      if (witness && witness.witnessed) return { receipt: next, witness: witness };
      if (opts.progress) opts.progress(witness, next);
    }
  }

  // How long a page waits for the witnesses to cosign a head, in ms: ``setting`` (the
  // site's data-witness-wait, seconds) or ?witness_wait= (a rehearsal, a test); 30 s.
  function witnessWait(setting) {
    var asked = setting || new URLSearchParams(location.search).get("witness_wait");
    var s = Number(asked);
    return (asked && isFinite(s) && s >= 0 ? Math.min(s, 600) : 30) * 1000;
  }

  // Witness names as a list, with the page's language's separator (its catalog's list.sep).
  function names(list, sep) {
    return list.join(sep);
  }

  // A manifest text in the page's language, else in its language without script or region
  // (zh for zh-Hans), else English: as e2e.manifest.Text.get does (docs/admin.md).
  function pick(t, lang) {
    return t ? (t[lang] || t[lang.split("-")[0]] || t.en || t.ja || "") : "";
  }

  // Open a challenged ballot document: recompute every encryption from the revealed nonce.
  async function opened(challengedDoc, electionDoc) {
    return optionIds(await TohyoCrypto.verifyChallenged(await election(electionDoc), challengedDoc));
  }

  // Opened choices {contest id: [option ids]} as text in the page's language.
  function describe(electionDoc, held, lang, blank, sep) {
    return Object.keys(held).map(function (cid) {
      var c = electionDoc.manifest.contests.find(function (x) { return x.id === cid; });
      var names = held[cid].map(function (id) {
        var o = c.options.find(function (x) { return x.id === id; });
        return o ? pick(o.label, lang) : id;
      });
      return pick(c.title, lang) + ": " + (names.length ? names.join(sep) : blank);
    }).join(" / ");
  }

  root.TohyoReceipt = {
    check: check,
    recheck: recheck,
    awaitWitnessed: awaitWitnessed,
    opened: opened,
    getJson: getJson,
    describe: describe,
    names: names,
    pick: pick,
    witnessWait: witnessWait,
  };
})(globalThis);
