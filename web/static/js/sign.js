// The hand-off's page on the voter's other device (/sign/<id>): where the request stands,
// as the board says (GET /api/sign-requests/<id>/status). "Accepted" only once the board
// holds the ballot, never on the signing app's own success (docs/voter.md); a cancelled,
// voided or expired request says that no vote was cast.
"use strict";
(function () {
  var T = JSON.parse(document.getElementById("texts").textContent);
  var out = document.getElementById("sign-state");
  if (!out) return;
  var KIND = { waiting: "", answered: "warn", cast: "ok", cancelled: "bad", voided: "bad", expired: "bad" };
  var FINAL = ["cast", "cancelled", "voided", "expired"];
  var shown = null;

  async function poll() {
    var state = null;
    try {
      var resp = await fetch(out.dataset.url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (resp.ok) state = (await resp.json()).state;
      // Gone from the board (a request is kept a while after it ends, then pruned): it can
      // no longer be signed. Too many requests or a server error: ask again.
      else if (resp.status === 404) state = "expired";
    } catch (_) { state = null; }  // offline for a moment: keep what is shown, ask again
    if (state && state !== shown && T["handoff." + state]) {
      shown = state;
      out.textContent = T["handoff." + state];
      out.className = "status" + (KIND[state] ? " " + KIND[state] : "");
    }
    if (FINAL.indexOf(state) < 0) setTimeout(poll, 2000);
  }
  poll();
})();
