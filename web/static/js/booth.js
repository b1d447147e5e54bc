// The voting booth: choose → review → encrypt (in a Web Worker) → cast or challenge →
// sign with the card → receipt. One category (contest) per ballot.
//
// The page never sends a choice in the clear: the worker encrypts it, and only the
// encrypted ballot (with its proofs) leaves the device. "Encrypted" and "cast" are
// separate, named steps, and the status line says which one the voter is at.
"use strict";
(function () {
  var booth = document.getElementById("booth");
  if (!booth || booth.classList.contains("hidden")) return;
  var T = JSON.parse(document.getElementById("texts").textContent);
  var live = document.getElementById("live");
  var $ = function (id) { return document.getElementById(id); };
  var lang = document.documentElement.lang === "en" ? "en" : "ja";

  var election = null;     // GET /api/election
  var worker = null;
  var pending = {};        // worker replies by id
  var seq = 0;
  var contest = null;      // index of the contest being voted
  var chosen = [];         // option ids chosen in it
  var encrypted = null;    // {ballot, canonical, confirmation_code}
  var challenge = null;    // the server challenge for signing

  function say(text, kind) {
    live.textContent = text || "";
    live.className = "status" + (kind ? " " + kind : "");
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function show(section) {
    booth.querySelectorAll("section[data-step]").forEach(function (s) {
      s.classList.toggle("hidden", s !== section);
    });
    var step = section.dataset.step;
    booth.querySelectorAll(".steps li").forEach(function (li) {
      if (li.dataset.step === step) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    var h = section.querySelector("h2");
    if (h) h.focus();
  }

  function call(msg) {
    return new Promise(function (resolve, reject) {
      msg.id = ++seq;
      pending[msg.id] = { resolve: resolve, reject: reject };
      worker.postMessage(msg);
    });
  }

  function onWorker(ev) {
    var r = ev.data || {};
    var p = pending[r.id];
    if (!p) return;
    delete pending[r.id];
    if (r.ok) p.resolve(r); else p.reject(new Error(r.error || "worker error"));
  }

  async function api(method, path, body, headers) {
    var init = { method: method, headers: Object.assign({ "Accept": "application/json" }, headers || {}) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    var resp;
    try { resp = await fetch(path, init); } catch (_) { throw Object.assign(new Error(T["network"]), { network: true }); }
    if (resp.status === 204) return null;
    var data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (!resp.ok) {
      var msg = data && data.message ? data.message[lang] : String(resp.status);
      throw Object.assign(new Error(msg), { refusal: data && data.error, status: resp.status });
    }
    return data;
  }

  function contestDoc(i) { return election.manifest.contests[i]; }

  // A confirmation code as the voter notes and compares it: the short form, large, with the
  // full code (which the record holds) under it (docs/record.md, "Short codes").
  function showCode(id, code) {
    var el = $(id);
    el.textContent = "";
    var s = document.createElement("strong");
    s.className = "short-code";
    s.textContent = TohyoShortCode.short(code);
    var full = document.createElement("span");
    full.className = "full-code";
    full.textContent = code;
    el.appendChild(s);
    el.appendChild(full);
  }

  function choiceText(i, ids) {
    if (!ids.length) return T["blank"];
    var c = contestDoc(i);
    return ids.map(function (id) {
      var o = c.options.find(function (x) { return x.id === id; });
      return o ? o.label[lang] : id;
    }).join("、");
  }

  function votedHere() {
    try { return JSON.parse(sessionStorage.getItem("tohyo-voted") || "{}"); } catch (_) { return {}; }
  }

  function markVoted() {
    var v = votedHere();
    booth.querySelectorAll("[data-voted]").forEach(function (el) {
      el.textContent = v[el.dataset.voted] ? " " + T["voted"] : "";
    });
  }

  // --- start: fetch the election, build the worker's tables ---------------------------
  async function start() {
    say(T["loading"]);
    election = await api("GET", "/api/election");
    worker = new Worker(booth.dataset.worker);
    worker.onmessage = onWorker;
    worker.onerror = function () { say(T["network"], "bad"); };
    say(T["tables"]);
    var setup = await call({ cmd: "setup", election: election });
    // The small test group is for rehearsals only: say so on every booth that uses it.
    if (setup.insecure) say(T["ready"] + " " + T["insecure"], "warn");
    else say(T["ready"], "ok");
    markVoted();
  }

  booth.querySelectorAll("button.category").forEach(function (b) {
    b.addEventListener("click", function () {
      contest = Number(b.dataset.contest);
      var form = booth.querySelector("form[data-contest='" + contest + "']");
      form.reset();
      form.querySelector("[data-error]").classList.add("hidden");
      show(form.closest("section"));
    });
  });

  booth.querySelectorAll("form[data-contest]").forEach(function (form) {
    form.querySelector("[data-back]").addEventListener("click", function () { show($("step-categories")); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = form.querySelector("[data-error]");
      var checked = Array.from(form.querySelectorAll("input:checked"));
      var limit = Number(form.dataset.limit);
      if (!checked.length && limit === 1) {
        err.textContent = T["pick"]; err.classList.remove("hidden"); err.focus(); return;
      }
      var ids = checked.map(function (x) { return x.value; }).filter(function (v) { return v !== ""; });
      if (ids.length > limit) { err.textContent = T["toomany"]; err.classList.remove("hidden"); return; }
      chosen = ids;
      $("review-contest").textContent = contestDoc(contest).title[lang];
      $("review-choice").textContent = choiceText(contest, ids);
      show($("step-review"));
    });
  });

  $("review-back").addEventListener("click", function () {
    show(booth.querySelector("section[data-contest-form='" + contest + "']"));
  });

  $("encrypt").addEventListener("click", async function () {
    var btn = this;
    btn.disabled = true;
    say(T["encrypting"]);
    try {
      var choices = {};
      choices[contestDoc(contest).id] = chosen;
      encrypted = await call({ cmd: "encrypt", choices: choices });
      showCode("code", encrypted.confirmation_code);
      say(T["encrypted"], "warn");
      show($("step-encrypted"));
    } catch (e) {
      say(e.message, "bad");
    } finally {
      btn.disabled = false;
    }
  });

  // --- challenge (Benaloh): open the ballot, post it, show what it held -------------------
  $("challenge").addEventListener("click", async function () {
    var btn = this;
    btn.disabled = true;
    say(T["challenging"]);
    try {
      var opened = await call({ cmd: "challenge" });
      encrypted = null;
      // The page checks the worker's opening itself: re-encrypting with the revealed nonce
      // must give the very same ciphertexts, and the proofs must hold.
      var held;
      try {
        held = await TohyoReceipt.opened(opened.challenged, election);
        $("challenged-check").textContent = T["challenge.ok"];
        $("challenged-check").className = "status ok";
      } catch (e) {
        $("challenged-check").textContent = T["challenge.bad"] + e.message;
        $("challenged-check").className = "status bad";
      }
      await api("POST", "/api/challenged-ballots", '{"challenged":' + opened.canonical + "}");
      $("challenged-choice").textContent = held
        ? TohyoReceipt.describe(election, held, lang, T["blank"])
        : "";
      var code = opened.challenged.ballot.confirmation_code;
      var link = "/verify?code=" + code;
      $("challenged-link").href = link;
      $("challenged-link").textContent = location.origin + link;
      $("challenged-qr").src = "/qr.svg?path=" + encodeURIComponent(link);
      say("");
      show($("step-challenged"));
    } catch (e) {
      // The worker has forgotten the opened ballot: it can never be cast. Start again.
      say(e.message, "bad");
      if (!encrypted) show($("step-categories"));
    } finally {
      btn.disabled = false;
    }
  });

  $("restart").addEventListener("click", function () { show($("step-categories")); });

  // --- cast: sign with the card, submit, receipt ------------------------------------------
  // The same-device signers come first (signers.js): the phone app hosting this booth, or
  // the local signer on this PC. The hand-off to another device is the fallback.
  var signers = { reader: TohyoSigners.local(booth.dataset.signer || ""), native: TohyoSigners.native() };
  var via = function () { return booth.querySelector("input[name=via]:checked").value; };
  function showFields() {
    $("file-fields").classList.toggle("hidden", via() !== "file");
    $("app-fields").classList.toggle("hidden", via() !== "app");
    if ($("reader-fields")) $("reader-fields").classList.toggle("hidden", via() !== "reader");
  }
  booth.querySelectorAll("input[name=via]").forEach(function (r) {
    r.addEventListener("change", function () { showFields(); if (via() === "reader") probeReader(); });
  });
  signers.native.available().then(function (yes) {
    if (!yes) return;
    $("via-native-label").classList.remove("hidden");
    $("via-native").checked = true;
    showFields();
  });
  async function probeReader() {
    if (!$("via-reader")) return;
    var here = await signers.reader.available();
    $("reader-missing").classList.toggle("hidden", here);
  }

  $("cast").addEventListener("click", function () {
    showCode("sign-code", encrypted.confirmation_code);
    cardError("");
    show($("step-sign"));
    if (via() === "reader") probeReader();
  });

  $("sign-cancel").addEventListener("click", function () {
    cancelSigning();
    $("sign").disabled = false;
    show($("step-encrypted"));
  });

  function cardError(text) {
    var el = $("card-error");
    el.textContent = text;
    el.classList.toggle("hidden", !text);
  }

  function message(h_e, code, chal) {
    var domain = new TextEncoder().encode("tohyo/jpki/ballot/v1\u0000");
    var parts = [domain, TohyoCard.unhex(h_e), TohyoCard.unhex(code), TohyoCard.unhex(chal)];
    var out = new Uint8Array(parts.reduce(function (n, p) { return n + p.length; }, 0));
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  // The app hand-off waits on the server; "cancel" must stop it for good, so that a poll
  // already in flight can never cast after the voter said no.
  var polling = null;
  var cancelled = null;
  var handOff = null;  // the hand-off request in progress: cancelled at the board on やめる
  function cancelSigning() {
    if (polling) { clearTimeout(polling); polling = null; }
    if (cancelled) { cancelled(); cancelled = null; }
    if (handOff) {
      // The board refuses the app from now on, before it reads the card, and takes no
      // answer: a signature after やめる never looks like a vote to the voter.
      api("DELETE", "/api/sign-requests/" + handOff.id, undefined, { "X-Sign-Secret": handOff.secret }).catch(function () {});
      handOff = null;
    }
    signers.reader.cancel();
    signers.native.cancel();
  }

  $("card-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    cardError("");
    var btn = $("sign");
    btn.disabled = true;
    try {
      challenge = (await api("POST", "/api/signing-nonces")).challenge;
      if (via() === "file") await castWithFile();
      else if (via() === "reader") await castWithSigner(signers.reader);
      else if (via() === "native") await castWithSigner(signers.native);
      else await castWithApp();
    } catch (e) {
      cardError(e.refusal ? T["refused"] + e.message : e.message);
    } finally {
      btn.disabled = false;
    }
  });

  async function castWithFile() {
    var file = $("card-file").files[0];
    if (!file) throw new Error(T["card.nofile"]);
    var password = $("card-password").value;
    if (!password) throw new Error(T["card.nopassword"]);
    var card;
    try { card = await TohyoCard.load(await file.text()); } catch (_) { throw new Error(T["card.badfile"]); }
    say(T["signing"]);
    var auth;
    try {
      auth = await TohyoCard.sign(card, password,
        message(election.parameters.extended_base_hash, encrypted.confirmation_code, challenge));
    } catch (e) {
      $("card-password").value = "";
      if (e.code === "locked") throw new Error(T["card.locked"]);
      if (e.code === "wrong") throw new Error(fill(T["card.wrong"], { n: e.left }));
      throw e;
    }
    $("card-password").value = "";
    auth.challenge = challenge;
    await submit(auth);
  }

  // The booth and the card on this device: the signer shows the voter what the booth shows.
  async function castWithSigner(signer) {
    var c = contestDoc(contest);
    var request = {
      site: location.origin,
      election: { ja: election.manifest.title.ja, en: election.manifest.title.en },
      category: { ja: c.title.ja, en: c.title.en },
      h_e: election.parameters.extended_base_hash,
      confirmation_code: encrypted.confirmation_code,
      challenge: challenge,
      lang: lang,
    };
    var auth;
    try {
      auth = await signer.sign(request, function (url) {
        if (url) {
          var link = $("reader-link");
          link.href = url;
          link.classList.remove("hidden");
          $("reader-wait").classList.remove("hidden");
          $("reader-missing").classList.add("hidden");
          window.open(url, "_blank", "noopener");  // the link stays, if a blocker said no
        }
        say(T["signing"]);
      });
    } catch (e) {
      var code = e.signer;
      if (code === "unavailable" && signer.kind === "local") {
        $("reader-missing").classList.remove("hidden");
        throw new Error(T["reader.missing"]);
      }
      if (code === "unavailable") throw new Error(T["native.failed"] + e.message);
      if (code === "cancelled") throw new Error(T["reader.cancelled"]);
      if (code === "blocked") throw new Error(T["reader.blocked"]);
      if (code === "not_jpki") throw new Error(T["reader.not_jpki"]);
      throw new Error(fill(T["reader.over"], { reason: code || e.message }));
    } finally {
      if ($("reader-wait")) {
        $("reader-wait").classList.add("hidden");
        $("reader-link").classList.add("hidden");
      }
    }
    if (!$("step-sign").offsetParent) return;  // cancelled while the answer came back
    auth.challenge = challenge;
    await submit(auth);
  }

  async function castWithApp() {
    var req = await api("POST", "/api/sign-requests",
      { confirmation_code: encrypted.confirmation_code, challenge: challenge });
    handOff = req;
    // The QR code and the link go to a page a person can read (/sign/<id>): what it is, the
    // code to compare, what to use; the signing app opens the same id itself.
    var link = $("app-link");
    link.href = req.page_url;
    link.textContent = T["app.open"] + ": " + location.origin + req.page_url;
    link.classList.remove("hidden");
    $("app-qr").src = "/qr.svg?path=" + encodeURIComponent(req.page_url);
    $("app-qr").classList.remove("hidden");
    $("app-pairing").textContent = req.pairing;
    $("app-pairing-box").classList.remove("hidden");
    $("app-wait").classList.remove("hidden");
    say(T["app.wait"] || "");
    var deadline = Date.now() + 10 * 60 * 1000;
    var stopped = false;
    var auth = await new Promise(function (resolve, reject) {
      cancelled = function () { stopped = true; reject(new Error(T["app.cancelled"])); };
      async function poll() {
        try {
          var r = await api("GET", "/api/sign-requests/" + req.id + "/result", undefined,
            { "X-Sign-Secret": req.secret });
          if (stopped) return;
          if (r) { resolve(r); return; }
          if (Date.now() > deadline) { cancelSigning(); reject(new Error(T["app.timeout"])); return; }
          polling = setTimeout(poll, 1000);
        } catch (e) { reject(e); }
      }
      poll();
    });
    cancelled = null;
    handOff = null;
    $("app-wait").classList.add("hidden");
    if (stopped) return;
    await submit(auth);
  }

  async function submit(auth) {
    say(T["sending"]);
    var body = '{"auth":' + JSON.stringify(auth) + ',"ballot":' + encrypted.canonical + "}";
    // Once the ballot is on its way there is no going back to "challenge": an opened
    // ballot must never be one that the board may have accepted.
    $("sign-cancel").disabled = true;
    var receipt;
    try {
      receipt = await api("POST", "/api/ballots", body);
    } finally {
      $("sign-cancel").disabled = false;
    }
    call({ cmd: "forget" }).catch(function () {});  // the nonce of a cast ballot goes
    var v = votedHere();
    v[contest] = true;
    sessionStorage.setItem("tohyo-voted", JSON.stringify(v));
    var code = encrypted.confirmation_code;
    encrypted = null;
    showReceipt(receipt, code);
  }

  var receiptRun = 0;  // the receipt on screen; an older one's late answers are dropped

  // Show a receipt: its fields, and the file the voter saves (the latest checked receipt).
  function showReceiptFields(receipt) {
    showCode("receipt-code", receipt.confirmation_code);
    $("receipt-entry").textContent = receipt.entry;
    $("receipt-head").textContent = receipt.tree_head.size + " / " + receipt.tree_head.root;
    $("receipt-key").textContent = election.board_key.public_key;
    var save = $("receipt-save");
    if (save.href.indexOf("blob:") === 0) URL.revokeObjectURL(save.href);
    var blob = new Blob([JSON.stringify(receipt, null, 1)], { type: "application/json" });
    save.href = URL.createObjectURL(blob);
    $("receipt-verify").href = "/verify?code=" + receipt.confirmation_code;
  }

  function witnessValues(w) {
    return {
      n: w.cosigners.length,
      q: w.quorum,
      names: w.cosigners.length ? TohyoReceipt.names(w.cosigners, lang) : T["witness.none"],
    };
  }

  // The receipt's "witnesses" row (a term and its value; hidden without witnesses).
  function showWitnesses(w) {
    var dd = $("receipt-witnesses");
    if (!dd) return;
    dd.classList.toggle("hidden", !w);
    $("receipt-witnesses-term").classList.toggle("hidden", !w);
    dd.textContent = w ? fill(T["witness.list"], witnessValues(w)) : "";
  }

  async function showReceipt(receipt, code) {
    var run = ++receiptRun;
    showReceiptFields(receipt);
    showWitnesses(null);
    say(T["accepted"], "ok");
    show($("step-receipt"));
    markVoted();
    var check = $("receipt-check");
    // One status line, replaced as the checks go on (never a pile of messages).
    function status(text, kind) {
      if (run !== receiptRun) return;
      check.textContent = text;
      check.className = "status" + (kind ? " " + kind : "");
    }
    status("");  // not the last receipt's verdict while this one is checked
    try {
      // The receipt must be for the very ballot this booth encrypted and showed.
      if (receipt.confirmation_code !== code) throw new Error(T["receipt.other"]);
      var r = await TohyoReceipt.check(receipt, election);
      if (r.kind !== "ballot") throw new Error(T["receipt.other"]);
      var w = r.witness;
      var stored = fill(T["receipt.ok"], { size: receipt.tree_head.size });
      if (run !== receiptRun) return;
      showWitnesses(w);
      if (!w || w.witnessed) {
        status(w ? stored + " " + fill(T["witness.confirmed"], witnessValues(w)) : stored, "ok");
        return;
      }
      // Stored, and checked: the witnesses have yet to cosign this head (a new ballot's
      // head is new to them). Not an error; wait for the board's witnessed answer.
      status(fill(T["witness.waiting"], witnessValues(w)));
      var last = w;
      var found = await TohyoReceipt.awaitWitnessed(code, r.entry, election, {
        until: Date.now() + TohyoReceipt.witnessWait(booth.dataset.witnessWait),
        stopped: function () { return run !== receiptRun; },
        other: T["receipt.other"],
        progress: function (x, newer) {
          if (run !== receiptRun) return;
          last = x;
          showReceiptFields(newer);  // checked: the one to keep, if no witnessed one comes
          showWitnesses(x);
          status(fill(T["witness.waiting"], witnessValues(x)));
        },
      });
      if (run !== receiptRun) return;
      if (!found) {
        status(fill(T["witness.late"], witnessValues(last)), "warn");
        return;
      }
      showReceiptFields(found.receipt);
      showWitnesses(found.witness);
      var size = found.receipt.tree_head.size;
      status(fill(T["receipt.ok"], { size: size }) + " " + fill(T["witness.confirmed"], witnessValues(found.witness)), "ok");
    } catch (e) {
      if (run === receiptRun) showWitnesses(null);  // no count to show of a receipt that failed
      status(T["receipt.bad"] + e.message, "bad");
    }
  }

  $("receipt-print").addEventListener("click", function () { window.print(); });
  $("another").addEventListener("click", function () {
    receiptRun++;  // stop waiting for the last receipt's witnesses
    show($("step-categories"));
  });

  start().catch(function (e) { say(e.message, "bad"); });
})();
