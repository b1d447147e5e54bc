// The benchmark harness (benchmarks/browser.py): runs the booth's encrypt worker the way
// the booth does and writes the timings as JSON into #result.
// Query parameters: repeat (ballots to encrypt), window (fixed-base table bits, optional).
'use strict';

(async function main() {
  const out = document.getElementById('result');
  const params = new URLSearchParams(location.search);
  const repeat = Number(params.get('repeat') || '20');
  const window_ = params.get('window') ? Number(params.get('window')) : undefined;
  const worker = new Worker('/static/js/encrypt-worker.js');
  let nextId = 0;

  // One request at a time; the page-side time includes posting and cloning the reply.
  function send(msg) {
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      worker.onmessage = (event) => {
        const reply = event.data;
        if (reply.id !== id) return reject(new Error(`reply ${reply.id} to request ${id}`));
        if (!reply.ok) return reject(new Error(reply.error));
        resolve({ reply, ms: performance.now() - t0 });
      };
      worker.onerror = (event) => reject(new Error(event.message || 'worker error'));
      worker.postMessage(Object.assign({ id }, msg));
    });
  }

  try {
    const election = await (await fetch('/election.json')).json();
    const setup = await send({ cmd: 'setup', election, window: window_ });
    const choices = {};
    election.manifest.contests.forEach((c) => (choices[c.id] = [c.options[0].id]));
    const page = [];
    const inWorker = [];
    let sample = null;
    for (let i = 0; i < repeat; i++) {
      const { reply, ms } = await send({ cmd: 'encrypt', choices });
      page.push(ms);
      inWorker.push(reply.ms);
      sample = reply.canonical;
    }
    out.textContent = JSON.stringify({
      table_build_ms: setup.ms,
      table_build_worker_ms: setup.reply.ms,
      encrypt_ms: page,
      encrypt_worker_ms: inWorker,
      ballot: sample,
    });
  } catch (e) {
    out.textContent = JSON.stringify({ error: String((e && e.message) || e) });
  } finally {
    worker.terminate();
  }
})();
