// "Verify my ballot": anyone enters a confirmation code; this browser fetches the receipt
// (entry, signed tree head, inclusion proof) and the entry itself, and checks them all.
"use strict";
(function () {
  var T = JSON.parse(document.getElementById("texts").textContent);
  var form = document.getElementById("verify-form");
  var input = document.getElementById("code-input");
  var out = document.getElementById("verify-result");
  var details = document.getElementById("verify-details");
  var lang = document.documentElement.lang === "en" ? "en" : "ja";

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function say(text, kind) {
    out.textContent = text;
    out.className = "status" + (kind ? " " + kind : "");
  }

  async function run(code) {
    code = code.trim().toUpperCase();
    details.classList.add("hidden");
    if (!/^[0-9A-F]{64}$/.test(code)) { say(T["verify.malformed"], "bad"); return; }
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
      var text = fill(T["verify.ok"], { entry: receipt.entry, size: receipt.tree_head.size });
      if (r.kind === "challenged") text += " " + T["verify.challenged"] + TohyoReceipt.describe(electionDoc, r.held, lang, T["blank"]);
      say(text, "ok");
      document.getElementById("v-entry").textContent = receipt.entry;
      document.getElementById("v-head").textContent = receipt.tree_head.size + " / " + receipt.tree_head.root;
      document.getElementById("v-key").textContent = electionDoc.board_key.public_key;
      details.classList.remove("hidden");
    } catch (e) {
      say(T["verify.bad"] + e.message, "bad");
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = input.value;
    history.replaceState(null, "", "?code=" + encodeURIComponent(code.trim()));
    run(code);
  });
  if (input.value) run(input.value);
})();
