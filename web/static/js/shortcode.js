// The short form of a confirmation code (e2e/shortcode.py is the same in Python; the two
// are pinned by tests/vectors/short_codes.json): the first 40 bits in Crockford's base32,
// shown XXXX-XXXX, and what a person typed read back as a full or a short code.
"use strict";
(function (root) {
  var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  // whitespace, hyphens and dashes (U+2010-2015, minus, ー, ｰ), underscores, dots (. 。 ・)
  var DROP = /[\s\-\u2010-\u2015\u2212\u30fc\uff70_.\u3002\u30fb]+/g;

  function toHex(code) {
    if (typeof code === "string") return code;
    return Array.from(code, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function short(code) {
    var hex = toHex(code);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error("a confirmation code is 64 hex digits");
    var value = BigInt("0x" + hex.slice(0, 10));
    var out = "";
    for (var i = 7; i >= 0; i--) out += ALPHABET[Number((value >> BigInt(5 * i)) & 31n)];
    return out.slice(0, 4) + "-" + out.slice(4);
  }

  function normalise(text) {
    return String(text).normalize("NFKC").replace(DROP, "").toUpperCase();
  }

  function parse(text) {
    if (typeof text !== "string" || text.length > 1000) return null;
    var plain = normalise(text);
    if (plain.length === 64) return /^[0-9A-F]{64}$/.test(plain) ? { kind: "full", hex: plain.toLowerCase() } : null;
    if (plain.length === 8) {
      var read = plain.replace(/O/g, "0").replace(/[IL]/g, "1");
      if (Array.from(read).every(function (ch) { return ALPHABET.indexOf(ch) >= 0; })) return { kind: "short", short: read };
    }
    return null;
  }

  function prefixHex(short8) {
    if (!/^[0-9A-HJKMNP-TV-Z]{8}$/.test(short8)) throw new Error("a short code is 8 characters of Crockford's base32");
    var value = 0n;
    for (var i = 0; i < 8; i++) value = (value << 5n) | BigInt(ALPHABET.indexOf(short8[i]));
    return value.toString(16).padStart(10, "0");
  }

  function matches(short8, hex) {
    return typeof hex === "string" && hex.length === 64 && hex.slice(0, 10).toLowerCase() === prefixHex(short8);
  }

  var api = { short: short, parse: parse, prefixHex: prefixHex, matches: matches, normalise: normalise };
  root.TohyoShortCode = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(globalThis);
