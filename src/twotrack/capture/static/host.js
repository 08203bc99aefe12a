// The host page: create a session, hand out the two join links, follow its state, stop or force assembly.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let sid = null, hostToken = null;
  const err = (m) => { $("error").textContent = m; $("error").hidden = !m; };
  async function call(method, url, body) {
    const r = await fetch(url, {method, cache: "no-store", headers: Object.assign({"Content-Type": "application/json"},
      hostToken ? {"X-Capture-Token": hostToken} : {}), body: body === undefined ? undefined : JSON.stringify(body)});
    let data = null; try { data = await r.json(); } catch (e) { /* empty */ }
    return {ok: r.ok, status: r.status, data};
  }
  $("create-btn").onclick = async () => {
    const scopes = [...document.querySelectorAll("input[name=scope]:checked")].map((e) => e.value);
    const r = await call("POST", "/api/sessions", {license: $("license").value.trim(), scopes, title: $("title").value});
    if (!r.ok) { err(r.data ? JSON.stringify(r.data.detail) : `error ${r.status}`); return; }
    err(""); sid = r.data.session_id; hostToken = r.data.host_token;
    $("sid").textContent = sid;
    for (const role of ["A", "B"]) { $(`link-${role}`).href = r.data.links[role]; $(`link-${role}`).textContent = r.data.links[role]; }
    $("create").hidden = true; $("session").hidden = false;
    poll();
  };
  $("stop-btn").onclick = () => call("POST", `/api/sessions/${sid}/stop`);
  $("force-btn").onclick = async () => {
    if (!confirm("Assemble now? A participant whose upload is incomplete leaves a partial recording.")) return;
    const r = await call("POST", `/api/sessions/${sid}/assemble?force=true`);
    if (!r.ok) err(r.data ? r.data.detail : `error ${r.status}`);
  };
  async function poll() {
    for (;;) {
      const r = await call("GET", `/api/sessions/${sid}`).catch(() => null);
      if (r && r.ok) {
        const s = r.data;
        $("state").textContent = s.state; $("state").className = `state ${s.state === "recording" ? "rec" : (s.state === "assembled" ? "done" : "idle")}`;
        for (const role of ["A", "B"]) {
          const p = s.participants[role];
          $(`p-${role}`).textContent = `${p.consented ? `consented (${p.name})` : "no consent yet"}${p.finished ? " · uploaded" : ""}`;
        }
        if (s.report) { $("report").textContent = JSON.stringify(s.report, null, 1); $("report").hidden = false; }
        if (s.error) err(s.error);
        if (s.expiry) err(`Expired at ${s.expiry.at}: no activity since ${s.expiry.last_activity}; the join links no longer work` +
          (s.expiry.audio_action === "keep" ? "; its audio is kept by the operator." : "; its partial audio was deleted."));
        if (s.state === "expired") return;
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
})();
