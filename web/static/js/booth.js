// The voting booth, as the city's leaflet draws it: the category (skipped when a link or
// the app opens one: /booth?contest=<id>) → the service → one screen to check the choice and
// sign with the card → the receipt. Encrypting happens on the way from the second screen to
// the third, in a Web Worker; the Benaloh challenge is a secondary, explained option there.
//
// The page never sends a choice in the clear: only the encrypted ballot (with its proofs)
// leaves the device. "Encrypted" and "cast" stay apart: the confirm screen says "not cast
// yet" until the board has stored the ballot and the receipt is checked.
//
// A phone reloads a tab when the voter switches to the card app, so the booth keeps where
// it is in sessionStorage (this tab only) and resumes there: the category, the choice, the
// encrypted ballot and its code, a signing hand-off in progress, the last receipt. Never the
// encryption nonce: it stays in the worker, so a resumed ballot can be cast but not opened.
"use strict";
(function () {
  var booth = document.getElementById("booth");
  if (!booth || booth.classList.contains("hidden")) return;
  var T = JSON.parse(document.getElementById("texts").textContent);
  var live = document.getElementById("live");
  var $ = function (id) { return document.getElementById(id); };
  // The page's language tag (ja, en, zh-Hans...); manifest texts fall back to English.
  var lang = document.documentElement.lang || "ja";
  var KEY = "tohyo-booth";

  var election = null;     // GET /api/election
  var worker = null;
  var pending = {};        // worker replies by id
  var seq = 0;
  var contest = null;      // index of the contest being voted
  var chosen = null;       // option ids chosen in it ([] is a blank vote; null: not yet)
  var encrypted = null;    // {canonical, confirmation_code}
  var openable = false;    // the worker holds this ballot's nonce (not after a reload)
  var challenge = null;    // the server challenge for signing
  var handOff = null;      // the hand-off request in progress {id, secret, pairing, page_url}
  var kept = null;         // the receipt on screen {receipt, code, contest}
  var blocked = null;      // a final refusal: "card" (until the card or method changes), "ballot"
  var busy = false;        // a signature or submission is under way

  // --- the booth-wide line and each step's own status region -------------------------------
  function sayLive(text, kind) {
    live.textContent = text || "";
    live.className = "status" + (kind ? " " + kind : "");
  }

  function visible() { return booth.querySelector("section[data-step]:not(.hidden)"); }

  // The status of the step on screen: one region, replaced (never a pile of messages).
  function say(text, kind) {
    var section = visible();
    var el = section && section.querySelector("[data-status]");
    if (!el) { sayLive(text, kind); return; }
    el.textContent = text || "";
    el.className = "status" + (kind ? " " + kind : "");
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function show(section) {
    booth.querySelectorAll("section[data-step]").forEach(function (s) {
      s.classList.toggle("hidden", s !== section);
    });
    booth.querySelectorAll("[data-status]").forEach(function (el) {
      if (el.id !== "receipt-check") { el.textContent = ""; el.className = "status"; }
    });
    next("");
    var step = section.dataset.step;
    booth.querySelectorAll(".steps li").forEach(function (li) {
      if (li.dataset.step === step) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    $("sign-other-card").classList.add("hidden");
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
      var msg = data && data.message ? (data.message[lang] || data.message.en) : String(resp.status);
      throw Object.assign(new Error(msg), { refusal: data && data.error, status: resp.status });
    }
    return data;
  }

  // No answer, or the board saying it cannot answer for now: worth asking again as is.
  function passing(e) {
    return !!e.network || e.refusal === "unavailable" || [502, 503, 504].indexOf(e.status) >= 0;
  }

  // An error of this page (not the board's), with what it means for the next step.
  function fail(key, values, after) {
    return Object.assign(new Error(values ? fill(T[key], values) : T[key]), { local: key, after: after });
  }

  function contestDoc(i) { return election.manifest.contests[i]; }
  function text(t) { return TohyoReceipt.pick(t, lang); }

  // --- where the booth is, kept for a reload ----------------------------------------------
  function save(step) {
    // A reload keeps the address's #resume; a fresh visit to /booth starts from the start.
    var here = location.pathname + location.search + (step === "field" ? "" : "#resume");
    if (here !== location.pathname + location.search + location.hash) history.replaceState(null, "", here);
    try {
      sessionStorage.setItem(KEY, JSON.stringify({
        h: election.parameters.extended_base_hash,
        step: step, contest: contest, chosen: chosen, encrypted: encrypted,
        handOff: handOff, receipt: kept,
      }));
    } catch (_) { /* private mode or full: the booth works, it only cannot resume */ }
  }

  function saved() {
    try {
      var s = JSON.parse(sessionStorage.getItem(KEY) || "null");
      return s && s.h === election.parameters.extended_base_hash ? s : null;
    } catch (_) { return null; }
  }

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
      return o ? text(o.label) : id;
    }).join(T["list.sep"]);
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

  // The election's times as the manifest gives them: in its own offset, to the minute.
  function offsetOf(iso) {
    var m = /([+-])(\d\d):(\d\d)$/.exec(iso || "");
    return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  }
  function zoneName(minutes) {
    if (minutes === 540) return "JST";
    if (!minutes) return "UTC";
    var a = Math.abs(minutes);
    return "UTC" + (minutes < 0 ? "-" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
  }
  function localTime(iso) {
    var t = new Date(iso);
    if (isNaN(t.getTime())) return iso || "";
    var off = offsetOf(election.manifest.start);
    var d = new Date(t.getTime() + off * 60000);
    var p = function (n) { return String(n).padStart(2, "0"); };
    return d.getUTCFullYear() + "-" + p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + " " +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + " " + zoneName(off);
  }

  // --- start: fetch the election, build the worker's tables, resume -----------------------
  async function start() {
    sayLive(T["loading"]);
    election = await api("GET", "/api/election");
    worker = new Worker(booth.dataset.worker);
    worker.onmessage = onWorker;
    worker.onerror = function () { sayLive(T["network"], "bad"); };
    sayLive(T["tables"]);
    var setup = await call({ cmd: "setup", election: election });
    // The small test group is for rehearsals only: say so on every booth that uses it.
    if (setup.insecure) sayLive(T["ready"] + " " + T["insecure"], "warn");
    else sayLive(T["ready"], "ok");
    markVoted();
    var s = location.hash === "#resume" ? saved() : null;
    if (s && await resume(s)) return;
    try { sessionStorage.removeItem(KEY); } catch (_) { /* nothing kept */ }
    // A link or the app names the category: straight into it (docs/voter.md).
    var wanted = new URLSearchParams(location.search).get("contest");
    var form = wanted && booth.querySelector("section[data-contest-id='" + CSS.escape(wanted) + "']");
    if (form) openContest(Number(form.dataset.contestForm), false);
  }

  async function resume(s) {
    contest = typeof s.contest === "number" && election.manifest.contests[s.contest] ? s.contest : null;
    chosen = Array.isArray(s.chosen) ? s.chosen : null;
    if (s.step === "receipt" && s.receipt) {
      contest = s.receipt.contest;
      await showReceipt(s.receipt.receipt, s.receipt.code, s.receipt.contest);
      return true;
    }
    if (contest === null || s.step === "field") return false;
    if (s.step === "confirm" && s.encrypted && s.encrypted.canonical) {
      encrypted = s.encrypted;
      openable = false;
      // Cast already? (the page reloaded while the ballot was on its way, or the app's
      // signature was cast): then the receipt, which only the board's answer gives.
      try {
        var receipt = await api("GET", "/api/receipts/" + encrypted.confirmation_code);
        if (receipt) { handOff = null; done(receipt); return true; }
      } catch (_) { /* not on the board (404), or not now: the voter signs, as before */ }
      showConfirm(true);
      if (s.handOff && s.handOff.id) {
        handOff = s.handOff;
        choose("app");
        say(T["app.resumed"]);
        signing(function () { return awaitApp(handOff); });
      } else {
        say(T["resumed"], "warn");
      }
      return true;
    }
    openContest(contest, true);
    return true;
  }

  // --- the category and the choice ----------------------------------------------------------
  function formOf(i) { return booth.querySelector("form[data-contest='" + i + "']"); }

  function openContest(i, keep) {
    contest = i;
    var form = formOf(i);
    form.reset();
    if (keep && chosen) {
      form.querySelectorAll("input").forEach(function (x) {
        x.checked = x.value === "" ? !chosen.length : chosen.indexOf(x.value) >= 0;
      });
    }
    show(form.closest("section"));
    save("choose");
  }

  booth.querySelectorAll("button.category").forEach(function (b) {
    b.addEventListener("click", function () { chosen = null; openContest(Number(b.dataset.contest), false); });
  });

  booth.querySelectorAll("form[data-contest]").forEach(function (form) {
    form.querySelector("[data-back]").addEventListener("click", function () { show($("step-categories")); save("field"); });
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var checked = Array.from(form.querySelectorAll("input:checked"));
      var limit = Number(form.dataset.limit);
      if (!checked.length && limit === 1) { say(T["pick"], "bad"); return; }
      var ids = checked.map(function (x) { return x.value; }).filter(function (v) { return v !== ""; });
      if (ids.length > limit) { say(T["toomany"], "bad"); return; }
      chosen = ids;
      var btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      say(T["encrypting"]);
      try {
        var choices = {};
        choices[contestDoc(contest).id] = chosen;
        var e = await call({ cmd: "encrypt", choices: choices });
        encrypted = { canonical: e.canonical, confirmation_code: e.confirmation_code };
        openable = true;
        blocked = null;
        showConfirm(false);
        save("confirm");
      } catch (e) {
        say(e.message, "bad");
      } finally {
        btn.disabled = false;
      }
    });
  });

  // --- confirm and sign ------------------------------------------------------------------
  function showConfirm(resumed) {
    $("confirm-contest").textContent = text(contestDoc(contest).title);
    $("confirm-choice").textContent = choiceText(contest, chosen);
    showCode("code", encrypted.confirmation_code);
    $("challenge").disabled = !openable;
    $("challenge-resumed").classList.toggle("hidden", openable);
    $("check-encryption").open = false;
    $("sign").disabled = blocked !== null;
    show($("step-confirm"));
    if (via() === "reader") probeReader();
    if (resumed) $("h-confirm").focus();
  }

  function discard() {
    cancelSigning();
    if (openable) call({ cmd: "forget" }).catch(function () {});
    encrypted = null;
    openable = false;
    blocked = null;
  }

  $("change").addEventListener("click", function () {
    discard();
    openContest(contest, true);
  });

  // --- challenge (Benaloh): open the ballot, post it, show what it held -------------------
  $("challenge").addEventListener("click", async function () {
    if (!openable || busy) return;
    var btn = this;
    btn.disabled = true;
    say(T["challenging"]);
    try {
      var opened = await call({ cmd: "challenge" });
      encrypted = null;
      openable = false;
      save("choose");
      // The page checks the worker's opening itself: re-encrypting with the revealed nonce
      // must give the very same ciphertexts, and the proofs must hold.
      var held = null;
      var verdict;
      try {
        held = await TohyoReceipt.opened(opened.challenged, election);
        verdict = [T["challenge.ok"], "ok"];
      } catch (e) {
        verdict = [T["challenge.bad"] + e.message, "bad"];
      }
      await api("POST", "/api/challenged-ballots", '{"challenged":' + opened.canonical + "}");
      $("challenged-choice").textContent = held
        ? TohyoReceipt.describe(election, held, lang, T["blank"], T["list.sep"])
        : "";
      var code = opened.challenged.ballot.confirmation_code;
      var link = "/verify?code=" + code;
      $("challenged-link").href = link;
      $("challenged-link").textContent = location.origin + link;
      $("challenged-qr").src = "/qr.svg?path=" + encodeURIComponent(link);
      show($("step-challenged"));
      say(verdict[0], verdict[1]);
    } catch (e) {
      // The worker has forgotten the opened ballot: it can never be cast. Choose again.
      say(e.message, "bad");
      if (!encrypted) openContest(contest, true);
    } finally {
      btn.disabled = !openable;
    }
  });

  $("restart").addEventListener("click", function () { openContest(contest, true); });

  // The same-device signers come first (signers.js): the phone app hosting this booth, or
  // the local signer on this PC. The hand-off to another device is for a device that cannot
  // read the card; the simulated card file only exists in a rehearsal.
  var signers = { reader: TohyoSigners.local(booth.dataset.signer || ""), native: TohyoSigners.native() };
  var via = function () { return booth.querySelector("input[name=via]:checked").value; };
  function choose(method) { var r = $("via-" + method); if (r) { r.checked = true; showFields(); } }
  function showFields() {
    [["file", "file-fields"], ["app", "app-fields"], ["reader", "reader-fields"], ["native", "native-fields"]].forEach(function (p) {
      if ($(p[1])) $(p[1]).classList.toggle("hidden", via() !== p[0]);
    });
  }
  function unblockCard() {
    if (blocked === "card") { blocked = null; $("sign").disabled = busy; say(""); next(""); }
    $("sign-other-card").classList.add("hidden");
  }
  // A refusal final for this card: another card (a family sharing the PC) starts afresh.
  $("sign-other-card").addEventListener("click", function () { unblockCard(); $("sign").focus(); });
  booth.querySelectorAll("input[name=via]").forEach(function (r) {
    r.addEventListener("change", function () { showFields(); unblockCard(); if (via() === "reader") probeReader(); });
  });
  if ($("card-file")) $("card-file").addEventListener("change", unblockCard);
  signers.native.available().then(function (yes) {
    if (!yes) return;
    $("via-native-label").classList.remove("hidden");
    choose("native");
  });
  async function probeReader() {
    if (!$("via-reader")) return;
    var here = await signers.reader.available();
    $("reader-missing").classList.toggle("hidden", here);
  }

  $("sign-cancel").addEventListener("click", function () {
    if (busy || handOff) {
      cancelSigning();
      say(T["app.cancelled"], "warn");
      return;
    }
    // Not signing: the voter stops here; nothing was cast, and the encrypted ballot goes.
    discard();
    chosen = null;
    show($("step-categories"));
    save("field");
  });

  // The next step after a refusal, and whom to ask (the manifest's contact desk).
  function next(what) {
    var el = $("sign-next");
    var contact = election && election.manifest.contact;
    var parts = what ? [what] : [];
    if (what && contact) {
      parts.push(fill(T["contact"], { name: text(contact.name), phone: contact.phone, hours: text(contact.hours) }));
    }
    el.textContent = parts.join(" ");
    el.classList.toggle("hidden", !parts.length);
  }

  // What each refusal means for the voter: the next step, and whether signing again could
  // help ("card": not with this card or this way; "ballot": not with this encrypted ballot).
  var AREA = ["address_not_eligible", "address_substitute", "not_eligible"];
  var RENEW = ["cert_revoked", "cert_expired", "cert_not_yet_valid"];
  var RECHOOSE = ["invalid_ballot", "invalid_proof", "malformed", "too_large", "copy", "wrong_state"];
  // The board could not answer for now (its database restarting; a bug): the same ballot
  // sent again is safe, and returns its receipt if it was recorded.
  var RETRY = ["crl_unavailable", "rate_limited", "unavailable", "internal"];
  function refused(e) {
    var code = e.refusal;
    var what = "";
    var final = null;
    if (code === "not_open") {
      what = T["next.closed"] + " " + fill(T["period"], { start: localTime(election.manifest.start), end: localTime(election.manifest.end) });
      final = "ballot";
    } else if (AREA.indexOf(code) >= 0) { what = T["next.area"]; final = "card"; }
    else if (RENEW.indexOf(code) >= 0) { what = T["next.renew"]; final = "card"; }
    else if (code === "revote_other_device") { what = T["next.method"]; final = "card"; }
    else if (RECHOOSE.indexOf(code) >= 0) { what = T["next.rechoose"]; final = "ballot"; }
    else if (RETRY.indexOf(code) >= 0 || passing(e)) what = T["next.retry"];
    else if (code && (code.indexOf("challenge_") === 0 || code.indexOf("request_") === 0)) what = T["next.again"];
    else if (code) what = T["next.card"];
    else if (e.local === "card.locked" || e.local === "reader.blocked") { what = T["next.locked"]; final = "card"; }
    // "Not accepted" only when the board said so: after a 5xx the ballot may be on the board.
    var unsure = passing(e) || code === "internal";
    say(code && !unsure ? T["refused"] + e.message : e.message, "bad");
    next(what);
    if (final) { blocked = final; $("sign").disabled = true; }
    $("sign-other-card").classList.toggle("hidden", final !== "card");
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
  function cancelSigning() {
    if (polling) { clearTimeout(polling); polling = null; }
    if (cancelled) { cancelled(); cancelled = null; }
    if (handOff) {
      // The board refuses the app from now on, before it reads the card, and takes no
      // answer: a signature after やめる never looks like a vote to the voter.
      api("DELETE", "/api/sign-requests/" + handOff.id, undefined, { "X-Sign-Secret": handOff.secret }).catch(function () {});
      handOff = null;
      hideApp();
      if (encrypted) save("confirm");
    }
    signers.reader.cancel();
    signers.native.cancel();
  }

  // Run one signing attempt: the sign button off while it runs, the refusal explained.
  async function signing(attempt) {
    busy = true;
    $("sign").disabled = true;
    next("");
    try {
      await attempt();
    } catch (e) {
      if (e.after !== "silent") refused(e);
    } finally {
      busy = false;
      $("sign").disabled = blocked !== null;
    }
  }

  $("card-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy || blocked || !encrypted) return;
    say("");
    signing(async function () {
      challenge = (await api("POST", "/api/signing-nonces")).challenge;
      var how = via();
      if (how === "file") await castWithFile();
      else if (how === "reader") await castWithSigner(signers.reader);
      else if (how === "native") await castWithSigner(signers.native);
      else await castWithApp();
    });
  });

  async function castWithFile() {
    var file = $("card-file").files[0];
    if (!file) throw fail("card.nofile");
    var password = $("card-password").value;
    if (!password) throw fail("card.nopassword");
    var card;
    try { card = await TohyoCard.load(await file.text()); } catch (_) { throw fail("card.badfile"); }
    say(T["signing"]);
    var auth;
    try {
      auth = await TohyoCard.sign(card, password,
        message(election.parameters.extended_base_hash, encrypted.confirmation_code, challenge));
    } catch (e) {
      $("card-password").value = "";
      if (e.code === "locked") throw fail("card.locked");
      if (e.code === "wrong") throw fail("card.wrong", { n: e.left });
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
        throw fail("reader.missing");
      }
      if (code === "unavailable") throw Object.assign(new Error(T["native.failed"] + e.message), { local: "native.failed" });
      if (code === "cancelled") throw fail("reader.cancelled");
      if (code === "blocked") throw fail("reader.blocked");
      if (code === "not_jpki") throw fail("reader.not_jpki");
      throw fail("reader.over", { reason: code || e.message });
    } finally {
      if ($("reader-wait")) {
        $("reader-wait").classList.add("hidden");
        $("reader-link").classList.add("hidden");
      }
    }
    if ($("step-confirm").classList.contains("hidden") || !encrypted) return;  // cancelled meanwhile
    auth.challenge = challenge;
    await submit(auth);
  }

  function hideApp() {
    ["app-wait", "app-link", "app-qr", "app-pairing-box"].forEach(function (id) { $(id).classList.add("hidden"); });
  }

  function showApp(req) {
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
  }

  async function castWithApp() {
    var req = await api("POST", "/api/sign-requests",
      { confirmation_code: encrypted.confirmation_code, challenge: challenge });
    handOff = { id: req.id, secret: req.secret, pairing: req.pairing, page_url: req.page_url };
    save("confirm");
    await awaitApp(handOff);
  }

  // Wait for the app's answer (polling the board, which holds the request), then cast it.
  async function awaitApp(req) {
    showApp(req);
    var deadline = Date.now() + 10 * 60 * 1000;
    var stopped = false;
    var auth = await new Promise(function (resolve, reject) {
      cancelled = function () { stopped = true; reject(fail("app.cancelled", null, "silent")); };
      async function poll() {
        try {
          var r = await api("GET", "/api/sign-requests/" + req.id + "/result", undefined,
            { "X-Sign-Secret": req.secret });
          if (stopped) return;
          if (r) { resolve(r); return; }
          // Rejected first: cancelSigning() rejects too (silently), and the first one counts.
          if (Date.now() > deadline) { reject(fail("app.timeout")); cancelSigning(); return; }
          polling = setTimeout(poll, 1000);
        } catch (e) {
          if (stopped) return;
          // The board briefly unable to answer (its database restarting, a process being
          // replaced behind the proxy, the phone's connection dropping): the request and
          // the app's answer are kept at the board, so keep asking until the deadline (a
          // limit on polls too: ask again more slowly).
          if (passing(e) || e.refusal === "rate_limited") {
            if (Date.now() > deadline) { reject(fail("app.timeout")); cancelSigning(); return; }
            polling = setTimeout(poll, 2000);
            return;
          }
          handOff = null;
          hideApp();
          save("confirm");
          reject(e);
        }
      }
      poll();
    });
    cancelled = null;
    hideApp();
    if (stopped) return;
    await submit(auth);
    handOff = null;
  }

  async function submit(auth) {
    say(T["sending"]);
    var body = '{"auth":' + JSON.stringify(auth) + ',"ballot":' + encrypted.canonical + "}";
    // Once the ballot is on its way there is no going back to "challenge": an opened
    // ballot must never be one that the board may have accepted.
    var could = openable;
    openable = false;
    $("challenge").disabled = true;
    $("sign-cancel").disabled = true;
    $("change").disabled = true;
    var receipt;
    try {
      receipt = await api("POST", "/api/ballots", body);
    } catch (e) {
      // Refused, the board did not store it: it may still be opened. Without an answer
      // (the network), or with a 5xx (its database cut off mid-commit, a batch cut short),
      // it may have been stored, and must never be opened.
      if (e.refusal && e.status < 500 && could) { openable = true; $("challenge").disabled = false; }
      throw e;
    } finally {
      $("sign-cancel").disabled = false;
      $("change").disabled = false;
    }
    call({ cmd: "forget" }).catch(function () {});  // the nonce of a cast ballot goes
    handOff = null;
    done(receipt);
  }

  // The board stored the ballot: mark the category voted here, and show the receipt.
  function done(receipt) {
    var v = votedHere();
    v[contest] = true;
    sessionStorage.setItem("tohyo-voted", JSON.stringify(v));
    var code = encrypted.confirmation_code;
    encrypted = null;
    openable = false;
    chosen = null;  // cast: the choice is not kept, not even in this tab's storage
    showReceipt(receipt, code, contest);
  }

  // --- the receipt ----------------------------------------------------------------------
  var receiptRun = 0;  // the receipt on screen; an older one's late answers are dropped

  // Show a receipt: its fields, and the files the voter saves (the latest checked receipt).
  function showReceiptFields(receipt, at) {
    $("receipt-election").textContent = text(election.manifest.title);
    $("receipt-contest").textContent = text(contestDoc(kept.contest).title);
    $("receipt-time").textContent = at ? localTime(at) : "";
    showCode("receipt-code", receipt.confirmation_code);
    $("receipt-entry").textContent = receipt.entry;
    $("receipt-head").textContent = receipt.tree_head.size + " / " + receipt.tree_head.root;
    $("receipt-key").textContent = election.board_key.public_key;
    var save = $("receipt-save");
    if (save.href.indexOf("blob:") === 0) URL.revokeObjectURL(save.href);
    var blob = new Blob([JSON.stringify(receipt, null, 1)], { type: "application/json" });
    save.href = URL.createObjectURL(blob);
    $("receipt-verify").href = "/verify?code=" + receipt.confirmation_code;
    kept.receipt = receipt;
  }

  // The receipt as a picture a resident keeps in the phone's photos: the same lines as the
  // card on screen (no choice on it), drawn in the page's own fonts.
  function receiptImage(at) {
    var card = $("receipt-card");
    var label = Array.from(card.querySelectorAll("dt")).map(function (dt) { return dt.textContent; });
    var rows = [
      [card.querySelector("h3").textContent, ""],
      [label[0], text(election.manifest.title)],
      [label[1], text(contestDoc(kept.contest).title)],
      [label[2], at ? localTime(at) : ""],
      [label[3], TohyoShortCode.short(kept.code)],
      ["", kept.code.slice(0, 32)],
      ["", kept.code.slice(32)],
      [label[4], String(kept.receipt.entry)],
      ["", location.origin + "/verify?code=" + TohyoShortCode.short(kept.code)],
    ];
    var scale = 2;
    var canvas = document.createElement("canvas");
    canvas.width = 720 * scale; canvas.height = (60 + rows.length * 56) * scale;
    var g = canvas.getContext("2d");
    if (!g) return;
    g.scale(scale, scale);
    g.fillStyle = "#fff"; g.fillRect(0, 0, 720, canvas.height);
    g.fillStyle = "#1a1a1a";
    var font = getComputedStyle(document.body).fontFamily;
    rows.forEach(function (r, i) {
      var y = 56 + i * 56;
      if (i === 0) { g.font = "700 28px " + font; g.fillText(r[0], 32, y); return; }
      g.font = "16px " + font; g.fillStyle = "#555"; g.fillText(r[0], 32, y - 20);
      g.fillStyle = "#1a1a1a";
      g.font = (i === 4 ? "700 30px " : r[0] ? "22px " : "16px ") + (i >= 4 && i <= 6 ? "ui-monospace, monospace" : font);
      g.fillText(r[1], 32, y + 6);
    });
    canvas.toBlob(function (png) {
      if (!png) return;
      var a = $("receipt-image");
      if (a.href.indexOf("blob:") === 0) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(png);
      a.classList.remove("hidden");
    }, "image/png");
  }

  // What is left to vote, from this device's record of its own ballots.
  function showLeft() {
    var v = votedHere();
    var list = $("left-to-vote");
    list.textContent = "";
    election.manifest.contests.forEach(function (c, i) {
      if (v[i]) return;
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = text(c.title);
      b.addEventListener("click", function () { receiptRun++; kept = null; chosen = null; openContest(i, false); });
      li.appendChild(b);
      list.appendChild(li);
    });
    $("left-none").classList.toggle("hidden", list.children.length > 0);
  }

  async function entryTime(receipt) {
    try {
      var entry = await TohyoReceipt.getJson("/api/entries/" + receipt.entry);
      if (entry && typeof entry.time === "string") return entry.time;
    } catch (_) { /* the head's time is the batch's, near enough */ }
    return receipt.tree_head.time;
  }

  function witnessValues(w) {
    return {
      n: w.cosigners.length,
      q: w.quorum,
      names: w.cosigners.length ? TohyoReceipt.names(w.cosigners, T["list.sep"]) : T["witness.none"],
    };
  }

  // The receipt's "witnesses" row (a term and its value; hidden without witnesses).
  function showWitnesses(w) {
    var dd = $("receipt-witnesses");
    dd.classList.toggle("hidden", !w);
    $("receipt-witnesses-term").classList.toggle("hidden", !w);
    dd.textContent = w ? fill(T["witness.list"], witnessValues(w)) : "";
  }

  async function showReceipt(receipt, code, which) {
    var run = ++receiptRun;
    kept = { receipt: receipt, code: code, contest: which };
    save("receipt");
    var check = $("receipt-check");
    // One status line, replaced as the checks go on (never a pile of messages).
    function status(t, kind) {
      if (run !== receiptRun) return;
      check.textContent = t;
      check.className = "status" + (kind ? " " + kind : "");
    }
    status(T["accepted"]);  // not the last receipt's verdict while this one is checked
    $("receipt-image").classList.add("hidden");  // until this receipt's picture is drawn
    showReceiptFields(receipt, null);
    showWitnesses(null);
    show($("step-receipt"));
    markVoted();
    showLeft();
    var at = await entryTime(receipt);
    if (run !== receiptRun) return;
    $("receipt-time").textContent = at ? localTime(at) : "";
    receiptImage(at);
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
          showReceiptFields(newer, at);  // checked: the one to keep, if no witnessed one comes
          showWitnesses(x);
          save("receipt");
          status(fill(T["witness.waiting"], witnessValues(x)));
        },
      });
      if (run !== receiptRun) return;
      if (!found) {
        status(fill(T["witness.late"], witnessValues(last)), "warn");
        return;
      }
      showReceiptFields(found.receipt, at);
      showWitnesses(found.witness);
      save("receipt");
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
    kept = null;
    show($("step-categories"));
    save("field");
  });

  start().catch(function (e) { sayLive(e.message, "bad"); });
})();
