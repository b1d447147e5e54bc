/*
 * tohyo-crypto.js — the one JavaScript implementation of tohyo's ballot cryptography,
 * for the voting booth (in a Web Worker) and the "verify my ballot" page.
 *
 * It follows e2e/*.py (ElectionGuard 2.1 with the differences of docs/protocol.md) and
 * must produce exactly the bytes the Python side produces: tests/vectors/*.json pin both.
 *
 * A classic script, no modules, no bundler: it defines globalThis.TohyoCrypto in a page
 * (<script src>) and in a worker (importScripts), and is module.exports under Node.
 * Numbers are BigInt; HMAC-SHA-256, SHA-256 and Ed25519 come from WebCrypto, so every
 * function that hashes is async. Randomness comes from crypto.getRandomValues; each
 * function that draws randomness has a *With variant taking the random inputs explicitly
 * (like Python's *_with functions), for the test vectors.
 *
 * Every verify* function resolves to undefined or throws (never returns false): a
 * VerificationError (InvalidProof, LogProofError, NoteError) naming what failed, or a
 * CodecError (InvalidElement, InvalidScalar) naming the field of a malformed document.
 * verifyCheckpoint and verifyReceipt (with witnessing) resolve to who cosigned the head:
 * too few witnesses is a state to show the voter, not a failure, so it is not thrown.
 */
(function (root) {
  'use strict';

  const FORMAT = 'tohyo/1';
  const subtle = root.crypto && root.crypto.subtle;
  const textEncoder = new TextEncoder();

  // --- errors (the hierarchy of e2e/errors.py) -------------------------------------------

  class TohyoError extends Error {
    constructor(message) {
      super(message);
      this.name = new.target.name;
    }
  }
  class CodecError extends TohyoError {}
  class InvalidElement extends CodecError {}
  class InvalidScalar extends CodecError {}
  class BallotError extends TohyoError {}
  class VerificationError extends TohyoError {
    constructor(reason, where) {
      super(where ? `${where}: ${reason}` : reason);
      this.where = where || null;
      this.reason = reason;
    }
  }
  class InvalidProof extends VerificationError {}
  class LogProofError extends VerificationError {}
  class NoteError extends VerificationError {}

  // --- bytes and hex -----------------------------------------------------------------------

  const HEX = '0123456789ABCDEF';
  const BYTE_HEX = Array.from({ length: 256 }, (_, i) => HEX[i >> 4] + HEX[i & 15]);
  const UPPER_HEX = /^[0-9A-F]*$/;

  function bytesToHex(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += BYTE_HEX[bytes[i]];
    return s;
  }

  const HEX_VALUE = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    HEX_VALUE[HEX.charCodeAt(i)] = i;
    HEX_VALUE[HEX.toLowerCase().charCodeAt(i)] = i;
  }

  function hexToBytes(hex) {
    if (hex.length % 2) throw new CodecError('an odd number of hexadecimal digits');
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) {
      const hi = HEX_VALUE[hex.charCodeAt(2 * i)];
      const lo = HEX_VALUE[hex.charCodeAt(2 * i + 1)];
      // Characters >= 128 index past the table (undefined), which also fails here.
      if (!(hi >= 0 && lo >= 0)) throw new CodecError('not hexadecimal');
      out[i] = (hi << 4) | lo;
    }
    return out;
  }

  /** Fixed-width upper-case hex of a non-negative BigInt (the codec's number format). */
  function toHex(x, width) {
    const h = x.toString(16).toUpperCase();
    if (h.length > width) throw new RangeError(`number does not fit in ${width} hex digits`);
    return h.padStart(width, '0');
  }

  function bytesToBig(bytes) {
    return bytes.length ? BigInt('0x' + bytesToHex(bytes)) : 0n;
  }

  function concatBytes(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function randomBytes(n) {
    return root.crypto.getRandomValues(new Uint8Array(n));
  }

  function utf8(s) {
    return textEncoder.encode(s);
  }

  // --- canonical JSON (e2e/codec.py dumps) -------------------------------------------------

  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  function compareCodePoints(a, b) {
    // Python sorts keys by code point; JS's default sort compares UTF-16 units, which
    // differs for characters above U+FFFF.
    const x = Array.from(a, (c) => c.codePointAt(0));
    const y = Array.from(b, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i] - y[i];
    }
    return x.length - y.length;
  }

  /**
   * The canonical text of a JSON value: keys sorted, no whitespace, non-ASCII as is —
   * json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False). JSON.stringify
   * escapes strings exactly as Python does (", \, \b \f \n \r \t, other controls as
   * lower-case \u00xx); lone surrogates, which Python cannot encode, are refused.
   */
  function canonicalJSON(value) {
    if (value === null || value === true || value === false) return String(value);
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new CodecError(`numbers must be integers, got ${value}`);
      return String(value);
    }
    if (typeof value === 'string') {
      if (LONE_SURROGATE.test(value)) throw new CodecError('a string holds a lone surrogate');
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return '[' + value.map(canonicalJSON).join(',') + ']';
    if (typeof value === 'object') {
      const keys = Object.keys(value).sort(compareCodePoints);
      return '{' + keys.map((k) => canonicalJSON(k) + ':' + canonicalJSON(value[k])).join(',') + '}';
    }
    throw new CodecError(`cannot encode a ${typeof value} in JSON`);
  }

  function document(type, fields) {
    return Object.assign({ format: FORMAT, type }, fields);
  }

  function checkDocument(doc, type, where) {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new CodecError(`${where}: expected a JSON object`);
    }
    if (doc.format !== FORMAT) {
      throw new CodecError(`${where}: unsupported format ${JSON.stringify(doc.format)} (want ${FORMAT})`);
    }
    if (doc.type !== type) {
      throw new CodecError(`${where}: type ${JSON.stringify(doc.type)}, expected ${type}`);
    }
  }

  /** The fields of a top-level document of the given type, without format and type. */
  function stripTop(doc, type) {
    checkDocument(doc, type, type);
    const { format, type: _type, ...rest } = doc;
    return rest;
  }

  /** stripTop for a top-level document; a nested object (no format) as it is. */
  function unwrap(doc, type) {
    return doc && typeof doc === 'object' && 'format' in doc ? stripTop(doc, type) : doc;
  }

  function fields(raw, names, where) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new CodecError(`${where}: expected an object`);
    }
    const keys = Object.keys(raw);
    for (const n of names) {
      if (!Object.prototype.hasOwnProperty.call(raw, n)) throw new CodecError(`${where}: missing field '${n}'`);
    }
    for (const k of keys.sort()) {
      if (!names.includes(k)) throw new CodecError(`${where}: unexpected field '${k}'`);
    }
    return raw;
  }

  function list(raw, where, length) {
    if (!Array.isArray(raw)) throw new CodecError(`${where}: expected a list`);
    if (length !== undefined && raw.length !== length) {
      throw new CodecError(`${where}: expected ${length} items, got ${raw.length}`);
    }
    return raw;
  }

  function integer(raw, where) {
    if (!Number.isSafeInteger(raw)) throw new CodecError(`${where}: expected an integer`);
    return raw;
  }

  function string(raw, where) {
    if (typeof raw !== 'string') throw new CodecError(`${where}: expected a string`);
    return raw;
  }

  function parseHex(raw, width, where) {
    if (typeof raw !== 'string') throw new CodecError(`${where}: expected a hex string`);
    if (raw.length !== width) throw new CodecError(`${where}: expected ${width} hex digits, got ${raw.length}`);
    if (!UPPER_HEX.test(raw)) throw new CodecError(`${where}: not upper-case hexadecimal`);
    return BigInt('0x' + raw);
  }

  /** A 64-digit hash value (also ballot ids and nonces) as 32 bytes. */
  function parseHash(raw, where) {
    parseHex(raw, 64, where);
    return hexToBytes(raw);
  }

  // --- the group (e2e/group.py) ------------------------------------------------------------

  function bitLength(x) {
    return x === 0n ? 0 : x.toString(2).length;
  }

  /** x^-1 mod 2^bits for odd x, by Newton's iteration (each step doubles the precision). */
  function inverseMod2k(x, bits) {
    let y = 1n;
    for (let prec = 1; prec < bits; prec *= 2) {
      y = BigInt.asUintN(bits, y * (2n - x * y));
    }
    return y;
  }

  /**
   * Parameters (p, q, r, g) of an ElectionGuard group, with Montgomery arithmetic mod p.
   *
   * BigInt's % is the slow part of a modular product (a 4096-bit division costs about
   * three multiplications in V8); Montgomery's reduction needs two multiplications and
   * shifts instead, measured about 40 % faster per product. Values stay in ordinary form
   * at the API; only the tables and the inner loops use the Montgomery form x·R mod p.
   */
  class Group {
    constructor(name, p, q, g, window) {
      this.name = name;
      this.p = p;
      this.q = q;
      this.g = g;
      this.r = (p - 1n) / q;
      if (this.r * q !== p - 1n) throw new Error(`group ${name}: q does not divide p - 1`);
      this.window = window;
      this.pBytes = Math.ceil(bitLength(p) / 8);
      this.qBytes = Math.ceil(bitLength(q) / 8);
      this.qBits = bitLength(q);
      this.insecure = name !== 'standard';
      this.montBits = 64 * Math.ceil(bitLength(p) / 64);
      this.montShift = BigInt(this.montBits);
      // n' = -p^-1 mod R, R = 2^montBits.
      this.montNp = BigInt.asUintN(this.montBits, -inverseMod2k(p, this.montBits));
      this._gTables = new Map();
    }

    /** a·b·R^-1 mod p (Montgomery product) for a, b in [0, p). */
    montMul(a, b) {
      const t = a * b;
      const bits = this.montBits;
      const m = BigInt.asUintN(bits, BigInt.asUintN(bits, t) * this.montNp);
      const u = (t + m * this.p) >> this.montShift;
      return u >= this.p ? u - this.p : u;
    }

    toMont(x) {
      return (x << this.montShift) % this.p;
    }

    fromMont(x) {
      return this.montMul(x, 1n);
    }

    mul(a, b) {
      return (a * b) % this.p;
    }

    /** base^e mod p for any base in [0, p) and e >= 0 (sliding window, 5 bits). */
    pow(base, e) {
      if (e < 0n) throw new RangeError('negative exponent');
      if (e === 0n) return 1n;
      const b = this.toMont(base);
      const b2 = this.montMul(b, b);
      const odd = [b]; // b^1, b^3, ..., b^31
      for (let i = 1; i < 16; i++) odd.push(this.montMul(odd[i - 1], b2));
      const bits = e.toString(2);
      let r = null;
      let i = 0;
      while (i < bits.length) {
        if (bits[i] === '0') {
          r = this.montMul(r, r); // r is set: the leading bit is 1
          i++;
          continue;
        }
        let j = Math.min(5, bits.length - i);
        while (bits[i + j - 1] === '0') j--;
        const digit = parseInt(bits.substr(i, j), 2);
        if (r === null) {
          r = odd[digit >> 1];
        } else {
          for (let k = 0; k < j; k++) r = this.montMul(r, r);
          r = this.montMul(r, odd[digit >> 1]);
        }
        i += j;
      }
      return this.fromMont(r);
    }

    /** The fixed-base table of g, built once per group object and window. */
    gTable(window) {
      const w = window || this.window;
      let t = this._gTables.get(w);
      if (!t) {
        t = new FixedBase(this, this.g, w);
        this._gTables.set(w, t);
      }
      return t;
    }

    elementHex(x) {
      return toHex(x, 2 * this.pBytes);
    }

    scalarHex(x) {
      return toHex(x, 2 * this.qBytes);
    }

    /**
     * Parse an element mod p from the codec's hex. Range 0 < x < p always; subgroup
     * membership x^q = 1 unless member is false — for proof commitments, whose membership
     * follows from the proof equation X = g^v·Y^c with Y a member (docs/protocol.md §1);
     * key: refuse the identity (a key equal to 1 would make every encryption readable).
     */
    parseElement(raw, where, { member = true, key = false } = {}) {
      const x = parseHex(raw, 2 * this.pBytes, where);
      if (key && x === 1n) throw new InvalidElement(`${where}: the identity element is not a valid key`);
      if (!(x > 0n && x < this.p)) throw new InvalidElement(`${where}: element out of range (0, p)`);
      if (member && this.pow(x, this.q) !== 1n) {
        throw new InvalidElement(`${where}: element is not in the order-q subgroup`);
      }
      return x;
    }

    parseScalar(raw, where) {
      const x = parseHex(raw, 2 * this.qBytes, where);
      if (x >= this.q) throw new InvalidScalar(`${where}: scalar out of range [0, q)`);
      return x;
    }

    /** A uniform scalar in [1, q), as Python's random_scalar (1 + randbelow(q - 1)). */
    randomScalar() {
      const n = this.q - 1n;
      const bits = bitLength(n);
      const bytes = Math.ceil(bits / 8);
      for (;;) {
        const x = BigInt.asUintN(bits, bytesToBig(randomBytes(bytes)));
        if (x < n) return x + 1n;
      }
    }

    modQ(x) {
      const r = x % this.q;
      return r < 0n ? r + this.q : r;
    }
  }

  /**
   * Window table for a fixed base b: rows[i][d] = b^(d·2^(w·i)), so b^e costs one product
   * per nonzero w-bit digit of e (26 for a 256-bit exponent with w = 10) and no squaring.
   *
   * Row 0 is kept in ordinary form and the other rows in Montgomery form: the Montgomery
   * product of an ordinary x and a Montgomery yR is the ordinary x·y, so the result needs
   * no conversion at the end.
   */
  class FixedBase {
    constructor(group, base, window) {
      if (!(Number.isInteger(window) && window >= 1 && window <= 16)) {
        throw new RangeError('the window must be an integer from 1 to 16');
      }
      this.group = group;
      this.base = base;
      this.window = window;
      const nRows = Math.ceil(group.qBits / window);
      const size = 1 << window;
      let b = group.toMont(base);
      this.rows = [];
      for (let i = 0; i < nRows; i++) {
        const row = new Array(size);
        row[0] = null;
        let acc = b;
        row[1] = acc;
        for (let d = 2; d < size; d++) {
          acc = group.montMul(acc, b);
          row[d] = acc;
        }
        this.rows.push(row);
        b = group.montMul(acc, b);
      }
      const first = this.rows[0];
      for (let d = 1; d < size; d++) first[d] = group.fromMont(first[d]);
    }

    /** base^e mod p for 0 <= e < q. */
    pow(e) {
      const g = this.group;
      if (e < 0n || e >= g.q) throw new RangeError('fixed-base exponent outside [0, q)');
      // Digits from the binary text: slicing a short string is cheaper than a BigInt
      // shift and mask per digit (each allocates).
      const bits = e.toString(2);
      const w = this.window;
      const rows = this.rows;
      let r = 1n; // ordinary form (see the class comment)
      for (let i = 0, end = bits.length; end > 0; i++, end -= w) {
        const d = parseInt(bits.slice(Math.max(0, end - w), end), 2);
        if (d) r = i === 0 ? rows[0][d] : g.montMul(r, rows[i][d]);
      }
      return r;
    }
  }

  // The known groups (e2e/group.py GROUPS): an election may only name one of these, so a
  // server cannot make the booth encrypt under parameters of its own choosing. The test
  // group is small and INSECURE (fast tests only); Group.insecure says so.
  const GROUP_CONSTANTS = {
    standard: {
      window: 10,
      p:
        'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF' +
        'B17217F7D1CF79ABC9E3B39803F2F6AF40F343267298B62D8A0D175B8BAAFA2B' +
        'E7B876206DEBAC98559552FB4AFA1B10ED2EAE35C138214427573B291169B825' +
        '3E96CA16224AE8C51ACBDA11317C387EB9EA9BC3B136603B256FA0EC7657F74B' +
        '72CE87B19D6548CAF5DFA6BD38303248655FA1872F20E3A2DA2D97C50F3FD5C6' +
        '07F4CA11FB5BFB90610D30F88FE551A2EE569D6DFC1EFA157D2E23DE1400B396' +
        '17460775DB8990E5C943E732B479CD33CCCC4E659393514C4C1A1E0BD1D6095D' +
        '25669B333564A3376A9C7F8A5E148E82074DB6015CFE7AA30C480A5417350D2C' +
        '955D5179B1E17B9DAE313CDB6C606CB1078F735D1B2DB31B5F50B5185064C18B' +
        '4D162DB3B365853D7598A1951AE273EE5570B6C68F96983496D4E6D330AF889B' +
        '44A02554731CDC8EA17293D1228A4EF98D6F5177FBCF0755268A5C1F9538B982' +
        '61AFFD446B1CA3CF5E9222B88C66D3C5422183EDC99421090BBB16FAF3D949F2' +
        '36E02B20CEE886B905C128D53D0BD2F9621363196AF503020060E49908391A0C' +
        '57339BA2BEBA7D052AC5B61CC4E9207CEF2F0CE2D7373958D762265890445744' +
        'FB5F2DA4B751005892D356890DEFE9CAD9B9D4B713E06162A2D8FDD0DF2FD608' +
        'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
      q:
        'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF43',
      g:
        '36036FED214F3B50DC566D3A312FE4131FEE1C2BCE6D02EA39B477AC05F7F885' +
        'F38CFE77A7E45ACF4029114C4D7A9BFE058BF2F995D2479D3DDA618FFD910D3C' +
        '4236AB2CFDD783A5016F7465CF59BBF45D24A22F130F2D04FE93B2D58BB9C1D1' +
        'D27FC9A17D2AF49A779F3FFBDCA22900C14202EE6C99616034BE35CBCDD3E7BB' +
        '7996ADFE534B63CCA41E21FF5DC778EBB1B86C53BFBE99987D7AEA0756237FB4' +
        '0922139F90A62F2AA8D9AD34DFF799E33C857A6468D001ACF3B681DB87DC4242' +
        '755E2AC5A5027DB81984F033C4D178371F273DBB4FCEA1E628C23E52759BC776' +
        '5728035CEA26B44C49A65666889820A45C33DD37EA4A1D00CB62305CD541BE1E' +
        '8A92685A07012B1A20A746C3591A2DB3815000D2AACCFE43DC49E828C1ED7387' +
        '466AFD8E4BF1935593B2A442EEC271C50AD39F733797A1EA11802A2557916534' +
        '662A6B7E9A9E449A24C8CFF809E79A4D806EB681119330E6C57985E39B200B48' +
        '93639FDFDEA49F76AD1ACD997EBA13657541E79EC57437E504EDA9DD01106151' +
        '6C643FB30D6D58AFCCD28B73FEDA29EC12B01A5EB86399A593A9D5F450DE39CB' +
        '92962C5EC6925348DB54D128FD99C14B457F883EC20112A75A6A0581D3D80A3B' +
        '4EF09EC86F9552FFDA1653F133AA2534983A6F31B0EE4697935A6B1EA2F75B85' +
        'E7EBA151BA486094D68722B054633FEC51CA3F29B31E77E317B178B6B9D8AE0F',
    },
    test: {
      window: 6,
      p:
        '7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFB080000000000000000000000000000000' +
        '00000000000000000000000000009049FFFFFFFFFFFFFFFFFFFFFFFFFFA6620B',
      q:
        'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF61',
      g:
        '36135314CD63BBD671C1DC9F5883E9278D2CCE193B71B7BE9097A3623A628804' +
        '1A88354E89E34D1DF41D04CE874C4E7BD7813DA73AE95CBBCBC46200AC89E78D',
    },
  };
  const groupCache = new Map();

  /** The known group by name ('standard' or 'test'); one shared object per name. */
  function getGroup(name) {
    let g = groupCache.get(name);
    if (!g) {
      const c = Object.prototype.hasOwnProperty.call(GROUP_CONSTANTS, name) && GROUP_CONSTANTS[name];
      if (!c) throw new VerificationError(`unknown group ${JSON.stringify(name)}`, 'parameters');
      g = new Group(name, BigInt('0x' + c.p), BigInt('0x' + c.q), BigInt('0x' + c.g), c.window);
      groupCache.set(name, g);
    }
    return g;
  }

  // --- the hash H (e2e/hash.py) ------------------------------------------------------------

  const VERSION = new Uint8Array(32);
  VERSION.set(utf8('v2.1.0'));

  const DOMAIN = Object.freeze({
    parameter_base_hash: 0x00,
    base_hash: 0x01,
    schnorr_coefficients: 0x10,
    extended_base_hash: 0x14,
    selection_identifier: 0x20,
    selection_nonce: 0x21,
    range_proof: 0x24,
    contest_hash: 0x28,
    confirmation_code: 0x29,
    device_hash: 0x2a,
  });

  /** b(x, l_p): an element mod p as l_p big-endian bytes (§5.1.1). */
  function encodeElement(group, x) {
    return hexToBytes(group.elementHex(x));
  }

  /** b(x, l_q): a scalar mod q as l_q big-endian bytes (§5.1.2). */
  function encodeScalar(group, x) {
    return hexToBytes(group.scalarHex(x));
  }

  /** b(i, 4): a small integer (index, count), 0 <= i < 2^31 (§5.1.3). */
  function encodeInt(i) {
    if (!Number.isInteger(i) || i < 0 || i >= 2 ** 31) {
      throw new RangeError('small integers in a hash must lie in [0, 2^31)');
    }
    return Uint8Array.of(i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255);
  }

  /** b(len, 4) ∥ UTF-8 bytes: a variable-length string (§5.1.4). */
  function encodeString(s) {
    const data = utf8(s);
    return concatBytes([encodeInt(data.length), data]);
  }

  function hmacKey(key) {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new RangeError('the key input of H has exactly 32 bytes');
    }
    return subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  }

  /**
   * H(key; domain, parts) = HMAC-SHA-256(key, domain ∥ parts) (§5.2). ``parts`` are byte
   * strings already encoded with encodeElement / encodeScalar / encodeInt / encodeString
   * (a hash value or a fixed label goes in as it is). ``key`` is 32 bytes or a CryptoKey
   * from hmacKey, to import a key used many times only once.
   */
  async function H(key, domain, parts) {
    const k = key instanceof Uint8Array ? await hmacKey(key) : key;
    const data = concatBytes([Uint8Array.of(domain), ...parts]);
    return new Uint8Array(await subtle.sign('HMAC', k, data));
  }

  /** H_q = H mod q (§5.4). */
  async function Hq(group, key, domain, parts) {
    return bytesToBig(await H(key, domain, parts)) % group.q;
  }

  /** H_P = H(ver; 0x00, p, q, g, n, k) (eq. 4). */
  function parameterBaseHash(group, n, k) {
    return H(VERSION, DOMAIN.parameter_base_hash, [
      encodeElement(group, group.p),
      encodeScalar(group, group.q),
      encodeElement(group, group.g),
      encodeInt(n),
      encodeInt(k),
    ]);
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle.digest('SHA-256', bytes));
  }

  // --- keys, ElGamal, range proofs (e2e/elgamal.py, e2e/range_proof.py) ---------------------

  /** The election key K with its fixed-base table (and g's), like Python's PublicKey. */
  class PublicKey {
    constructor(group, element, window) {
      this.group = group;
      this.element = element;
      this.window = window || group.window;
      this.gTable = group.gTable(this.window);
      this.table = new FixedBase(group, element, this.window);
    }
  }

  /** (α, β) = (g^ξ, K^(σ+ξ)) with both exponentiations on fixed-base tables. */
  function encrypt(key, value, nonce) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError('only non-negative values are encrypted');
    const g = key.group;
    return { alpha: key.gTable.pow(nonce), beta: key.table.pow(g.modQ(nonce + BigInt(value))) };
  }

  function rangeChallenge(key, hI, indices, ct, commitments) {
    const g = key.group;
    const parts = indices.map(encodeInt);
    parts.push(encodeElement(g, ct.alpha), encodeElement(g, ct.beta));
    for (const [a, b] of commitments) parts.push(encodeElement(g, a), encodeElement(g, b));
    return Hq(g, hI, DOMAIN.range_proof, parts);
  }

  /** Commitments of a range proof; only fixed-base exponentiations (eq. 58). */
  function rangeCommitments(key, value, limit, us, fake) {
    const g = key.group;
    const out = [];
    for (let j = 0; j <= limit; j++) {
      const t = j === value ? us[j] : g.modQ(us[j] + fake[j] * BigInt(value - j));
      out.push([key.gTable.pow(us[j]), key.table.pow(t)]);
    }
    return out;
  }

  function rangeResponses(key, value, limit, c, nonce, us, fake) {
    const g = key.group;
    let cl = c;
    for (let j = 0; j <= limit; j++) if (j !== value) cl -= fake[j];
    const challenges = [];
    for (let j = 0; j <= limit; j++) challenges.push(j === value ? g.modQ(cl) : fake[j]);
    const responses = us.map((u, j) => g.modQ(u - challenges[j] * nonce));
    return { challenges, responses };
  }

  function checkRangeInputs(value, limit, us, fake) {
    if (!(Number.isInteger(value) && Number.isInteger(limit) && value >= 0 && value <= limit)) {
      throw new RangeError('value outside the range it is to be proven in');
    }
    if (us.length !== limit + 1 || fake.length !== limit + 1) {
      throw new RangeError(`a range proof up to ${limit} needs ${limit + 1} u and simulated challenges`);
    }
  }

  /**
   * Prove that ct = (g^nonce, K^(nonce+value)) encrypts value ∈ [0, limit], given the
   * u_j and the simulated challenges c_j (the entry at j = value is ignored, may be null):
   * Python's prove_range_with. Resolves to {commitments: [[a, b], ...], challenges,
   * responses} (BigInts). ``hI`` is 32 bytes or its CryptoKey; ``indices`` is [ind_c,
   * ind_o] for a selection, [ind_c] for a contest limit.
   */
  async function proveRangeWith(key, hI, indices, ct, nonce, value, limit, us, fake) {
    checkRangeInputs(value, limit, us, fake);
    const commitments = rangeCommitments(key, value, limit, us, fake);
    const c = await rangeChallenge(key, hI, indices, ct, commitments);
    return Object.assign({ commitments }, rangeResponses(key, value, limit, c, nonce, us, fake));
  }

  function rangeRandomness(group, limit) {
    const u = [];
    const c = [];
    for (let j = 0; j <= limit; j++) u.push(group.randomScalar());
    for (let j = 0; j <= limit; j++) c.push(group.randomScalar());
    return { u, c };
  }

  /** proveRangeWith with fresh u_j and simulated challenges. */
  function proveRange(key, hI, indices, ct, nonce, value, limit) {
    const { u, c } = rangeRandomness(key.group, limit);
    return proveRangeWith(key, hI, indices, ct, nonce, value, limit, u, c);
  }

  function ciphertextFields(group, ct) {
    return { alpha: group.elementHex(ct.alpha), beta: group.elementHex(ct.beta) };
  }

  function rangeProofFields(group, proof) {
    return {
      challenges: proof.challenges.map((c) => group.scalarHex(c)),
      commitments: proof.commitments.map(([a, b]) => [group.elementHex(a), group.elementHex(b)]),
      responses: proof.responses.map((v) => group.scalarHex(v)),
    };
  }

  /** The Ciphertext document of {alpha, beta}. */
  function ciphertextDocument(group, ct) {
    return document('Ciphertext', ciphertextFields(group, ct));
  }

  /** The RangeProof document of a proof from proveRangeWith. */
  function rangeProofDocument(group, proof) {
    return document('RangeProof', rangeProofFields(group, proof));
  }

  function parseCiphertext(group, raw, where) {
    fields(raw, ['alpha', 'beta'], where);
    return {
      alpha: group.parseElement(raw.alpha, `${where}.alpha`),
      beta: group.parseElement(raw.beta, `${where}.beta`),
    };
  }

  function parseRangeProof(group, raw, where) {
    fields(raw, ['challenges', 'commitments', 'responses'], where);
    const commitments = list(raw.commitments, `${where}.commitments`).map((pair, j) => {
      const w = `${where}.commitments[${j}]`;
      list(pair, w, 2);
      return pair.map((x, i) => group.parseElement(x, `${w}[${i}]`, { member: false }));
    });
    const challenges = list(raw.challenges, `${where}.challenges`).map((x, j) =>
      group.parseScalar(x, `${where}.challenges[${j}]`),
    );
    const responses = list(raw.responses, `${where}.responses`).map((x, j) =>
      group.parseScalar(x, `${where}.responses[${j}]`),
    );
    return { commitments, challenges, responses };
  }

  /**
   * Verify one range proof on parsed values (BigInts), one equation at a time:
   * c = H_q(H_I; 0x24, indices, α, β, a_0, b_0, …) = Σ c_j, a_j = g^(v_j)·α^(c_j),
   * b_j = K^(v_j − j·c_j)·β^(c_j). Throws InvalidProof naming ``where``.
   */
  async function verifyRange(key, hI, indices, ct, proof, limit, where) {
    const what = indices.length === 2 ? 'range proof' : 'selection-limit proof';
    const g = key.group;
    const n = limit + 1;
    if (!(proof.commitments.length === n && proof.challenges.length === n && proof.responses.length === n)) {
      throw new InvalidProof(`${what}: expected ${n} commitments, challenges, responses`, where);
    }
    const c = await rangeChallenge(key, hI, indices, ct, proof.commitments);
    if (g.modQ(proof.challenges.reduce((s, x) => s + x, 0n)) !== c) {
      throw new InvalidProof(`${what}: challenges do not add up to the hash challenge`, where);
    }
    for (let j = 0; j < n; j++) {
      const [a, b] = proof.commitments[j];
      const cj = proof.challenges[j];
      const vj = proof.responses[j];
      if (a !== g.mul(key.gTable.pow(vj), g.pow(ct.alpha, cj))) {
        throw new InvalidProof(`${what}: proof equation for a_${j} does not hold`, where);
      }
      const wj = g.modQ(vj - BigInt(j) * cj);
      if (b !== g.mul(key.table.pow(wj), g.pow(ct.beta, cj))) {
        throw new InvalidProof(`${what}: proof equation for b_${j} does not hold`, where);
      }
    }
  }

  /**
   * verifyRange on documents: ``ct`` a Ciphertext and ``proof`` a RangeProof, each either
   * a top-level document (with format and type) or a nested object.
   */
  async function verifyRangeProof(key, hI, indices, ct, proof, limit, where = 'range proof') {
    const g = key.group;
    const parsedCt = parseCiphertext(g, unwrap(ct, 'Ciphertext'), 'Ciphertext');
    const parsedProof = parseRangeProof(g, unwrap(proof, 'RangeProof'), 'RangeProof');
    await verifyRange(key, hI, indices, parsedCt, parsedProof, limit, where);
  }

  // --- Schnorr proofs of the key ceremony (e2e/schnorr.py) ---------------------------------

  const LABEL_VOTE = utf8('pk_vote');

  function schnorrChallenge(group, hP, index, publics, commitments) {
    const parts = [LABEL_VOTE, encodeInt(index)];
    for (const x of publics) parts.push(encodeElement(group, x));
    for (const h of commitments) parts.push(encodeElement(group, h));
    return Hq(group, hP, DOMAIN.schnorr_coefficients, parts);
  }

  /**
   * Verify trustee ``index``'s compact Schnorr proof (a SchnorrProof document) for the
   * public values (BigInts, already parsed as members): h_j = g^(v_j)·X_j^c.
   */
  async function verifySchnorr(group, hP, index, publics, proofDoc, where = 'Schnorr proof') {
    checkDocument(proofDoc, 'SchnorrProof', 'SchnorrProof');
    fields(proofDoc, ['format', 'type', 'commitments', 'responses'], 'SchnorrProof');
    const hs = list(proofDoc.commitments, 'SchnorrProof.commitments').map((x, j) =>
      group.parseElement(x, `SchnorrProof.commitments[${j}]`, { member: false }),
    );
    const vs = list(proofDoc.responses, 'SchnorrProof.responses').map((x, j) =>
      group.parseScalar(x, `SchnorrProof.responses[${j}]`),
    );
    if (!publics.length) throw new InvalidProof('Schnorr proof: no public values', where);
    if (hs.length !== publics.length || vs.length !== publics.length) {
      throw new InvalidProof('Schnorr proof: wrong number of commitments or responses', where);
    }
    const c = await schnorrChallenge(group, hP, index, publics, hs);
    const gTable = group.gTable();
    for (let j = 0; j < hs.length; j++) {
      if (hs[j] !== group.mul(gTable.pow(vs[j]), group.pow(publics[j], c))) {
        throw new InvalidProof(`Schnorr proof of knowledge: proof equation ${j} does not hold`, where);
      }
    }
  }

  // --- the election (e2e/election.py) ------------------------------------------------------

  /**
   * Everything a ballot needs, from the documents of GET /api/election: {manifest,
   * parameters, board_key?}. Built by loadElection, which checks the parameters against
   * the known group and the manifest.
   */
  class Election {
    constructor(group, manifest, parameters, hashes, key, boardKey) {
      this.group = group;
      this.manifest = manifest;
      this.parameters = parameters;
      this.hP = hashes.hP;
      this.hB = hashes.hB;
      this.hE = hashes.hE;
      this.key = key;
      this.boardKey = boardKey;
      this.contests = manifest.contests.map((c) => ({
        id: c.id,
        limit: c.limit,
        options: c.options.map((o) => o.id),
      }));
    }

    /** The contest with 1-based index i (throws BallotError if there is none). */
    contest(i) {
      if (!(Number.isInteger(i) && i >= 1 && i <= this.contests.length)) {
        throw new BallotError(`no contest ${i} in the manifest`);
      }
      return this.contests[i - 1];
    }
  }

  function checkManifest(m) {
    checkDocument(m, 'Manifest', 'Manifest');
    const contests = list(m.contests, 'Manifest.contests');
    if (!contests.length) throw new CodecError('Manifest.contests: the manifest has no contest');
    contests.forEach((c, i) => {
      const w = `Manifest.contests[${i}]`;
      string(c.id, `${w}.id`);
      integer(c.limit, `${w}.limit`);
      const options = list(c.options, `${w}.options`);
      if (!options.length) throw new CodecError(`${w}.options: a contest needs at least one option`);
      options.forEach((o, j) => string(o.id, `${w}.options[${j}].id`));
    });
    integer(m.trustees, 'Manifest.trustees');
    integer(m.quorum, 'Manifest.quorum');
  }

  /** The board's public key (a BoardKey document) as its 32 raw bytes. */
  function parseBoardKey(doc) {
    checkDocument(doc, 'BoardKey', 'BoardKey');
    fields(doc, ['format', 'type', 'public_key'], 'BoardKey');
    return parseHash(doc.public_key, 'BoardKey.public_key');
  }

  /**
   * Check the election's published documents and build its fixed-base tables (the slow
   * part: about a second for the standard group with the default window).
   *
   * ``doc``: the JSON of GET /api/election, {manifest, parameters, board_key?}. Checks that
   * the parameters name a known group with exactly its constants, that the trustee count
   * and quorum match the manifest, recomputes H_P, H_B (from the manifest's canonical
   * bytes) and H_E, and parses K (subgroup member, not 1). Throws VerificationError or
   * CodecError naming the field. ``window``: bits per fixed-base table digit.
   */
  async function loadElection(doc, { window } = {}) {
    if (doc === null || typeof doc !== 'object') throw new CodecError('election: expected a JSON object');
    const params = doc.parameters;
    checkDocument(params, 'ElectionParameters', 'ElectionParameters');
    fields(
      params,
      ['format', 'type', 'group', 'p', 'q', 'r', 'g', 'trustees', 'quorum',
        'parameter_base_hash', 'base_hash', 'election_key', 'extended_base_hash'],
      'ElectionParameters',
    );
    const group = getGroup(string(params.group, 'ElectionParameters.group'));
    for (const f of ['p', 'q', 'r', 'g']) {
      if (params[f] !== group[f].toString(16).toUpperCase()) {
        throw new VerificationError(`${f} is not the ${group.name} group's constant`, 'ElectionParameters');
      }
    }
    const manifest = doc.manifest;
    checkManifest(manifest);
    const n = integer(params.trustees, 'ElectionParameters.trustees');
    const k = integer(params.quorum, 'ElectionParameters.quorum');
    if (n !== manifest.trustees || k !== manifest.quorum) {
      throw new VerificationError('trustees and quorum differ from the manifest', 'ElectionParameters');
    }
    const hP = await parameterBaseHash(group, n, k);
    if (!equalBytes(hP, parseHash(params.parameter_base_hash, 'ElectionParameters.parameter_base_hash'))) {
      throw new VerificationError('parameter base hash H_P is wrong', 'ElectionParameters');
    }
    const hB = await H(hP, DOMAIN.base_hash, [encodeString(canonicalJSON(manifest))]);
    if (!equalBytes(hB, parseHash(params.base_hash, 'ElectionParameters.base_hash'))) {
      throw new VerificationError('base hash H_B does not match the manifest', 'ElectionParameters');
    }
    const K = group.parseElement(params.election_key, 'ElectionParameters.election_key', { key: true });
    const hE = await H(hB, DOMAIN.extended_base_hash, [encodeElement(group, K)]);
    if (!equalBytes(hE, parseHash(params.extended_base_hash, 'ElectionParameters.extended_base_hash'))) {
      throw new VerificationError('extended base hash H_E does not match the election key', 'ElectionParameters');
    }
    const boardKey = doc.board_key ? parseBoardKey(doc.board_key) : null;
    // The manifest names the board's key (hashed into H_B at the key ceremony,
    // docs/protocol.md D7): tree heads are checked against that key, never against one
    // the server offers beside it.
    if (manifest.board !== undefined) {
      fields(manifest.board, ['public_key'], 'Manifest.board');
      const pinned = parseHash(manifest.board.public_key, 'Manifest.board.public_key');
      if (boardKey === null || !equalBytes(boardKey, pinned)) {
        throw new VerificationError("the board key is not the one the manifest names", 'BoardKey');
      }
    }
    const key = new PublicKey(group, K, window);
    return new Election(group, manifest, params, { hP, hB, hE }, key, boardKey);
  }

  // --- ballots (e2e/ballot.py) -------------------------------------------------------------

  function contestIndexOf(election, contestKey) {
    const byId = election.contests.findIndex((c) => c.id === String(contestKey));
    if (byId >= 0) return byId + 1;
    const s = String(contestKey);
    if (/^[1-9][0-9]*$/.test(s) && Number(s) <= election.contests.length) return Number(s);
    throw new BallotError(`unknown contest ${JSON.stringify(contestKey)}`);
  }

  /**
   * Check a voter's plaintext against the manifest (Python's plaintext_values): returns
   * [[contest index, [0/1 per option]], ...] in ascending contest order.
   *
   * ``choices``: an object or Map from contest to the chosen options (empty = blank).
   * A contest is named by its id, or by its 1-based index when no contest has that id;
   * an option by its id (a string) or its 1-based index (a number).
   */
  function plaintextValues(election, choices) {
    const entries = choices instanceof Map ? [...choices.entries()] : Object.entries(choices || {});
    if (!entries.length) throw new BallotError('a ballot must cover at least one contest');
    const out = new Map();
    for (const [contestKey, chosen] of entries) {
      const ci = contestIndexOf(election, contestKey);
      const contest = election.contest(ci);
      const label = JSON.stringify(contest.id);
      if (out.has(ci)) throw new BallotError(`contest ${label} is given twice`);
      if (!Array.isArray(chosen)) throw new BallotError(`the choices for contest ${label} are not a list`);
      const picked = chosen.map((o) => {
        if (typeof o === 'number' && Number.isInteger(o) && o >= 1 && o <= contest.options.length) return o;
        const at = typeof o === 'string' ? contest.options.indexOf(o) : -1;
        if (at < 0) throw new BallotError(`unknown option ${JSON.stringify(o)} in contest ${label}`);
        return at + 1;
      });
      if (new Set(picked).size !== picked.length) {
        throw new BallotError(`an option is chosen twice in contest ${label}`);
      }
      if (picked.length > contest.limit) {
        throw new BallotError(
          `contest ${label} allows at most ${contest.limit} choice(s), got ${picked.length}`,
        );
      }
      out.set(ci, contest.options.map((_, j) => (picked.includes(j + 1) ? 1 : 0)));
    }
    return [...out.entries()].sort((a, b) => a[0] - b[0]);
  }

  function normaliseValues(election, values) {
    const entries = values instanceof Map ? [...values.entries()] : Array.isArray(values) ? values : Object.entries(values);
    const rows = entries.map(([ci, row]) => [Number(ci), row]).sort((a, b) => a[0] - b[0]);
    if (!rows.length) throw new BallotError('a ballot must cover at least one contest');
    rows.forEach(([ci, row], n) => {
      const contest = election.contest(ci);
      if (n && rows[n - 1][0] === ci) throw new BallotError(`contest ${ci} is given twice`);
      if (!Array.isArray(row) || row.length !== contest.options.length || row.some((v) => v !== 0 && v !== 1)) {
        throw new BallotError(`contest ${ci} needs 0 or 1 for each of its ${contest.options.length} options`);
      }
      if (row.reduce((s, v) => s + v, 0) > contest.limit) {
        throw new BallotError(`contest ${ci} allows at most ${contest.limit} choice(s)`);
      }
    });
    return rows;
  }

  function selectionNonce(election, hI, contest, option, ballotNonce) {
    return Hq(election.group, hI, DOMAIN.selection_nonce, [encodeInt(contest), encodeInt(option), ballotNonce]);
  }

  function contestHash(group, hI, contest, cts) {
    const parts = [encodeInt(contest)];
    for (const ct of cts) parts.push(encodeElement(group, ct.alpha), encodeElement(group, ct.beta));
    return H(hI, DOMAIN.contest_hash, parts);
  }

  function deviceHash(election, device) {
    return H(election.hE, DOMAIN.device_hash, [encodeString(device)]);
  }

  /** H_C = H(H_I; 0x29, χ_…, b(0, 4) ∥ H_DI): no chaining (eq. 71, 73). */
  function confirmationCode(hI, contestHashes, hDI) {
    return H(hI, DOMAIN.confirmation_code, [...contestHashes, new Uint8Array(4), hDI]);
  }

  function product(group, cts) {
    let a = cts[0].alpha;
    let b = cts[0].beta;
    for (let i = 1; i < cts.length; i++) {
      a = group.mul(a, cts[i].alpha);
      b = group.mul(b, cts[i].beta);
    }
    return { alpha: a, beta: b };
  }

  function checkRandomness(values, randomness, election) {
    if (!Array.isArray(randomness) || randomness.length !== values.length) {
      throw new RangeError('proof randomness must list one entry per covered contest');
    }
    values.forEach(([ci, row], n) => {
      const r = randomness[n];
      if (!r || !Array.isArray(r.selections) || r.selections.length !== row.length || !r.limit) {
        throw new RangeError(`proof randomness for contest ${ci} needs one entry per option and a limit entry`);
      }
      r.selections.forEach((s, j) => checkRangeInputs(row[j], 1, s.u, s.c));
      checkRangeInputs(row.reduce((s, v) => s + v, 0), election.contest(ci).limit, r.limit.u, r.limit.c);
    });
  }

  /**
   * The core of encryptBallot, from checked values and given random inputs (Python's
   * encrypt_ballot_with; for the test vectors).
   *
   * ``values``: Map, object or [[contest index, [0/1 per option]], ...]; ``ballotId`` and
   * ``ballotNonce``: 32 bytes each; ``randomness``: per covered contest in ascending order,
   * {selections: [{u: [u_0, u_1], c: [c_0, c_1]} per option], limit: {u: [...L+1],
   * c: [...L+1]}} (BigInts; the simulated challenge at j = value is ignored) — the order in
   * which Python's rng is drawn. Resolves to {ballot: the EncryptedBallot document,
   * canonical: its canonical JSON, secret: {nonce, values}}.
   *
   * Exponentiations run back to back; the hashes of each stage are issued together, so the
   * asynchronous WebCrypto calls cost four round trips per ballot, not sixty.
   */
  async function encryptBallotWith(election, values, ballotId, ballotNonce, randomness, device) {
    const g = election.group;
    const key = election.key;
    const rows = normaliseValues(election, values);
    if (ballotId.length !== 32 || ballotNonce.length !== 32) {
      throw new RangeError('the ballot id and the ballot nonce have 32 bytes each');
    }
    checkRandomness(rows, randomness, election);
    if (typeof device !== 'string') throw new TypeError('the device label is a string');
    const hDI = deviceHash(election, device);
    const hI = await H(election.hE, DOMAIN.selection_identifier, [ballotId]);
    const hIKey = await hmacKey(hI);
    const nonces = await Promise.all(
      rows.map(([ci, row]) =>
        Promise.all(row.map((_, j) => selectionNonce(election, hIKey, ci, j + 1, ballotNonce))),
      ),
    );
    // Stage 1: every exponentiation (encryptions and proof commitments).
    const pending = [];
    const contests = rows.map(([ci, row], n) => {
      const limit = election.contest(ci).limit;
      const r = randomness[n];
      const cts = [];
      let total = 0n;
      const selections = row.map((v, j) => {
        const xi = nonces[n][j];
        const ct = encrypt(key, v, xi);
        const { u, c } = r.selections[j];
        const proof = { value: v, limit: 1, nonce: xi, u, c, indices: [ci, j + 1], ct };
        proof.commitments = rangeCommitments(key, v, 1, u, c);
        pending.push(proof);
        cts.push(ct);
        total += xi;
        return { option: j + 1, ct, proof };
      });
      const agg = product(g, cts);
      const sum = row.reduce((s, v) => s + v, 0);
      const limitProof = { value: sum, limit, nonce: g.modQ(total), u: r.limit.u, c: r.limit.c, indices: [ci], ct: agg };
      limitProof.commitments = rangeCommitments(key, sum, limit, r.limit.u, r.limit.c);
      pending.push(limitProof);
      return { contest: ci, cts, selections, limitProof };
    });
    // Stage 2: all challenges and contest hashes at once.
    const [challenges, hashes] = await Promise.all([
      Promise.all(pending.map((pr) => rangeChallenge(key, hIKey, pr.indices, pr.ct, pr.commitments))),
      Promise.all(contests.map((c) => contestHash(g, hIKey, c.contest, c.cts))),
    ]);
    pending.forEach((pr, i) => {
      Object.assign(pr, rangeResponses(key, pr.value, pr.limit, challenges[i], pr.nonce, pr.u, pr.c));
    });
    const code = await confirmationCode(hIKey, hashes, await hDI);
    const ballot = document('EncryptedBallot', {
      ballot_id: bytesToHex(ballotId),
      confirmation_code: bytesToHex(code),
      contests: contests.map((c, n) => ({
        contest: c.contest,
        contest_hash: bytesToHex(hashes[n]),
        limit_proof: rangeProofFields(g, c.limitProof),
        selections: c.selections.map((s) => ({
          ciphertext: ciphertextFields(g, s.ct),
          option: s.option,
          proof: rangeProofFields(g, s.proof),
        })),
      })),
      device,
    });
    return {
      ballot,
      canonical: canonicalJSON(ballot),
      secret: { nonce: ballotNonce, values: rows.map(([, row]) => row.slice()) },
    };
  }

  /**
   * Encrypt a voter's choices (see plaintextValues) with all proofs, with fresh random
   * ballot id, ballot nonce and proof inputs. Resolves like encryptBallotWith; keep
   * ``secret`` on the device unless the voter challenges the ballot.
   */
  function encryptBallot(election, choices, { device = 'tohyo' } = {}) {
    const rows = plaintextValues(election, choices);
    const randomness = rows.map(([ci, row]) => ({
      selections: row.map(() => rangeRandomness(election.group, 1)),
      limit: rangeRandomness(election.group, election.contest(ci).limit),
    }));
    return encryptBallotWith(election, rows, randomBytes(32), randomBytes(32), randomness, device);
  }

  /**
   * The ChallengedBallot document of a ballot the voter challenges instead of casting:
   * the ballot with its nonce and choices revealed (Python's ballot.challenge).
   * Resolves to {document, canonical}.
   */
  function challengeBallot(ballotDoc, secret) {
    const doc = document('ChallengedBallot', {
      ballot: stripTop(ballotDoc, 'EncryptedBallot'),
      ballot_nonce: bytesToHex(secret.nonce),
      choices: secret.values.map((row) => row.slice()),
    });
    return { document: doc, canonical: canonicalJSON(doc) };
  }

  // --- ballot verification -----------------------------------------------------------------

  /** Parse an EncryptedBallot (top-level document or nested object) strictly. */
  function parseBallot(election, raw, where = 'EncryptedBallot') {
    const g = election.group;
    fields(raw, ['ballot_id', 'confirmation_code', 'contests', 'device'], where);
    return {
      ballotId: parseHash(raw.ballot_id, `${where}.ballot_id`),
      device: string(raw.device, `${where}.device`),
      confirmationCode: parseHash(raw.confirmation_code, `${where}.confirmation_code`),
      contests: list(raw.contests, `${where}.contests`).map((c, i) => {
        const cw = `${where}.contests[${i}]`;
        fields(c, ['contest', 'contest_hash', 'limit_proof', 'selections'], cw);
        return {
          contest: integer(c.contest, `${cw}.contest`),
          contestHash: parseHash(c.contest_hash, `${cw}.contest_hash`),
          limitProof: parseRangeProof(g, c.limit_proof, `${cw}.limit_proof`),
          selections: list(c.selections, `${cw}.selections`).map((s, j) => {
            const sw = `${cw}.selections[${j}]`;
            fields(s, ['ciphertext', 'option', 'proof'], sw);
            return {
              option: integer(s.option, `${sw}.option`),
              ct: parseCiphertext(g, s.ciphertext, `${sw}.ciphertext`),
              proof: parseRangeProof(g, s.proof, `${sw}.proof`),
            };
          }),
        };
      }),
    };
  }

  /** Structure, contest hashes and confirmation code (no proofs); returns H_I. */
  async function checkBallotHashes(election, ballot, where) {
    if (!ballot.contests.length) throw new VerificationError('ballot covers no contest', where);
    const indices = ballot.contests.map((c) => c.contest);
    const ascending = indices.every((ci, n) => (n === 0 || ci > indices[n - 1]) && ci >= 1 && ci <= election.contests.length);
    if (!ascending) {
      throw new VerificationError('contest indices not ascending, unique and in the manifest', where);
    }
    const hI = await H(election.hE, DOMAIN.selection_identifier, [ballot.ballotId]);
    const hIKey = await hmacKey(hI);
    const hashes = await Promise.all(
      ballot.contests.map((c) => {
        const spec = election.contest(c.contest);
        const cw = `${where} contest ${c.contest}`;
        if (c.selections.length !== spec.options.length || c.selections.some((s, j) => s.option !== j + 1)) {
          throw new VerificationError("selections do not match the manifest's options", cw);
        }
        return contestHash(election.group, hIKey, c.contest, c.selections.map((s) => s.ct));
      }),
    );
    ballot.contests.forEach((c, n) => {
      if (!equalBytes(hashes[n], c.contestHash)) {
        throw new VerificationError('contest hash is wrong', `${where} contest ${c.contest}`);
      }
    });
    const code = await confirmationCode(hIKey, hashes, await deviceHash(election, ballot.device));
    if (!equalBytes(code, ballot.confirmationCode)) throw new VerificationError('confirmation code is wrong', where);
    return hIKey;
  }

  /**
   * Verify a cast ballot (an EncryptedBallot document) as Python's verify_ballot does:
   * strict parsing (ciphertexts in the subgroup), structure against the manifest, contest
   * hashes, confirmation code, and every range and selection-limit proof, one by one.
   * Throws CodecError / VerificationError / InvalidProof naming the ballot and contest.
   */
  async function verifyBallot(election, ballotDoc) {
    const ballot = parseBallot(election, stripTop(ballotDoc, 'EncryptedBallot'));
    const where = `ballot ${bytesToHex(ballot.ballotId).slice(0, 16)}`;
    const hI = await checkBallotHashes(election, ballot, where);
    for (const c of ballot.contests) {
      const cw = `${where} contest ${c.contest}`;
      const cts = c.selections.map((s) => s.ct);
      for (const s of c.selections) {
        await verifyRange(election.key, hI, [c.contest, s.option], s.ct, s.proof, 1, `${cw} option ${s.option}`);
      }
      const limit = election.contest(c.contest).limit;
      await verifyRange(election.key, hI, [c.contest], product(election.group, cts), c.limitProof, limit, cw);
    }
  }

  /**
   * Check a challenged ballot (a ChallengedBallot document) and read it: its hashes and
   * confirmation code, and every encryption recomputed from the revealed nonce and
   * choices (Python's verify_challenged; no proof is needed). Resolves to
   * {contest id: [chosen option ids]} for the covered contests.
   */
  async function verifyChallenged(election, doc) {
    const raw = stripTop(doc, 'ChallengedBallot');
    fields(raw, ['ballot', 'ballot_nonce', 'choices'], 'ChallengedBallot');
    const ballot = parseBallot(election, raw.ballot, 'ChallengedBallot.ballot');
    const nonce = parseHash(raw.ballot_nonce, 'ChallengedBallot.ballot_nonce');
    const choices = list(raw.choices, 'ChallengedBallot.choices').map((row, i) =>
      list(row, `ChallengedBallot.choices[${i}]`).map((v, j) => integer(v, `ChallengedBallot.choices[${i}][${j}]`)),
    );
    const where = `challenged ballot ${bytesToHex(ballot.ballotId).slice(0, 16)}`;
    const hI = await checkBallotHashes(election, ballot, where);
    if (choices.length !== ballot.contests.length) {
      throw new VerificationError("revealed choices do not match the ballot's contests", where);
    }
    const key = election.key;
    const out = {};
    for (const [n, c] of ballot.contests.entries()) {
      const cw = `${where} contest ${c.contest}`;
      const row = choices[n];
      const spec = election.contest(c.contest);
      if (row.length !== c.selections.length || row.some((v) => v !== 0 && v !== 1)) {
        throw new VerificationError('revealed choices are not 0/1 for each option', cw);
      }
      if (row.reduce((s, v) => s + v, 0) > spec.limit) {
        throw new VerificationError('revealed choices exceed the contest limit', cw);
      }
      const xis = await Promise.all(c.selections.map((s) => selectionNonce(election, hI, c.contest, s.option, nonce)));
      c.selections.forEach((s, j) => {
        const expected = encrypt(key, row[j], xis[j]);
        if (s.ct.alpha !== expected.alpha || s.ct.beta !== expected.beta) {
          throw new VerificationError(
            'the revealed nonce and choice do not reproduce the encryption',
            `${cw} option ${s.option}`,
          );
        }
      });
      out[spec.id] = spec.options.filter((_, j) => row[j] === 1);
    }
    return out;
  }

  // --- the board's log (e2e/merkle.py, e2e/board.py) ---------------------------------------

  /** SHA-256(0x00 ∥ data): the leaf hash of one log entry (RFC 9162 §2.1.1). */
  function leafHash(data) {
    return sha256(concatBytes([Uint8Array.of(0), data]));
  }

  /** SHA-256(0x01 ∥ left ∥ right): an interior node. */
  function nodeHash(left, right) {
    return sha256(concatBytes([Uint8Array.of(1), left, right]));
  }

  function inclusionPathLength(index, size) {
    // The RFC's PATH recursion, counting its steps.
    let n = 0;
    let start = 0;
    let end = size;
    while (end - start > 1) {
      let k = 1; // the largest power of two below the size (RFC 9162's split)
      while (k * 2 < end - start) k *= 2;
      if (index < start + k) end = start + k;
      else start += k;
      n++;
    }
    return n;
  }

  /**
   * Check that leafHash is leaf ``leafIndex`` of the tree (``treeSize``, ``root``) with the
   * inclusion ``proof`` (32-byte hashes, leaf side first): RFC 9162 §2.1.3.2 as
   * e2e/merkle.py verify_inclusion. Throws LogProofError.
   */
  async function verifyInclusion(leafIndex, treeSize, leafHashBytes, proof, root) {
    const where = `inclusion of leaf ${leafIndex} in tree of size ${treeSize}`;
    const fail = (m) => new LogProofError(m, where);
    if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize)) throw fail('sizes must be integers');
    if (leafIndex < 0 || treeSize < 0 || leafIndex >= treeSize) throw fail('leaf index outside the tree');
    const check = (h, what) => {
      if (!(h instanceof Uint8Array) || h.length !== 32) throw fail(`${what} is not 32 bytes`);
    };
    check(leafHashBytes, 'leaf hash');
    check(root, 'root');
    proof.forEach((p, i) => check(p, `proof[${i}]`));
    const expected = inclusionPathLength(leafIndex, treeSize);
    if (proof.length !== expected) throw fail(`proof has ${proof.length} hashes, expected ${expected}`);
    // Sizes below 2^53 but above 2^31: BigInt keeps the bit operations exact.
    let fn = BigInt(leafIndex);
    let sn = BigInt(treeSize - 1);
    let r = leafHashBytes;
    for (const p of proof) {
      if (sn === 0n) throw fail('proof is too long');
      if (fn & 1n || fn === sn) {
        r = await nodeHash(p, r);
        if (!(fn & 1n)) {
          while (fn && !(fn & 1n)) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw fail('proof is too short');
    if (!equalBytes(r, root)) throw fail('proof does not lead to the root');
  }

  /**
   * Check a signed tree head (a TreeHead document) with the board's key (32 raw bytes or a
   * BoardKey document): the log id is SHA-256 of the key, and the Ed25519 signature over
   * the canonical TreeHeadBody {log, size, root, time} verifies. Throws VerificationError.
   */
  async function verifyTreeHead(boardKey, head) {
    checkDocument(head, 'TreeHead', 'TreeHead');
    fields(head, ['format', 'type', 'log', 'size', 'root', 'time', 'signature'], 'TreeHead');
    const keyBytes = boardKey instanceof Uint8Array ? boardKey : parseBoardKey(boardKey);
    const size = integer(head.size, 'TreeHead.size');
    const where = `tree head ${size}`;
    const log = parseHash(head.log, 'TreeHead.log');
    parseHash(head.root, 'TreeHead.root');
    string(head.time, 'TreeHead.time');
    if (!equalBytes(log, await sha256(keyBytes))) throw new VerificationError('signed by another log', where);
    const sig = head.signature;
    if (typeof sig !== 'string' || sig.length !== 128 || !UPPER_HEX.test(sig)) {
      throw new VerificationError('signature does not verify', where);
    }
    const body = canonicalJSON(document('TreeHeadBody', { log: head.log, root: head.root, size, time: head.time }));
    let ok = false;
    try {
      const k = await subtle.importKey('raw', keyBytes, { name: 'Ed25519' }, false, ['verify']);
      ok = await subtle.verify({ name: 'Ed25519' }, k, hexToBytes(sig), utf8(body));
    } catch (e) {
      throw new VerificationError(`signature cannot be checked (${e.message})`, where);
    }
    if (!ok) throw new VerificationError('signature does not verify', where);
  }

  // --- checkpoints and cosignatures (e2e/checkpoint.py, docs/protocol.md §8.4) -------------

  // C2SP signed-note, tlog-checkpoint and tlog-cosignature, strictly as e2e/checkpoint.py
  // parses them (the error messages are the same, so the vectors pin both).
  const NOTE_ED25519 = 0x01;
  const NOTE_COSIGNATURE_V1 = 0x04;
  const NOTE_MAX_SIGNATURES = 64;
  const NOTE_MAX_BYTES = 16384;
  const NOTE_DASH = '\u2014';
  const COSIGN_HEADER = 'cosignature/v1\n';
  const NOTE_CONTROL = /[\u0000-\u0009\u000B-\u001F\u007F]/;
  // Python's str.isspace() (space, tab... and the Unicode spaces), control characters, '+'.
  const NAME_BAD = /[\u0000-\u0020\u007F\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000+]/;
  const NOT_PRINTABLE = /[\p{C}\p{Z}]/u;
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64_VALUE = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;
  // Standard base64 with its padding (RFC 4648 §4), as Go's StdEncoding and Python's
  // b64decode(validate=True) read it; unused bits of the last digit are not checked.
  const B64_FORM = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const TWO_63 = 2n ** 63n;

  function base64Encode(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      s += B64[n >> 18] + B64[(n >> 12) & 63];
      s += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
      s += i + 2 < bytes.length ? B64[n & 63] : '=';
    }
    return s;
  }

  /** The bytes of standard, padded base64, or null if ``s`` is not that. */
  function base64Decode(s) {
    if (!B64_FORM.test(s)) return null;
    const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
    const out = new Uint8Array((s.length / 4) * 3 - pad);
    let at = 0;
    for (let i = 0; i < s.length; i += 4) {
      const d = [0, 1, 2, 3].map((k) => (s[i + k] === '=' ? 0 : B64_VALUE[s.charCodeAt(i + k)]));
      const n = (d[0] << 18) | (d[1] << 12) | (d[2] << 6) | d[3];
      for (const b of [n >> 16, (n >> 8) & 255, n & 255]) if (at < out.length) out[at++] = b;
    }
    return out;
  }

  /** A string as Python's repr() writes it (the messages name keys as Python does). */
  function pyRepr(s) {
    const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
    let out = '';
    for (const ch of s) {
      const c = ch.codePointAt(0);
      if (ch === '\\' || ch === quote) out += '\\' + ch;
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (ch !== ' ' && (c < 0x20 || c === 0x7f || NOT_PRINTABLE.test(ch))) {
        const h = c.toString(16);
        out += c < 0x100 ? '\\x' + h.padStart(2, '0') : c < 0x10000 ? '\\u' + h.padStart(4, '0') : '\\U' + h.padStart(8, '0');
      } else out += ch;
    }
    return quote + out + quote;
  }

  /**
   * A key name or origin (e2e/checkpoint.py check_name): non-empty, no spaces, no '+', no
   * control characters, at most 255 bytes, and not starting with '{' (so that a note
   * signature of the board can never pass for one of its JSON tree head signatures).
   */
  function checkNoteName(name, what = 'key name') {
    if (
      typeof name !== 'string' ||
      !name ||
      NAME_BAD.test(name) ||
      LONE_SURROGATE.test(name) ||
      name.startsWith('{') ||
      utf8(name).length > 255
    ) {
      throw new NoteError(`${what} ${pyRepr(String(name))} is not a valid note key name`, what);
    }
    return name;
  }

  /** SHA-256(name ∥ 0x0A ∥ type ∥ public key)[:4]: a note key's id (C2SP signed-note). */
  async function noteKeyId(name, kind, publicKey) {
    return (await sha256(concatBytes([utf8(name), Uint8Array.of(0x0a, kind), publicKey]))).slice(0, 4);
  }

  /**
   * A signed note (C2SP signed-note), strictly: UTF-8 text (a string, or bytes), no control
   * characters but newlines, at most 16 kB; the text ending in a newline, a blank line,
   * then 1 to 64 signature lines "— <name> <base64(key id ∥ signature)>", each ending in a
   * newline. Returns {text, signatures: [{name, keyId, signature}]}; throws NoteError.
   */
  function parseNote(data) {
    const fail = (m) => new NoteError(m, 'note');
    if (data instanceof Uint8Array) {
      if (data.length > NOTE_MAX_BYTES) throw fail('note too large');
      try {
        data = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
      } catch (_) {
        throw fail('note is not UTF-8');
      }
    }
    if (typeof data !== 'string') throw fail('note is not text');
    if (LONE_SURROGATE.test(data)) throw fail('note is not UTF-8');
    if (utf8(data).length > NOTE_MAX_BYTES) throw fail('note too large');
    if (NOTE_CONTROL.test(data)) throw fail('note contains control characters');
    const split = data.lastIndexOf('\n\n');
    if (split < 0 || !data.endsWith('\n')) throw fail('note has no signatures');
    const text = data.slice(0, split + 1);
    const sigs = data.slice(split + 2);
    const lines = sigs ? sigs.slice(0, -1).split('\n') : [];
    if (!lines.length) throw fail('note has no signatures');
    if (lines.length > NOTE_MAX_SIGNATURES) throw fail(`note has more than ${NOTE_MAX_SIGNATURES} signatures`);
    const signatures = lines.map((line) => {
      const parts = line.split(' ');
      if (parts.length !== 3 || parts[0] !== NOTE_DASH) throw fail('malformed signature line');
      const name = checkNoteName(parts[1]);
      const raw = base64Decode(parts[2]);
      if (raw === null) throw fail('signature is not base64');
      if (raw.length < 5) throw fail('signature too short');
      return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
    });
    return { text, signatures };
  }

  /**
   * A checkpoint's text (C2SP tlog-checkpoint, without extension lines): origin, tree size
   * (decimal, no leading zeros), base64 root (32 bytes). Returns {origin, size, root}
   * (size a Number; a size beyond 2^53 stays in sizeText). Throws NoteError.
   */
  function parseCheckpoint(text) {
    const fail = (m) => new NoteError(m, 'checkpoint');
    const lines = text.split('\n');
    if (lines.length !== 4 || lines[3] !== '') throw fail('a checkpoint is three lines');
    const [origin, sizeText, rootText] = lines;
    checkNoteName(origin, 'origin');
    if (!/^[0-9]+$/.test(sizeText) || (sizeText !== '0' && sizeText[0] === '0')) {
      throw fail('the tree size is not a decimal number');
    }
    if (sizeText.length > 19) throw fail('the tree size is too large');
    const root = base64Decode(rootText);
    if (root === null) throw fail('the root is not base64');
    if (root.length !== 32 || base64Encode(root) !== rootText) throw fail('the root is not a 32-byte hash');
    return { origin, size: Number(sizeText), sizeText, root };
  }

  /**
   * The manifest's ``witnessing`` ({origin, quorum, witnesses: [{name, public_key}]}):
   * {origin, quorum, witnesses: [{name, publicKey}]}. Throws CodecError if it is malformed,
   * names a witness twice (by name or by key), or asks for a quorum it cannot have.
   */
  function parseWitnessing(raw) {
    const where = 'Manifest.witnessing';
    fields(raw, ['origin', 'quorum', 'witnesses'], where);
    const origin = string(raw.origin, `${where}.origin`);
    checkNoteName(origin, 'origin');
    const quorum = integer(raw.quorum, `${where}.quorum`);
    const names = new Set();
    const keys = new Set();
    const witnesses = list(raw.witnesses, `${where}.witnesses`).map((w, i) => {
      const ww = `${where}.witnesses[${i}]`;
      fields(w, ['name', 'public_key'], ww);
      const name = checkNoteName(string(w.name, `${ww}.name`), 'witness name');
      const publicKey = parseHash(w.public_key, `${ww}.public_key`);
      if (name === origin) throw new CodecError(`${ww}.name: a witness's name is not the board's origin`);
      if (names.has(name) || keys.has(w.public_key)) throw new CodecError(`${ww}: the same witness twice`);
      names.add(name);
      keys.add(w.public_key);
      return { name, publicKey };
    });
    if (!witnesses.length) throw new CodecError(`${where}.witnesses: must list at least one witness`);
    if (quorum < 1 || quorum > witnesses.length) {
      throw new CodecError(`${where}.quorum: must be between 1 and the witnesses (${witnesses.length})`);
    }
    return { origin, quorum, witnesses };
  }

  async function ed25519Verify(publicKey, signature, message, where) {
    if (signature.length !== 64) return false;
    try {
      const k = await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      return await subtle.verify({ name: 'Ed25519' }, k, signature, message);
    } catch (e) {
      throw new VerificationError(`signature cannot be checked (${e.message})`, where);
    }
  }

  /**
   * Check a checkpoint (a signed note, as text or as parseNote gives it) against the
   * board's key (32 raw bytes or a BoardKey document) and the manifest's ``witnessing``:
   *
   * * its origin is the manifest's, and every signature line of the board's key (name =
   *   origin, type 0x01) verifies; there is at least one;
   * * given ``head`` (the JSON TreeHead it stands for, e.g. a receipt's tree_head), its
   *   size and root are the head's;
   * * every cosignature line (type 0x04) of a manifest witness verifies — one that does not
   *   fails the whole note; lines of other keys are ignored, and each witness counts once.
   *
   * Resolves to {origin, size, root (hex), cosigners: [witness names, in the manifest's
   * order], cosignatures: [{witness, time}], quorum, witnesses (how many the manifest
   * names), witnessed: cosigners.length >= quorum}. Too few cosignatures is not an error
   * (``witnessed`` is false): the caller says what that means. Throws NoteError
   * (a VerificationError) for a malformed note, a bad signature or a mismatch.
   */
  async function verifyCheckpoint(boardKey, witnessing, note, head) {
    const keyBytes = boardKey instanceof Uint8Array ? boardKey : parseBoardKey(boardKey);
    const w = parseWitnessing(witnessing);
    if (w.witnesses.some((x) => equalBytes(x.publicKey, keyBytes))) {
      throw new CodecError('Manifest.witnessing: the board cannot witness itself');
    }
    const n = typeof note === 'string' || note instanceof Uint8Array ? parseNote(note) : note;
    const cp = parseCheckpoint(n.text);
    const where = `checkpoint ${cp.sizeText}`;
    if (cp.origin !== w.origin) {
      throw new NoteError(`the checkpoint is for origin ${pyRepr(cp.origin)}, not ${pyRepr(w.origin)}`, where);
    }
    const text = utf8(n.text);
    const boardId = await noteKeyId(w.origin, NOTE_ED25519, keyBytes);
    const mine = n.signatures.filter((s) => s.name === w.origin && equalBytes(s.keyId, boardId));
    if (!mine.length) throw new NoteError('the checkpoint is not signed by the board', where);
    for (const s of mine) {
      if (!(await ed25519Verify(keyBytes, s.signature, text, where))) {
        throw new NoteError("the board's signature on the checkpoint does not verify", where);
      }
    }
    if (head !== undefined && head !== null) {
      const size = integer(head.size, 'TreeHead.size');
      const root = parseHash(head.root, 'TreeHead.root');
      if (cp.size !== size || !equalBytes(cp.root, root)) {
        throw new NoteError(`the checkpoint is not the tree head of size ${size}`, where);
      }
    }
    const found = [];
    const cwhere = 'checkpoint cosignatures';
    for (const x of w.witnesses) {
      const kid = await noteKeyId(x.name, NOTE_COSIGNATURE_V1, x.publicKey);
      for (const s of n.signatures) {
        if (s.name !== x.name || !equalBytes(s.keyId, kid)) continue;
        if (s.signature.length !== 72) throw new NoteError(`the cosignature of ${x.name} has the wrong length`, cwhere);
        const time = bytesToBig(s.signature.slice(0, 8));
        const message = utf8(`${COSIGN_HEADER}time ${time}\n${n.text}`);
        if (time >= TWO_63 || !(await ed25519Verify(x.publicKey, s.signature.slice(8), message, cwhere))) {
          throw new NoteError(`the cosignature of ${x.name} does not verify`, cwhere);
        }
        if (!found.some((f) => f.witness === x.name)) found.push({ witness: x.name, time: Number(time) });
      }
    }
    return {
      origin: cp.origin,
      size: cp.size,
      root: bytesToHex(cp.root),
      cosigners: found.map((f) => f.witness),
      cosignatures: found,
      quorum: w.quorum,
      witnesses: w.witnesses.length,
      witnessed: found.length >= w.quorum,
    };
  }

  /**
   * Check a receipt of the board (POST /api/ballots, GET /api/receipts/<code>: {entry,
   * confirmation_code, tree_head, inclusion_proof, checkpoint?}) for a log entry (its
   * BoardEntry document): the entry's ballot has the receipt's confirmation code, the tree
   * head is signed by the board, and the entry is in its tree.
   *
   * ``witnessing``: the manifest's (absent in an election without witnesses). Given, the
   * receipt's checkpoint is checked with verifyCheckpoint against its tree head, and the
   * call resolves to that description of who cosigned it ({cosigners, quorum, witnessed,
   * ...}, ``checkpoint: true``); a receipt without a checkpoint resolves to one that no
   * witness cosigned (``checkpoint: false``, witnessed false). Without ``witnessing`` it
   * resolves to null (a receipt's checkpoint, if any, is not looked at).
   */
  async function verifyReceipt(boardKey, receipt, entryDoc, witnessing) {
    checkDocument(entryDoc, 'BoardEntry', 'BoardEntry');
    fields(entryDoc, ['format', 'type', 'index', 'kind', 'time', 'voter', 'payload'], 'BoardEntry');
    const names = ['entry', 'confirmation_code', 'tree_head', 'inclusion_proof'];
    const hasCheckpoint = receipt !== null && typeof receipt === 'object' && Object.prototype.hasOwnProperty.call(receipt, 'checkpoint');
    fields(receipt, hasCheckpoint ? [...names, 'checkpoint'] : names, 'receipt');
    const index = integer(receipt.entry, 'receipt.entry');
    if (entryDoc.index !== index) throw new VerificationError(`the entry is number ${entryDoc.index}`, `receipt for entry ${index}`);
    // A receipt is for a ballot: an entry of any other kind (the manifest, an event...) is
    // in the log too, and must not pass as the voter's ballot.
    if (entryDoc.kind !== 'ballot' && entryDoc.kind !== 'challenged') {
      throw new VerificationError(`the entry is a ${entryDoc.kind}, not a ballot`, `receipt for entry ${index}`);
    }
    const payload = JSON.parse(string(entryDoc.payload, 'BoardEntry.payload'));
    const ballot = entryDoc.kind === 'challenged' ? payload.ballot : payload;
    if (!ballot || ballot.confirmation_code !== receipt.confirmation_code) {
      throw new VerificationError("the entry's ballot has another confirmation code", `receipt for entry ${index}`);
    }
    await verifyTreeHead(boardKey, receipt.tree_head);
    const proof = list(receipt.inclusion_proof, 'receipt.inclusion_proof').map((h, i) =>
      parseHash(h, `receipt.inclusion_proof[${i}]`),
    );
    const leaf = await leafHash(utf8(canonicalJSON(entryDoc)));
    await verifyInclusion(index, receipt.tree_head.size, leaf, proof, hexToBytes(receipt.tree_head.root));
    if (witnessing === undefined || witnessing === null) return null;
    if (!hasCheckpoint) {
      const w = parseWitnessing(witnessing);
      return {
        origin: w.origin,
        size: receipt.tree_head.size,
        root: receipt.tree_head.root,
        cosigners: [],
        cosignatures: [],
        quorum: w.quorum,
        witnesses: w.witnesses.length,
        witnessed: false,
        checkpoint: false,
      };
    }
    const note = string(receipt.checkpoint, 'receipt.checkpoint');
    const result = await verifyCheckpoint(boardKey, witnessing, note, receipt.tree_head);
    return Object.assign(result, { checkpoint: true });
  }

  const TohyoCrypto = {
    FORMAT,
    DOMAIN,
    // errors
    TohyoError,
    CodecError,
    InvalidElement,
    InvalidScalar,
    BallotError,
    VerificationError,
    InvalidProof,
    LogProofError,
    NoteError,
    // bytes, hex, canonical JSON
    bytesToHex,
    hexToBytes,
    toHex,
    canonicalJSON,
    utf8,
    randomBytes,
    parseHash,
    // group
    Group,
    FixedBase,
    getGroup,
    // hash
    H,
    Hq,
    hmacKey,
    encodeElement,
    encodeScalar,
    encodeInt,
    encodeString,
    parameterBaseHash,
    sha256,
    // ElGamal and proofs
    PublicKey,
    encrypt,
    proveRange,
    proveRangeWith,
    ciphertextDocument,
    rangeProofDocument,
    verifyRangeProof,
    verifySchnorr,
    // election and ballots
    Election,
    loadElection,
    plaintextValues,
    encryptBallot,
    encryptBallotWith,
    challengeBallot,
    verifyBallot,
    verifyChallenged,
    // board
    leafHash,
    nodeHash,
    verifyInclusion,
    verifyTreeHead,
    verifyReceipt,
    // checkpoints and witnesses' cosignatures
    base64Encode,
    base64Decode,
    parseNote,
    parseCheckpoint,
    parseWitnessing,
    noteKeyId,
    verifyCheckpoint,
  };

  root.TohyoCrypto = TohyoCrypto;
  if (typeof module !== 'undefined' && module.exports) module.exports = TohyoCrypto;
})(typeof globalThis !== 'undefined' ? globalThis : self);
