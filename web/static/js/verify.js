// "Verify my ballot": anyone enters a confirmation code; this browser fetches the receipt
// (entry, signed tree head, inclusion proof, and the head's checkpoint with the witnesses'
// cosignatures) and the entry itself, and checks them all. Too few cosignatures is a
// warning (the board's word alone; the page asks again for a while, as the booth does), a
// bad one an error.
"use strict";
(function () {
  var T = JSON.parse(document.getElementById("texts").textContent);
  var form = document.getElementById("verify-form");
  var input = document.getElementById("code-input");
  var out = document.getElementById("verify-result");
  var details = document.getElementById("verify-details");
  // The page's language tag (ja, en, zh-Hans...); manifest texts fall back to English.
  var lang = document.documentElement.lang || "ja";

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function say(text, kind) {
    out.textContent = text;
    out.className = "status" + (kind ? " " + kind : "");
  }

  var current = 0;  // the code being checked; an older one's late answers are dropped

  function witnessValues(w) {
    return {
      n: w.cosigners.length,
      q: w.quorum,
      names: w.cosigners.length ? TohyoReceipt.names(w.cosigners, T["list.sep"]) : T["witness.none"],
    };
  }

  // The result of a checked receipt: ok, or a warning while too few witnesses cosigned.
  function show(receipt, r, electionDoc) {
    var text = fill(T["verify.ok"], { entry: receipt.entry, size: receipt.tree_head.size });
    if (r.kind === "challenged") text += " " + T["verify.challenged"] + TohyoReceipt.describe(electionDoc, r.held, lang, T["blank"], T["list.sep"]);
    var kind = "ok";
    var w = r.witness;  // null: an election without witnesses
    if (w) {
      var values = witnessValues(w);
      if (w.witnessed) {
        text += " " + fill(T["verify.witnessed"], values);
      } else {
        // The board's own signature is all there is: the warning comes first.
        text = fill(T["verify.unwitnessed"], values) + " " + text;
        kind = "warn";
      }
      document.getElementById("v-witnesses").textContent = fill(T["witness.list"], values);
    }
    document.getElementById("v-witnesses").classList.toggle("hidden", !w);
    document.getElementById("v-witnesses-term").classList.toggle("hidden", !w);
    say(text, kind);
    document.getElementById("v-entry").textContent = receipt.entry;
    document.getElementById("v-head").textContent = receipt.tree_head.size + " / " + receipt.tree_head.root;
    document.getElementById("v-key").textContent = electionDoc.board_key.public_key;
    details.classList.remove("hidden");
  }

  // A code as a person types or pastes it: the short form or the full code, in groups
  // with spaces or hyphens, in lower case, in full-width characters from a Japanese input
  // method (shortcode.js: NFKC, separators dropped, upper case).
  function normalized(code) { return TohyoShortCode.normalise(code); }

  var matches = document.getElementById("verify-matches");

  // A short code names every ballot whose code begins with it (by chance, more than one):
  // one is checked at once, several are listed for the voter to pick by the full code.
  async function resolve(parsed) {
    if (parsed.kind === "full") return parsed.hex.toUpperCase();
    var got = await TohyoReceipt.getJson("/api/codes/" + parsed.short);
    var found = got.matches.filter(function (m) { return TohyoShortCode.matches(parsed.short, m.confirmation_code); });
    if (found.length === 1) return found[0].confirmation_code;
    if (!found.length) return null;
    matches.textContent = "";
    found.forEach(function (m) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "?code=" + m.confirmation_code;
      a.className = "code";
      a.textContent = m.confirmation_code;
      li.appendChild(a);
      matches.appendChild(li);
    });
    matches.classList.remove("hidden");
    say(fill(T["verify.several"], { n: found.length }), "warn");
    return "";
  }

  async function run(text) {
    var me = ++current;
    details.classList.add("hidden");
    matches.classList.add("hidden");
    var parsed = TohyoShortCode.parse(text);
    if (!parsed) { say(T["verify.malformed"], "bad"); return; }
    var code;
    try {
      code = await resolve(parsed);
    } catch (e) {
      if (me === current) say(T["verify.bad"] + e.message, "bad");
      return;
    }
    if (me !== current || code === "") return;
    if (code === null) { say(T["verify.notfound"], "bad"); return; }
    say(T["verify.fetching"]);
    try {
      var electionDoc = await TohyoReceipt.getJson("/api/election");
      var receipt;
      try {
        receipt = await TohyoReceipt.getJson("/api/receipts/" + code);
      } catch (e) {
        if (e.status === 404) { say(T["verify.notfound"], "bad"); return; }
        throw e;
      }
      // The server's receipt must be for the code asked about, not for some other ballot.
      if (receipt.confirmation_code !== code) throw new Error(T["receipt.other"]);
      var r = await TohyoReceipt.check(receipt, electionDoc);
      if (me !== current) return;
      show(receipt, r, electionDoc);
      if (!r.witness || r.witness.witnessed) return;
      // Just after a vote the witnesses may not have cosigned yet: the warning stands
      // while this page asks the board again for a while; a witnessed answer replaces it.
      var found = await TohyoReceipt.awaitWitnessed(code, r.entry, electionDoc, {
        until: Date.now() + TohyoReceipt.witnessWait(out.dataset.witnessWait),
        stopped: function () { return me !== current; },
        other: T["receipt.other"],
        progress: function (w, newer) {
          if (me === current) show(newer, Object.assign({}, r, { witness: w }), electionDoc);
        },
      });
      if (found && me === current) show(found.receipt, Object.assign({}, r, { witness: found.witness }), electionDoc);
    } catch (e) {
      if (me === current) say(T["verify.bad"] + e.message, "bad");
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = input.value;
    history.replaceState(null, "", "?code=" + encodeURIComponent(normalized(code)));
    run(code);
  });
  if (input.value) run(input.value);
})();
