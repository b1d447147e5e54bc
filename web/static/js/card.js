// The simulated My Number Card, in the browser (demo and tests only).
//
// A card file from the stand-in CA (`tohyo jpki testca issue --card FILE`, format
// "tohyo-simulated-jpki-card/1") holds the certificate, the RSA key and a PBKDF2 hash of
// the signing password. Like the real card, five wrong passwords in a row lock it: the
// count is kept in this browser's localStorage per certificate (and never reset by
// loading the file again), and a correct password resets it. The card signs the message M
// with RSASSA-PKCS1-v1_5 / SHA-256 (WebCrypto), exactly what the real card's signing key
// does over the DigestInfo of SHA-256(M).
"use strict";
(function (root) {
  var FORMAT = "tohyo-simulated-jpki-card/1";
  var TRIES = 5;
  var subtle = root.crypto.subtle;

  function b64decode(s) {
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function b64encode(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }
  function hex(bytes) {
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function unhex(h) {
    var out = new Uint8Array(h.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
    return out;
  }

  function CardError(code, left) {
    var e = new Error(code);
    e.code = code;
    e.left = left;
    return e;
  }

  async function load(text) {
    var doc;
    try { doc = JSON.parse(text); } catch (_) { throw CardError("badfile"); }
    if (!doc || doc.format !== FORMAT || typeof doc.key !== "string" ||
        typeof doc.certificate !== "string" || !doc.password) throw CardError("badfile");
    var cert = b64decode(doc.certificate);
    var id = hex(new Uint8Array(await subtle.digest("SHA-256", cert)));
    return { doc: doc, cert: cert, id: "tohyo-card-tries:" + id };
  }

  function triesLeft(card) {
    var stored = root.localStorage.getItem(card.id);
    var fromFile = Number(card.doc.tries_left);
    var n = stored === null ? TRIES : Number(stored);
    return Math.min(n, isFinite(fromFile) ? fromFile : TRIES);
  }

  async function checkPassword(card, password) {
    var left = triesLeft(card);
    if (left <= 0) throw CardError("locked", 0);
    var p = card.doc.password;
    var base = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
    var bits = await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: unhex(p.salt), iterations: p.iterations }, base, 256);
    if (hex(new Uint8Array(bits)) === p.hash.toLowerCase()) {
      root.localStorage.setItem(card.id, String(TRIES));
      return;
    }
    left -= 1;
    root.localStorage.setItem(card.id, String(left));
    if (left <= 0) throw CardError("locked", 0);
    throw CardError("wrong", left);
  }

  function pemBody(pem) {
    return b64decode(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
  }

  // Sign M after the password; returns the submission's auth fields (certificate, signature).
  async function sign(card, password, message) {
    await checkPassword(card, password);
    var key = await subtle.importKey("pkcs8", pemBody(card.doc.key),
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
    var sig = new Uint8Array(await subtle.sign("RSASSA-PKCS1-v1_5", key, message));
    return { certificate: b64encode(card.cert), signature: b64encode(sig) };
  }

  root.TohyoCard = { load: load, sign: sign, triesLeft: triesLeft, b64encode: b64encode, b64decode: b64decode, hex: hex, unhex: unhex };
})(globalThis);
