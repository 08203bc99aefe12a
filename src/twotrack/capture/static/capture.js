// The capture page: consent -> headphones check -> microphone (processing off) -> AudioWorklet recording
// -> IndexedDB buffer -> numbered, resumable chunk upload; a WebRTC audio link to the other participant
// through the server's signalling relay; NTP-style clock exchanges and capture anchors (a 10 ms frame of the
// microphone with the browser's capture timestamp, about once a second) for the server's alignment.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const parts = location.pathname.split("/");          // /join/<sid>/<role>
  const sid = parts[2], role = parts[3];
  const token = new URLSearchParams(location.search).get("k") || "";
  const other = role === "A" ? "B" : "A";
  const api = `/api/sessions/${sid}/${role}`;
  const CHUNK_SECONDS = 1;
  const ANCHOR_EVERY_MS = 1000;
  const now = () => performance.timeOrigin + performance.now();   // the client clock (epoch ms)

  const st = window.twotrack = {
    sid, role, phase: "consent", consented: false, recording: false, stopped: false, finished: false,
    chunksMade: 0, chunksUploaded: 0, samples: 0, resent: 0, netErrors: 0, link: "waiting",
    sessionState: null, recordingId: null, error: null, inputZeroRuns: [],
    anchorsMade: 0, anchorsSaved: 0, anchorsUploaded: 0, anchors: "off",
  };

  function showError(msg) { st.error = msg; $("error").textContent = msg; $("error").hidden = false; }
  // This page's own id: the server binds a track to the page that stored its first chunk, so a second tab
  // (or a reload mid-recording) cannot splice its audio into the track.
  const pageId = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + String(Date.now()));
  async function call(method, url, body, extra, page) {
    const headers = {"X-Capture-Token": token, "X-Capture-Page": page || pageId};
    let payload;
    if (body instanceof ArrayBuffer) { headers["Content-Type"] = "application/octet-stream"; payload = body; }
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    const r = await fetch(url, Object.assign({method, headers, body: payload, cache: "no-store"}, extra || {}));
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return {ok: r.ok, status: r.status, data};
  }

  // ---------------------------------------------------------------- consent
  let consentSha = null;
  $("show-consent").onclick = async () => {
    const name = $("name").value.trim();
    if (!name) { showError("Please type your name first."); return; }
    const r = await call("GET", `${api}/consent-text?name=${encodeURIComponent(name)}`);
    if (!r.ok) { showError(r.data ? r.data.detail : `error ${r.status}`); return; }
    consentSha = r.data.sha256;
    $("consent-text").textContent = r.data.text; $("consent-text").hidden = false;
    $("consent-hash").textContent = `sha256 of this text: ${r.data.sha256}`; $("consent-hash").hidden = false;
    $("agree-label").hidden = false; $("consent-btn").hidden = false;
    $("name").disabled = true;
  };
  $("agree").onchange = () => { $("consent-btn").disabled = !$("agree").checked; };
  $("consent-btn").onclick = async () => {
    const r = await call("POST", `${api}/consent`, {name: $("name").value.trim(), sha256: consentSha, agree: $("agree").checked});
    if (!r.ok) { showError(r.data ? r.data.detail : `error ${r.status}`); return; }
    st.consented = true; st.speakerId = r.data.speaker_id;
    $("consent-done").textContent = `Consent recorded at ${r.data.consent.at} (ledger event #${r.data.consent.event_seq}).`;
    $("consent-done").hidden = false;
    for (const id of ["show-consent", "consent-btn", "agree"]) $(id).disabled = true;
    $("step-headphones").hidden = false; st.phase = "headphones";
  };

  // ---------------------------------------------------------------- headphones
  $("hp-tone").onclick = () => {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator(), g = ctx.createGain();
    osc.frequency.value = 660; g.gain.value = 0.1;
    osc.connect(g).connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.6);
    osc.onended = () => ctx.close();
  };
  $("hp-ok").onchange = () => { $("hp-continue").disabled = !$("hp-ok").checked; };
  $("hp-continue").onclick = async () => {
    $("hp-continue").disabled = true; $("hp-ok").disabled = true;
    $("step-record").hidden = false; st.phase = "microphone";
    try { await setupAudio(); } catch (e) { showError(`microphone: ${e.message || e}`); return; }
    startClock(); startSignalling(); uploader();
    $("start").disabled = false; st.phase = "ready";
  };

  // ---------------------------------------------------------------- audio
  let ctx, node, micStream;
  async function setupAudio() {
    micStream = await navigator.mediaDevices.getUserMedia({audio: {
      echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1}, video: false});
    ctx = new AudioContext({latencyHint: "interactive"});          // the device's own rate
    await ctx.audioWorklet.addModule("/static/worklet.js");
    const src = ctx.createMediaStreamSource(micStream);
    node = new AudioWorkletNode(ctx, "twotrack-recorder", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
      processorOptions: {chunkSize: Math.round(ctx.sampleRate * CHUNK_SECONDS)}});
    const mute = ctx.createGain(); mute.gain.value = 0;            // keep the graph pulled, play nothing
    src.connect(node).connect(mute).connect(ctx.destination);
    node.port.onmessage = onWorklet;
    if (ctx.state !== "running") await ctx.resume();
    const track = micStream.getAudioTracks()[0];
    startAnchors(track);
    const s = track.getSettings();
    st.sampleRate = ctx.sampleRate;
    $("mic-info").textContent = `${track.label || "microphone"} · ${ctx.sampleRate} Hz · echo cancellation ${s.echoCancellation}, noise suppression ${s.noiseSuppression}, auto gain ${s.autoGainControl}`;
    await call("POST", `${api}/settings`, {sample_rate: ctx.sampleRate, settings: {
      label: track.label || "", echoCancellation: !!s.echoCancellation, noiseSuppression: !!s.noiseSuppression,
      autoGainControl: !!s.autoGainControl, channelCount: s.channelCount || 0, baseLatency: ctx.baseLatency || 0,
      latency: s.latency || 0, userAgent: navigator.userAgent.slice(0, 200)}});
  }

  // client clock of a context frame: the output timestamp maps context time to performance time
  function frameToClient(frame) {
    const t = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    if (t && t.performanceTime > 0) return performance.timeOrigin + t.performanceTime + (frame / ctx.sampleRate - t.contextTime) * 1000;
    return now() - (ctx.currentTime - frame / ctx.sampleRate) * 1000;
  }

  // Capture anchors. The worklet sees a sample 50-115 ms after the browser captured it (Chrome), differently
  // per browser; AudioData from a MediaStreamTrackProcessor carries the capture time (performance clock, us).
  // About once a second while recording, one frame (its samples and capture time) is kept and uploaded; the
  // server finds it in the track by its content, which ties sample counter to capture time. Every frame's
  // timestamp is checked against the previous frame's end: when the device missed input (a jump), the two
  // frames around the jump are sent too, so the server can put the missing time back exactly there.
  function startAnchors(track) {
    if (typeof MediaStreamTrackProcessor !== "function") { st.anchors = "unavailable"; return; }
    let clone, reader;
    try {
      clone = track.clone();
      reader = new MediaStreamTrackProcessor({track: clone, maxBufferSize: 100}).readable.getReader();
    } catch (e) { st.anchors = `unavailable: ${e}`; return; }
    st.anchors = "on";
    let last = -Infinity, prev = null;
    st.captureJumps = [];
    const keep = (f) => {
      if (!f.data.some((v) => v !== 0)) return;                          // digital silence cannot be placed
      const seq = st.anchorsMade++;
      idbPut({key: anchorKey(seq), seq, kind: "anchor", rate: f.rate, captureMs: f.ms, data: f.data.buffer, page: pageId})
        .then(() => { st.anchorsSaved += 1; wakeUploader(); }, (err) => showError(`local buffer: ${err}`));
    };
    (async () => {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) return;
        try {
          if (st.recording && !st.stopped) {
            const f = {data: new Float32Array(value.numberOfFrames), rate: value.sampleRate, ts: value.timestamp,
                       ms: performance.timeOrigin + value.timestamp / 1000, sent: false};
            value.copyTo(f.data, {planeIndex: 0, format: "f32-planar"});   // the first channel, as the worklet records
            const jump = prev ? (f.ts - (prev.ts + prev.data.length / prev.rate * 1e6)) / 1000 : 0;
            if (Math.abs(jump) > 1 && st.captureJumps.length < 1000) {        // ms; the two frames around it
              st.captureJumps.push({ms: jump, at: f.ms});
              if (!prev.sent) keep(prev);
              keep(f); f.sent = true; last = performance.now();
            } else if (performance.now() - last >= ANCHOR_EVERY_MS) {
              keep(f); f.sent = true; last = performance.now();
            }
            prev = f;
          }
        } finally { value.close(); }
        if (st.stopped) { reader.cancel().catch(() => null); clone.stop(); st.anchors = "done"; return; }
      }
    })().catch((e) => { st.anchors = `failed: ${e}`; });
  }

  let stopResolve = null;
  function onWorklet(e) {
    const m = e.data;
    if (m.type === "level") { meter("meter-local", m.peak); $("peak-local").textContent = m.peak > 0 ? `peak ${(20 * Math.log10(m.peak)).toFixed(1)} dBFS` : "silent"; }
    else if (m.type === "chunk") {
      if (st.gone) return;   // the worklet's last chunk after the session expired: not kept
      const rec = {key: keyOf(st.chunksMade), seq: st.chunksMade, kind: "chunk", page: pageId, sampleStart: m.sampleStart, rate: ctx.sampleRate,
                   clientMs: frameToClient(m.frame), data: m.samples.buffer};
      st.chunksMade += 1; st.samples = m.sampleStart + m.samples.length;
      $("chunks-made").textContent = st.chunksMade;
      idbPut(rec).then(() => { refreshPending(); wakeUploader(); }, (err) => showError(`local buffer: ${err}`));
    } else if (m.type === "zeros") {
      // length in samples; afterAudio: false for the zeros before the device's first sample (its start);
      // recording: inside the track (ending just before sample counter `at`) or before it
      st.inputZeroRuns.push({length: m.length, afterAudio: m.afterAudio, recording: m.recording, at: m.recording ? m.sampleCount : null});
    } else if (m.type === "stopped") { if (stopResolve) stopResolve(m.samples); }
  }
  function meter(id, peak) { $(id).style.width = `${Math.min(100, Math.max(0, (60 + 20 * Math.log10(peak + 1e-9)) / 60 * 100))}%`; }

  let t0rec = 0, timer = null;
  $("start").onclick = () => {
    $("start").disabled = true; $("stop").disabled = false;
    node.port.postMessage({cmd: "start"}); st.recording = true; st.phase = "recording"; t0rec = performance.now();
    $("rec-state").textContent = "● recording"; $("rec-state").className = "state rec";
    timer = setInterval(() => { const s = Math.floor((performance.now() - t0rec) / 1000); $("rec-time").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }, 250);
  };
  $("stop").onclick = async () => { await call("POST", `/api/sessions/${sid}/stop`); await stopRecording(); };

  // The server refuses this track's audio for good (403: consent withdrawn in the ledger): stop the worklet
  // and the microphone, so nothing more is captured, not even into this browser's IndexedDB.
  function halt() {
    if (st.recording) { node.port.postMessage({cmd: "stop"}); st.recording = false; }
    st.stopped = true; clearInterval(timer);
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    st.microphone = micStream ? micStream.getAudioTracks().map((t) => t.readyState).join(",") : "none";  // "ended"
    $("start").disabled = true; $("stop").disabled = true; st.phase = "refused";
    $("rec-state").textContent = "not recording"; $("rec-state").className = "state idle";
  }

  // The session expired (410: unfinished and idle past the server's limit; its links no longer work): stop
  // the microphone, every loop, and drop this track's chunks and anchors still buffered in this browser,
  // since the server will take none of them and the participants agreed to a finished recording only.
  function gone(detail) {
    if (st.gone) return;
    st.gone = true; halt(); st.phase = "expired";
    if (pc) pc.close();
    for (const id of ["show-consent", "consent-btn", "agree", "name", "hp-continue", "hp-ok"]) $(id).disabled = true;
    showError(detail || "This capture session has expired.");
    tx("readwrite", (s) => { s.delete(range()); s.delete(anchorRange()); })
      .then(() => refreshPending()).then(() => { st.bufferCleared = true; }, () => null);
  }

  async function stopRecording() {
    if (st.stopped) return;
    st.stopped = true; $("stop").disabled = true; $("start").disabled = true;
    if (st.recording) {
      await new Promise((res) => { stopResolve = res; node.port.postMessage({cmd: "stop"}); });
      st.recording = false;
    }
    clearInterval(timer);
    $("rec-state").textContent = "uploading"; $("rec-state").className = "state idle"; st.phase = "uploading";
    wakeUploader();
    while (st.anchorsSaved < st.anchorsMade) await sleep(50);    // anchors still on their way to IndexedDB
    while (await idbCount() > 0 || await idbCount(anchorRange()) > 0) await sleep(200);
    for (;;) {            // declare the end of the track; the server checks it holds all of it
      const r = await call("POST", `${api}/finish`, {n_chunks: st.chunksMade, n_samples: st.samples,
        n_anchors: st.anchorsMade,
        input_zero_runs: st.inputZeroRuns.slice(0, 1000)}).catch(() => null);
      if (r && r.ok) break;
      if (r && r.status === 410) { gone(r.data && r.data.detail); return; }
      if (r && r.status === 403) { showError(r.data.detail); return; }
      await sleep(1000);
    }
    st.finished = true; st.phase = "finished";
    $("rec-state").textContent = "stopped"; $("rec-state").className = "state done";
    $("result").textContent = "Your track is uploaded. Waiting for the recording to be assembled…";
    pollSession();
  }

  async function pollSession() {
    for (;;) {
      const r = await call("GET", `/api/sessions/${sid}`).catch(() => null);
      if (r && r.status === 410) { gone(r.data && r.data.detail); return; }
      if (r && r.ok) {
        st.sessionState = r.data.state;
        if (["assembled", "partial", "failed"].includes(r.data.state)) {
          st.recordingId = r.data.recording_id; st.report = r.data.report;
          $("result").textContent = r.data.state === "failed" ? `Assembly failed: ${r.data.error}`
            : `Recording ${r.data.recording_id} is ${r.data.state === "partial" ? "assembled (partial)" : "assembled"}: ` +
              `${r.data.report.duration_s.toFixed(1)} s, alignment uncertainty ${r.data.report.alignment_uncertainty_ms} ms.`;
          return;
        }
      }
      await sleep(500);
    }
  }

  // ---------------------------------------------------------------- IndexedDB buffer
  let dbp = null;
  function db() {
    if (!dbp) dbp = new Promise((res, rej) => {
      const rq = indexedDB.open("twotrack-capture", 1);
      rq.onupgradeneeded = () => rq.result.createObjectStore("chunks", {keyPath: "key"});
      rq.onsuccess = () => res(rq.result); rq.onerror = () => rej(rq.error);
    });
    return dbp;
  }
  const prefix = `${sid}/${role}/`;
  const keyOf = (seq) => prefix + String(seq).padStart(8, "0");
  const range = () => IDBKeyRange.bound(prefix, prefix + "\uffff");
  // anchors under their own prefix ("#" sorts before "/": outside the chunks' range)
  const anchorPrefix = `${sid}/${role}#anchor/`;
  const anchorKey = (seq) => anchorPrefix + String(seq).padStart(8, "0");
  const anchorRange = () => IDBKeyRange.bound(anchorPrefix, anchorPrefix + "\uffff");
  function tx(mode, fn) {
    return db().then((d) => new Promise((res, rej) => {
      const t = d.transaction("chunks", mode); const s = t.objectStore("chunks");
      let out; const rq = fn(s); if (rq) rq.onsuccess = () => { out = rq.result; };
      t.oncomplete = () => res(out); t.onerror = () => rej(t.error); t.onabort = () => rej(t.error);
    }));
  }
  const idbPut = (rec) => tx("readwrite", (s) => s.put(rec));
  const idbDelete = (key) => tx("readwrite", (s) => s.delete(key));
  const idbCount = (r) => tx("readonly", (s) => s.count(r || range()));
  const idbFirst = (r) => tx("readonly", (s) => s.get(r || range()));
  const refreshPending = () => idbCount().then((n) => { $("chunks-pending").textContent = n; st.pending = n; });

  // ---------------------------------------------------------------- upload (resumable, idempotent)
  let wake = null;
  function wakeUploader() { if (wake) { const w = wake; wake = null; w(); } }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function uploader() {
    let backoff = 250;
    for (;;) {
      if (st.gone) return;
      const rec = (await idbFirst()) || (await idbFirst(anchorRange()));   // audio first, then anchors
      if (!rec) { await new Promise((r) => { wake = r; setTimeout(r, 1000); }); continue; }
      let r = null;
      try {
        if (rec.kind === "anchor") {
          // sent as the page that made it: a reloaded page still delivers what the page before it buffered
          r = await call("PUT", `${api}/anchors/${rec.seq}?rate=${rec.rate}&capture_ms=${rec.captureMs}`, rec.data, undefined, rec.page);
        } else {
          const q = `sample_start=${rec.sampleStart}&rate=${rec.rate}&client_ms=${rec.clientMs}`;
          r = await call("PUT", `${api}/chunks/${rec.seq}?${q}`, rec.data, undefined, rec.page);
        }
      } catch (e) { r = null; }
      if (r && r.ok && rec.kind === "anchor") {
        await idbDelete(rec.key); st.anchorsUploaded = r.data.next_seq; backoff = 250;
      } else if (r && r.ok) {
        if (r.data.status === "duplicate") st.resent += 1;
        await idbDelete(rec.key); st.chunksUploaded = r.data.next_seq; backoff = 250;
        $("chunks-up").textContent = st.chunksUploaded; $("net").textContent = "network ok"; refreshPending();
      } else if (r && r.status === 409 && r.data && r.data.next_seq != null && r.data.next_seq > rec.seq) {
        await idbDelete(rec.key); refreshPending();      // the server already holds it
      } else if (r && r.status === 410) {
        gone(r.data && r.data.detail); return;   // the session expired
      } else if (r && r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        if (r.status === 403) halt();   // no consent in force (withdrawn): capture no more of this microphone
        showError(`upload of ${rec.kind || "chunk"} ${rec.seq} refused: ${r.data ? r.data.detail : r.status}`); return;
      } else {
        st.netErrors += 1; $("net").textContent = `network down, ${st.pending || "?"} chunks kept locally, retrying`;
        await sleep(backoff); backoff = Math.min(backoff * 2, 4000);
      }
    }
  }

  // ---------------------------------------------------------------- clock exchanges
  function startClock() {
    let prev = null, n = 0;
    const ping = async () => {
      const t0 = now();
      try {
        const r = await call("POST", `${api}/clock`, {t0, prev});   // reports the previous exchange
        const t3 = now();
        if (r.ok) prev = [t0, r.data.ts_in, r.data.ts_out, t3];
        if (r.status === 410) gone(r.data && r.data.detail);
      } catch (e) { /* offline: the next ping reports the last good exchange */ }
      n += 1;
      if (!st.finished && !st.gone) setTimeout(ping, n < 8 ? 150 : 2000);     // a burst, then every 2 s
    };
    ping();
  }

  // ---------------------------------------------------------------- WebRTC link via the signalling relay
  let pc = null, nextMsg = 0, relayEpoch = "";
  function newPeer() {
    pc = new RTCPeerConnection({iceServers: []});                     // local network: host candidates
    for (const t of micStream.getAudioTracks()) pc.addTrack(t, micStream);
    pc.onicecandidate = (e) => { if (e.candidate) call("POST", `${api}/signal`, {type: "candidate", candidate: e.candidate.toJSON()}); };
    pc.ontrack = (e) => { $("remote-audio").srcObject = e.streams[0]; remoteMeter(e.streams[0]); };
    pc.onconnectionstatechange = () => { st.link = pc.connectionState; $("link-state").textContent = `link: ${pc.connectionState}`; };
  }
  function remoteMeter(stream) {
    const an = ctx.createAnalyser(); an.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.fftSize);
    setInterval(() => { an.getFloatTimeDomainData(buf); let p = 0; for (const v of buf) p = Math.max(p, Math.abs(v)); meter("meter-remote", p); st.remotePeak = Math.max(st.remotePeak || 0, p); }, 60);
  }
  // B says hello (on every join); A answers each hello with a fresh peer and an offer. Candidates that
  // arrive before their description are kept until it is set.
  let early = [];
  async function startSignalling() {
    newPeer();
    if (role === "B") await call("POST", `${api}/signal`, {type: "hello"});
    for (;;) {
      // epoch: the relay's numbering of this server process; after a restart the server starts us from 0
      const r = await call("GET", `${api}/signal?after=${nextMsg}&epoch=${relayEpoch}`).catch(() => null);
      if (r && r.status === 410) { gone(r.data && r.data.detail); return; }   // expired while the page waited
      if (r && r.ok) {
        nextMsg = r.data.next; relayEpoch = r.data.epoch;
        for (const m of r.data.messages) {
          try { await onSignal(m); } catch (e) { console.warn("signalling", e); }
        }
      }
      if (st.finished) return;
      await sleep(300);
    }
  }
  async function remoteSet(desc) {
    await pc.setRemoteDescription(desc);
    for (const c of early) await pc.addIceCandidate(c).catch(() => null);
    early = [];
  }
  async function onSignal(m) {
    if (m.type === "stop") { stopRecording(); }
    else if (m.type === "hello" && role === "A") {
      newPeer(); early = [];
      const offer = await pc.createOffer(); await pc.setLocalDescription(offer);
      await call("POST", `${api}/signal`, {type: "offer", sdp: pc.localDescription.sdp});
    }
    else if (m.type === "offer" && role === "B") {
      if (pc.signalingState !== "stable" || pc.remoteDescription) newPeer();
      await remoteSet({type: "offer", sdp: m.sdp});
      const ans = await pc.createAnswer(); await pc.setLocalDescription(ans);
      await call("POST", `${api}/signal`, {type: "answer", sdp: pc.localDescription.sdp});
    }
    else if (m.type === "answer" && role === "A" && pc.signalingState === "have-local-offer") { await remoteSet({type: "answer", sdp: m.sdp}); }
    else if (m.type === "candidate") { if (pc.remoteDescription) await pc.addIceCandidate(m.candidate); else early.push(m.candidate); }
  }

  // ---------------------------------------------------------------- start
  $("who").textContent = `session ${sid} · track ${role}`;
  call("GET", `/api/sessions/${sid}`).then((r) => {
    if (r.status === 410) { gone(r.data && r.data.detail); return; }
    if (!r.ok) { showError(r.data ? r.data.detail : `error ${r.status}`); return; }
    st.sessionState = r.data.state;
    const me = r.data.participants[role];
    if (me.consented) { $("name").value = me.name; $("consent-done").textContent = "Consent already given."; $("consent-done").hidden = false;
      for (const id of ["show-consent", "name"]) $(id).disabled = true; st.consented = true; $("step-headphones").hidden = false; st.phase = "headphones"; }
  });
})();
