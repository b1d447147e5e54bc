// The same-device signers: the booth and the card are on the voter's own device, so nobody
// else can hand the voter a ballot to sign (docs/jpki.md, "Which flow protects against what").
//
// One request, one answer, for both:
//   request {site, election: {ja, en}, category: {ja, en}, h_e, confirmation_code,
//            challenge, lang}   (64 hex digits each)
//   answer  {certificate, signature}   (base64 DER, base64 RSA signature)
//   or an error {error: code}: "cancelled", "expired", "blocked", "not_jpki", "unavailable"
//
// * local(base): `tohyo signer` on this PC's loopback (signer/server.py). The booth creates
//   the request, the voter signs in the signer's own window (the password never reaches
//   this page), and the booth polls for the answer. Only the official site's origin may
//   ask it anything; the browser's Origin header proves which page asks.
// * native(): the phone app that hosts the booth in its WebView and reads the card over
//   NFC. The app injects `window.TohyoNativeSigner = {sign(requestJson) -> Promise of
//   answerJson}`, shows the voter the election, category and code, asks for the password
//   and signs with the card (docs/jpki.md, "The native app's interface").
"use strict";
(function (root) {
  function SignerError(code) {
    var e = new Error(code);
    e.signer = code;
    return e;
  }

  async function ask(method, url, body, secret, timeoutMs) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (secret) headers["X-Signer-Secret"] = secret;
    var ctl = new AbortController();
    var timer = timeoutMs ? setTimeout(function () { ctl.abort(); }, timeoutMs) : null;
    try {
      return await fetch(url, {
        method: method, headers: headers, mode: "cors", credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body), signal: ctl.signal,
      });
    } catch (_) {
      throw SignerError("unavailable");
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  function local(base) {
    var current = null;  // {id, secret, stopped}
    return {
      kind: "local",
      // Is the signer running on this PC, for this site?
      available: async function () {
        if (!base) return false;
        try {
          var r = await ask("GET", base + "/status", undefined, null, 1500);
          return r.ok;
        } catch (_) { return false; }
      },
      // Create the request; onOpen(url) is told where the signer's window is.
      sign: async function (request, onOpen) {
        var r = await ask("POST", base + "/requests", request, null, 10000);
        if (!r.ok) throw SignerError(r.status === 403 ? "unavailable" : "refused");
        var made = await r.json();
        var me = { id: made.id, secret: made.secret, stopped: false };
        current = me;
        onOpen(made.url);
        for (;;) {
          await new Promise(function (ok) { setTimeout(ok, 700); });
          if (me.stopped) throw SignerError("cancelled");
          var got = await ask("GET", base + "/requests/" + me.id + "/result", undefined, me.secret, 10000);
          if (me.stopped) throw SignerError("cancelled");
          if (got.status === 204) continue;
          var doc = null;
          try { doc = await got.json(); } catch (_) { doc = null; }
          if (me.stopped) throw SignerError("cancelled");  // the voter said no meanwhile
          current = null;
          if (got.ok && doc && doc.certificate && doc.signature) {
            return { certificate: doc.certificate, signature: doc.signature };
          }
          throw SignerError((doc && doc.error) || "expired");
        }
      },
      cancel: function () {
        var me = current;
        current = null;
        if (!me) return;
        me.stopped = true;
        ask("DELETE", base + "/requests/" + me.id, undefined, me.secret, 5000).catch(function () {});
      },
    };
  }

  function native() {
    var bridge = root.TohyoNativeSigner;
    var stopped = false;
    return {
      kind: "native",
      available: async function () { return !!(bridge && typeof bridge.sign === "function"); },
      sign: async function (request, onOpen) {
        stopped = false;
        onOpen(null);
        var text;
        try { text = await bridge.sign(JSON.stringify(request)); } catch (e) { throw SignerError("unavailable"); }
        if (stopped) throw SignerError("cancelled");
        var doc;
        try { doc = JSON.parse(text); } catch (_) { throw SignerError("unavailable"); }
        if (doc && doc.certificate && doc.signature) return { certificate: doc.certificate, signature: doc.signature };
        throw SignerError((doc && doc.error) || "unavailable");
      },
      cancel: function () {
        stopped = true;
        if (bridge && typeof bridge.cancel === "function") { try { bridge.cancel(); } catch (_) { /* the app is gone */ } }
      },
    };
  }

  root.TohyoSigners = { local: local, native: native };
})(globalThis);
