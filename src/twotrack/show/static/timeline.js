// The two-lane timeline of one recording. Plain JavaScript, no libraries.
//
// Each track is a lane: its IPUs (top row), backchannel and interruption marks, its waveform (min/max
// peaks per pixel, computed by the server for the visible window) over its speech-activity segments.
// Between the lanes: gaps, overlaps and floor transfers (a slanted line from the end of one speaker to
// the start of the next). Drag on a lane to select a region and play it on that track; click a mark to
// play its span; the play buttons replay the selection on A, B or both. Wheel zooms, shift+wheel (or the
// slider, or the arrow buttons) scrolls. Audio is a WAV of the region rendered by the server.
// Words (from `scan --words`, or a transcript aligned by it) sit in each lane under the waveform: a box
// per word, its text where the zoom leaves room; click one to play it.
// When `twotrack collapse` has results for the recording (data-collapse="1"), the diarized lanes of the
// mono mix are drawn under the true lanes: one row per track, its diarized speech as bars and the
// track's own speech as a thin line above them, so what the mix lost shows at a glance.
(function () {
  "use strict";
  var root = document.getElementById("timeline");
  if (!root) return;
  var SVGNS = "http://www.w3.org/2000/svg";
  var rid = root.getAttribute("data-recording-id");
  var duration = parseFloat(root.getAttribute("data-duration"));
  var names = JSON.parse(root.getAttribute("data-tracks"));
  var speakers = JSON.parse(root.getAttribute("data-speakers"));
  var nTracks = names.length;
  var hasCollapse = root.getAttribute("data-collapse") === "1";
  var statusEl = document.getElementById("play-status");
  var player = document.getElementById("player");
  var slider = document.getElementById("scroll");
  var info = document.getElementById("view-info");
  var api = "/api/recordings/" + rid.split("/").map(encodeURIComponent).join("/");

  // Geometry (pixels). The gutter holds the lane and row labels; on a phone-narrow timeline it holds only the
  // track letter, so the plot keeps most of the width (the speakers are listed above, the rows in the legend).
  var WIDE_GUTTER = 96, NARROW_GUTTER = 30, NARROW = 560;
  var GUTTER = WIDE_GUTTER, RIGHT = 10;
  var LANE_H = 132, MID_H = 38, AXIS_H = 28, DIAR_HEAD = 18, DIAR_H = 24;
  var IPU_Y = 4, IPU_H = 11, MARK_Y = 18, MARK_H = 9, WAVE_Y = 30, WAVE_H = 88, ACT_Y = 121, ACT_H = 7;
  var WORD_Y = 104, WORD_H = 14;
  var MIN_SPAN = 0.05;
  var COLORS = { A: "#3b6ea5", B: "#237a4b" };  // both readable as text on white (contrast above 5:1)
  var LABEL = "#555";  // row labels: 7:1 on the lanes' background

  var view = { start: 0, end: duration };
  var selection = null;       // {start, end, tracks}
  var data = null;            // the last /timeline answer
  var seq = 0, timer = null;
  var playing = null;         // {start, end, tracks}
  var svg = null, width = 0;

  // the "between" row sits under the first track of the talking pair (A; C on a file whose talkers are on C
  // and D), set once the tracks' use is read below
  var midAfter = 0;
  function laneY(t) { return t * LANE_H + (t > midAfter ? MID_H : 0); }
  function midY() { return (midAfter + 1) * LANE_H; }
  function diarY(row) { return laneY(nTracks - 1) + LANE_H + DIAR_HEAD + row * DIAR_H; }
  function totalH() { return laneY(nTracks - 1) + LANE_H + (hasCollapse ? DIAR_HEAD + diarRows.length * DIAR_H : 0) + AXIS_H; }
  function plotW() { return Math.max(50, width - GUTTER - RIGHT); }
  function X(t) { return GUTTER + (t - view.start) / (view.end - view.start) * plotW(); }
  function T(x) { return view.start + (x - GUTTER) / plotW() * (view.end - view.start); }
  function clampTime(t) { return Math.max(0, Math.min(duration, t)); }
  // The two colours go to the talking pair: A and B of a two-track file; on a file with more tracks, its
  // first two used ones (C and D when A and B are unused channels), the others grey.
  var used = JSON.parse(root.getAttribute("data-used") || "null");
  var trackColour = {};
  (function () {
    var k = 0;
    for (var t = 0; t < names.length; t++) {
      if (names.length > 2 && used && !used[t]) continue;
      if (k < 2) trackColour[t] = COLORS["AB"[k]];
      if (k === 0 && t < names.length - 1) midAfter = t;
      k++;
    }
  })();
  function colour(t) { return trackColour[t] || "#555"; }
  // the diarized rows: one per track, but on a file with more tracks only its used ones (the mix collapse
  // scored is of the talking pair; an unused channel's row would stay empty)
  var diarRows = [];
  for (var dt = 0; dt < names.length; dt++) if (!(names.length > 2 && used && !used[dt])) diarRows.push(dt);
  if (!diarRows.length) for (dt = 0; dt < names.length; dt++) diarRows.push(dt);
  // what a mark between the two talkers plays: "both" on a two-track file, the talking pair (C,D) on a file
  // with more tracks (not its unused channels)
  var pairTracks = (function () {
    var pair = [];
    for (var t = 0; t < names.length; t++) if (used && used[t]) pair.push(names[t]);
    return names.length > 2 && pair.length === 2 ? pair.join(",") : "both";
  })();
  // the between row's label: on a file with more tracks it names the pair it is between (A and D are not
  // adjacent lanes, so the row under A is between A and D, not A and B)
  var betweenLabel = pairTracks === "both" ? "between" : "between " + pairTracks.split(",").join("\u2013");

  // Axis ticks: minutes:seconds once the view reaches a minute (1198.0 s is hard to place in a 40-minute
  // call; 19:58.0 is not), plain seconds before that; decimals by the span shown.
  function clockTicks(span) { return span >= 120 || view.end >= 60; }
  function fmtTime(t, span) {
    var digits = span < 2 ? 2 : span < 20 ? 1 : (span >= 120 && span < 600) ? 1 : 0;
    var f = Math.pow(10, digits);
    t = Math.round(t * f) / f;
    if (!clockTicks(span)) return t.toFixed(digits) + " s";
    var m = Math.floor(t / 60), sec = (t - 60 * m).toFixed(digits);
    if (span >= 120) sec = sec.replace(/\.0$/, "");
    return m + ":" + (parseFloat(sec) < 10 ? "0" : "") + sec;
  }

  function el(name, attrs, parent, text) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined) { var tt = document.createElementNS(SVGNS, "title"); tt.textContent = text; e.appendChild(tt); }
    if (parent) parent.appendChild(e);
    return e;
  }

  function setStatus(state, text) {
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = text;
  }

  // ---- view and data ---------------------------------------------------------------------

  function clampView() {
    var span = Math.min(duration, Math.max(MIN_SPAN, view.end - view.start));
    var s = Math.max(0, Math.min(view.start, duration - span));
    view.start = s; view.end = s + span;
  }

  function setView(a, b) {
    view.start = a; view.end = b;
    clampView();
    draw();
    schedule();
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    // not ready until the new view's data is drawn: the old data is drawn at the new scale meanwhile
    if (root.getAttribute("data-ready") === "1") root.setAttribute("data-ready", "0");
    timer = setTimeout(fetchView, 40);
  }

  function fetchView() {
    var my = ++seq;
    var w = Math.round(plotW());
    var url = api + "/timeline?start=" + view.start.toFixed(3) + "&end=" + view.end.toFixed(3) + "&width=" + w;
    fetch(url).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.detail || ("HTTP " + r.status));
        return j;
      });
    }).then(function (j) {
      if (my !== seq) return;  // a newer view was asked for meanwhile
      data = j;
      draw();
      root.setAttribute("data-ready", "1");
    }).catch(function (err) {
      if (my !== seq) return;
      info.textContent = "could not load the timeline: " + err.message;
      root.setAttribute("data-ready", "error");
    });
  }

  // ---- drawing ---------------------------------------------------------------------------

  function axis(g, y0) {
    var span = view.end - view.start;
    var steps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) { if (span / steps[i] <= plotW() / 90) { step = steps[i]; break; } }
    el("line", { x1: GUTTER, y1: y0, x2: GUTTER + plotW(), y2: y0, stroke: "#333" }, g);
    for (var t = Math.ceil(view.start / step) * step; t <= view.end + 1e-9; t += step) {
      var x = X(t);
      el("line", { x1: x, y1: y0, x2: x, y2: y0 + 5, stroke: "#333" }, g);
      el("line", { x1: x, y1: 0, x2: x, y2: y0, stroke: "#eee", "class": "grid" }, g);
      el("text", { x: x, y: y0 + 17, "text-anchor": "middle", "font-size": 11, fill: "#333", "class": "tick" }, g).textContent = fmtTime(t, span);
    }
    if (GUTTER > 40) el("text", { x: 6, y: y0 + 17, "font-size": 11, fill: LABEL, "class": "axis-name" }, g).textContent =
      clockTicks(span) ? "time (m:ss)" : "time";
  }

  function waveform(g, t, y0) {
    if (!data) return;
    var pk = null;
    for (var i = 0; i < data.peaks.tracks.length; i++) if (data.peaks.tracks[i].track === t) pk = data.peaks.tracks[i];
    if (!pk) return;
    var gain = 0.95 / Math.max(pk.peak || 0, 0.01);
    var mid = y0 + WAVE_Y + WAVE_H / 2, half = WAVE_H / 2;
    var res = (data.end - data.start) / data.width;
    var top = [], bottom = [];
    for (var k = 0; k < pk.min.length; k++) {
      var x = X(data.start + (k + 0.5) * res);
      if (x < GUTTER - 2 || x > GUTTER + plotW() + 2) continue;
      var hi = Math.min(1, pk.max[k] * gain), lo = Math.max(-1, pk.min[k] * gain);
      if (hi - lo < 0.02) { hi += 0.01; lo -= 0.01; }  // keep silence visible as a hairline
      top.push(x.toFixed(1) + "," + (mid - hi * half).toFixed(1));
      bottom.push(x.toFixed(1) + "," + (mid - lo * half).toFixed(1));
    }
    if (!top.length) return;
    bottom.reverse();
    el("path", { d: "M" + top.join("L") + "L" + bottom.join("L") + "Z", fill: colour(t), "fill-opacity": 0.75,
                 "class": "wave", "data-track": t }, g);
  }

  function spanRect(g, a, b, y, h, cls, fill, tip, extra) {
    var x0 = Math.max(GUTTER, X(a)), x1 = Math.min(GUTTER + plotW(), X(b));
    if (x1 < GUTTER || x0 > GUTTER + plotW()) return null;
    var attrs = { x: x0.toFixed(2), y: y, width: Math.max(1, x1 - x0).toFixed(2), height: h, fill: fill,
                  "class": cls, "data-start": a, "data-end": b };
    for (var k in extra) attrs[k] = extra[k];
    return el("rect", attrs, g, tip);
  }

  function fmtS(v) { return (v === null || v === undefined) ? "" : v.toFixed(2) + " s"; }

  function draw() {
    width = root.clientWidth || 900;
    var narrow = width < NARROW;
    GUTTER = narrow ? NARROW_GUTTER : WIDE_GUTTER;
    var h = totalH();
    var s = document.createElementNS(SVGNS, "svg");
    s.setAttribute("width", width); s.setAttribute("height", h);
    s.setAttribute("viewBox", "0 0 " + width + " " + h);
    s.setAttribute("role", "img");
    s.setAttribute("aria-label", "timeline of " + rid + " from " + fmtS(view.start) + " to " + fmtS(view.end));
    var ax = el("g", { "class": "axis" }, s);
    axis(ax, h - AXIS_H + 2);

    var lanes = [];
    for (var t = 0; t < nTracks; t++) {
      var y0 = laneY(t);
      var g = el("g", { "class": "lane", "data-track": t, "data-name": names[t] }, s);
      el("rect", { x: GUTTER, y: y0, width: plotW(), height: LANE_H, fill: t % 2 ? "#fbfbfb" : "#f7f9fc", "class": "lane-bg" }, g);
      if (narrow) {
        el("text", { x: GUTTER / 2, y: y0 + WAVE_Y + WAVE_H / 2 + 6, "font-size": 18, "font-weight": 700, fill: colour(t),
                     "text-anchor": "middle", "class": "lane-name" }, g, "track " + names[t] + ": " + (speakers[t] || "speaker unknown")).textContent = names[t];
      } else {
        // the track and its speaker by the waveform, clear of the row labels at the top and bottom
        el("text", { x: 8, y: y0 + WAVE_Y + 24, "font-size": 15, "font-weight": 700, fill: colour(t), "class": "lane-name" }, g).textContent = "track " + names[t];
        el("text", { x: 8, y: y0 + WAVE_Y + 40, "font-size": 11, fill: LABEL, "class": "lane-speaker" }, g).textContent = speakers[t] || "speaker unknown";
        el("text", { x: GUTTER - 4, y: y0 + IPU_Y + 9, "font-size": 10, fill: LABEL, "text-anchor": "end", "class": "row-label" }, g).textContent = "IPUs";
        if (data && data.words_source)  // the words stage ran (or a transcript was aligned)
          el("text", { x: GUTTER - 4, y: y0 + WORD_Y + 11, "font-size": 10, fill: LABEL, "text-anchor": "end", "class": "row-label" }, g).textContent = "words";
        el("text", { x: GUTTER - 4, y: y0 + ACT_Y + 7, "font-size": 10, fill: LABEL, "text-anchor": "end", "class": "row-label" }, g).textContent = "speech";
      }
      lanes.push(g);
      if (data) {
        var act = data.activity[t] ? data.activity[t].segments : [];
        for (var i = 0; i < act.length; i++) {
          spanRect(g, act[i][0], act[i][1], y0 + WAVE_Y, WAVE_H, "activity", "#cfe0f3", "speech " + fmtS(act[i][0]) + "–" + fmtS(act[i][1]));
          spanRect(g, act[i][0], act[i][1], y0 + ACT_Y, ACT_H, "activity-strip", colour(t), undefined);
        }
      }
      el("line", { x1: GUTTER, y1: y0 + WAVE_Y + WAVE_H / 2, x2: GUTTER + plotW(), y2: y0 + WAVE_Y + WAVE_H / 2, stroke: "#ccc" }, g);
      waveform(g, t, y0);
      words(g, t, y0);
      leftOut(g, t, y0);
    }
    var mid = null;
    if (nTracks >= 2) {
      mid = el("g", { "class": "between" }, s);
      el("rect", { x: GUTTER, y: midY(), width: plotW(), height: MID_H, fill: "#fff" }, mid,
         pairTracks === "both" ? undefined : "between track " + pairTracks.split(",").join(" and ") + ", the talking pair");
      if (!narrow) el("text", { x: GUTTER - 4, y: midY() + MID_H / 2 + 4, "font-size": 10, fill: LABEL, "text-anchor": "end", "class": "row-label" }, mid).textContent = betweenLabel;
    }

    var diarMarks = hasCollapse ? diarized(s) : 0;

    var counts = {};
    if (data) {
      var ev = data.events;
      for (var k = 0; k < ev.kind.length; k++) {
        var kind = ev.kind[k], a = ev.start[k], b = ev.end[k], tr = ev.track[k], v = ev.value[k];
        var ty = (tr === null || tr === undefined) ? null : tr;
        var lane = ty !== null && ty < nTracks ? lanes[ty] : null;
        var ly = ty !== null ? laneY(ty) : 0;
        var extra = { "data-track": ty === null ? "" : ty, "data-kind": kind };
        var node = null;
        if (kind === "ipu" && lane) {
          node = spanRect(lane, a, b, ly + IPU_Y, IPU_H, "mark ipu", "#555", "IPU " + names[ty] + " " + fmtS(a) + "–" + fmtS(b), extra);
        } else if (kind === "turn" && lane) {
          node = spanRect(lane, a, b, ly + IPU_Y + IPU_H + 1, 2, "mark turn", colour(ty), "turn " + names[ty] + " " + fmtS(a) + "–" + fmtS(b), extra);
        } else if (kind === "backchannel" && lane) {
          node = spanRect(lane, a, b, ly + MARK_Y, MARK_H, "mark backchannel", "#7b4fb3", "backchannel " + names[ty] + " " + fmtS(a) + "–" + fmtS(b), extra);
        } else if (kind === "interruption" && lane) {
          var xi = X(a);
          if (xi >= GUTTER && xi <= GUTTER + plotW()) {
            node = el("path", { d: "M" + (xi - 5) + "," + (ly + MARK_Y) + "L" + (xi + 5) + "," + (ly + MARK_Y) + "L" + xi + "," + (ly + MARK_Y + MARK_H) + "Z",
                                fill: "#b3261e", "class": "mark interruption", "data-start": a, "data-end": b, "data-track": ty, "data-kind": kind },
                        lane, "interruption by " + names[ty] + " at " + fmtS(a));
          }
        } else if (mid && (kind === "gap" || kind === "overlap-between" || kind === "overlap-within")) {
          var fill = kind === "gap" ? "#bdbdbd" : kind === "overlap-between" ? "#e4572e" : "#f3a712";
          var yy = kind === "gap" ? midY() + 13 : midY() + 6;
          var hh = kind === "gap" ? 12 : 26;
          node = spanRect(mid, a, b, yy, hh, "mark " + kind, fill, kind + " " + fmtS(a) + "–" + fmtS(b) + " (" + (b - a).toFixed(2) + " s)", extra);
        } else if (mid && kind === "floor-transfer") {
          var x0 = X(a), x1 = X(b);
          if (Math.max(x0, x1) >= GUTTER && Math.min(x0, x1) <= GUTTER + plotW()) {
            var down = ty !== null && ty > midAfter;  // to B (D): from the A (C) side (top) to the lower side
            node = el("line", { x1: x0, y1: down ? midY() + 2 : midY() + MID_H - 2, x2: x1, y2: down ? midY() + MID_H - 2 : midY() + 2,
                                stroke: "#1f2d3d", "stroke-width": 2, "class": "mark floor-transfer", "data-start": Math.min(a, b),
                                "data-end": Math.max(a, b), "data-track": ty, "data-kind": kind },
                        mid, "floor transfer to " + (ty !== null ? names[ty] : "?") + ", FTO " + (v === null ? "?" : v.toFixed(2) + " s"));
          }
        }
        if (node) counts[kind] = (counts[kind] || 0) + 1;
      }
    }
    // selection and playhead on top
    var over = el("g", { "class": "overlay" }, s);
    el("rect", { x: 0, y: 0, width: 0, height: h - AXIS_H, fill: "#ffd54f", "fill-opacity": 0.28, stroke: "#c79a00",
                 "class": "selection", visibility: "hidden", "pointer-events": "none" }, over);
    el("line", { x1: -10, y1: 0, x2: -10, y2: h - AXIS_H, stroke: "#d00", "stroke-width": 2, "class": "playhead",
                 visibility: "hidden", "pointer-events": "none" }, over);
    if (svg && svg.parentNode === root) root.replaceChild(s, svg); else { root.innerHTML = ""; root.appendChild(s); }
    svg = s;
    attach(s);
    drawSelection();
    var ipus = s.querySelectorAll("rect.mark.ipu").length;
    root.setAttribute("data-ipu-marks", ipus);
    root.setAttribute("data-word-marks", s.querySelectorAll("rect.mark.word").length);
    root.setAttribute("data-word-texts", s.querySelectorAll("text.word-text").length);
    root.setAttribute("data-words-hidden", s.querySelectorAll("text.words-hidden").length);
    root.setAttribute("data-lines-hidden", s.querySelectorAll("text.lines-hidden").length);
    root.setAttribute("data-diarized-marks", diarMarks);
    var span = view.end - view.start;
    info.textContent = "showing " + fmtS(view.start) + " to " + fmtS(view.end) + " of " + fmtS(duration) +
      " (" + span.toFixed(2) + " s" + (data ? ", " + (data.peaks.resolution_s * 1000).toFixed(1) + " ms per pixel, waveform from " + data.peaks.source : "") +
      ") · " + ipus + " IPUs in view" + (selection ? " · selected " + fmtS(selection.start) + "–" + fmtS(selection.end) : "");
    var room = duration - span;
    slider.disabled = room <= 0;
    slider.value = room > 0 ? Math.round(view.start / room * 1000) : 0;
  }

  // Transcript lines of track t the words stage left out (their text does not fit their audio, or did not
  // align): a dashed box in the word strip where their words would be, its fit written in it where the zoom
  // leaves room, the line's text, scores and reason in the tooltip. Click it to hear the line.
  var wordsNoteEnd = null;  // where the "N words in view" note of the track being drawn ends (null: none)
  function linesCut(t) {  // more flagged lines of track t in view than the server sent (lines_truncated)
    if (!data || !data.lines || !data.lines_count) return false;
    var sent = 0;
    for (var j = 0; j < data.lines.length; j++) if (data.lines[j].track === t) sent++;
    return (data.lines_count[names[t]] || 0) > sent;
  }
  function leftOut(g, t, y0) {
    var after = wordsNoteEnd;
    wordsNoteEnd = null;
    if (!data || !data.lines) return 0;
    var n = 0;
    var count = data.lines_count ? data.lines_count[names[t]] || 0 : 0;
    if (linesCut(t)) {
      // more flagged lines in view than the server sends: say how many, as for words, at the right end of the
      // strip, or right after the words' note when there is one (it ends with "words,")
      var msg = count + " lines left out in view: zoom in";
      var w = CHAR_W * 1.1 * msg.length + 8, x = after !== null ? after : GUTTER + plotW() - w - 2;
      el("rect", { x: x, y: y0 + WORD_Y, width: w, height: WORD_H, fill: "#fff", "fill-opacity": 0.9 }, g);
      el("text", { x: x + 4, y: y0 + WORD_Y + WORD_H - 3, "font-size": 11, fill: "#7a1c16", "class": "lines-hidden",
                   "data-track": t }, g).textContent = msg;
      return 0;
    }
    for (var i = 0; i < data.lines.length; i++) {
      var ln = data.lines[i];
      if (ln.track !== t || ln.kept) continue;
      var score = ln.fit === null ? "" : "fit " + ln.fit.toFixed(2);
      var tip = "line left out: \u201c" + ln.text + "\u201d " + fmtS(ln.start) + "\u2013" + fmtS(ln.end) +
                (score ? " \u00b7 " + score : "") + (ln.coverage === null ? "" : " \u00b7 coverage " + Math.round(100 * ln.coverage) + "%") +
                " \u00b7 " + ln.reason;
      var r = spanRect(g, ln.start, ln.end, y0 + WORD_Y, WORD_H, "mark unfit-line", "#f8d7d4", tip,
                       { "data-track": t, "data-kind": "line", stroke: "#b3261e", "stroke-width": 0.8,
                         "stroke-dasharray": "3 2", "fill-opacity": 0.9 });
      if (!r) continue;
      n++;
      var x0 = Math.max(GUTTER, X(ln.start)), room = Math.min(GUTTER + plotW(), X(ln.end)) - x0 - 4;
      var unfit = ln.reason.indexOf("text does not fit") === 0;
      var labels = [unfit ? "line left out: text does not fit" + (score ? " (" + score + ")" : "") : "line left out: not aligned",
                    unfit ? "left out" + (score ? " (" + score + ")" : "") : "not aligned", score];
      for (var k = 0; k < labels.length; k++) {
        if (!labels[k] || CHAR_W * labels[k].length > room) continue;
        el("text", { x: x0 + 2, y: y0 + WORD_Y + WORD_H - 3, "font-size": 10, fill: "#7a1c16", "class": "unfit-line-text",
                     "pointer-events": "none" }, g).textContent = labels[k];
        break;
      }
    }
    return n;
  }

  // The words of track t: a box per word in a strip under the waveform, the word written in it when it fits
  // (cut short with "…" when only its first letters do; the whole word is in the tooltip). A view with more
  // words than pixels gets only their count from the server: the strip says how many and to zoom in.
  var CHAR_W = 5.6;  // about the width of one letter at font-size 10 (px)
  function words(g, t, y0) {
    if (!data || !data.words) return 0;
    var w = null;
    for (var i = 0; i < data.words.length; i++) if (data.words[i].track === t) w = data.words[i];
    if (!w) return 0;
    var wg = el("g", { "class": "words", "data-track": t }, g);
    if (w.count > w.word.length) {
      // when the track's flagged lines are left out too, their note follows this one ("16 words, 2 lines left
      // out in view: zoom in"): two notes at the strip's two ends overlapped on a narrow plot (a phone)
      var msg = w.count + (linesCut(t) ? " words," : " words in view: zoom in to read them");
      var wide = CHAR_W * 1.1 * msg.length + 8;
      wordsNoteEnd = GUTTER + 2 + wide;
      el("rect", { x: GUTTER + 2, y: y0 + WORD_Y, width: wide, height: WORD_H, fill: "#fff",
                   "fill-opacity": 0.9 }, wg);
      el("text", { x: GUTTER + 6, y: y0 + WORD_Y + WORD_H - 3, "font-size": 11, fill: "#222", "class": "words-hidden" },
         wg).textContent = msg;
      return 0;
    }
    var n = 0, lastX = -1e9;
    for (var k = 0; k < w.word.length; k++) {
      var a = w.start[k], b = w.end[k];
      var r = spanRect(wg, a, b, y0 + WORD_Y, WORD_H, "mark word", "#ffffff",
                       w.word[k] + " " + fmtS(a) + "–" + fmtS(b) + (data.words_source ? " (" + data.words_source + ")" : ""),
                       { "data-track": t, "data-kind": "word", "data-word": w.word[k], stroke: colour(t),
                         "stroke-width": 0.6, "fill-opacity": 0.85 });
      if (!r) continue;
      n++;
      var x0 = Math.max(GUTTER, X(a)), room = Math.min(GUTTER + plotW(), X(b)) - x0 - 3;
      if (x0 < lastX) continue;  // never over the previous word's text
      var text = w.word[k], fit = Math.floor(room / CHAR_W);
      if (fit < text.length) text = fit >= 3 ? text.slice(0, fit - 1) + "…" : "";
      if (!text) continue;
      el("text", { x: x0 + 2, y: y0 + WORD_Y + WORD_H - 3, "font-size": 10, fill: "#222", "class": "word-text",
                   "pointer-events": "none" }, wg).textContent = text;
      lastX = x0 + CHAR_W * text.length + 4;
    }
    return n;
  }

  // The diarized lanes (mono mix + diarization, mapped to the tracks) under the true lanes.
  function diarized(s) {
    var g = el("g", { "class": "diarized-lanes" }, s);
    var col = data ? data.collapse : null;
    var head = "mono mix, diarized";
    if (col && col.der && col.der.der !== null) head += " · DER " + (100 * col.der.der).toFixed(1) + "%";
    if (col && col.diarizer) head += " · " + col.diarizer;
    el("text", { x: GUTTER, y: diarY(0) - 5, "font-size": 11, "font-weight": 600, fill: "#333" }, g).textContent = head;
    var n = 0;
    for (var row = 0; row < diarRows.length; row++) {
      var t = diarRows[row], y0 = diarY(row);
      el("rect", { x: GUTTER, y: y0, width: plotW(), height: DIAR_H - 2, fill: t % 2 ? "#fbfbfb" : "#f7f9fc" }, g);
      el("text", { x: GUTTER - 4, y: y0 + DIAR_H / 2 + 3, "font-size": 10, fill: colour(t), "text-anchor": "end",
                   "font-weight": 600, "class": "diar-label" }, g).textContent = names[t] + (GUTTER > 40 ? " diarized" : "");
      if (!data) continue;
      var act = data.activity[t] ? data.activity[t].segments : [];
      for (var i = 0; i < act.length; i++) {
        spanRect(g, act[i][0], act[i][1], y0 + 1, 2, "diar-truth", colour(t), undefined);
      }
      var lane = null;
      if (col && col.lanes) for (var j = 0; j < col.lanes.length; j++) if (col.lanes[j].track === t) lane = col.lanes[j];
      var seg = lane ? lane.segments : [];
      for (var k = 0; k < seg.length; k++) {
        var r = spanRect(g, seg[k][0], seg[k][1], y0 + 5, DIAR_H - 10, "mark diarized", colour(t),
                         "diarized as " + names[t] + " " + fmtS(seg[k][0]) + "–" + fmtS(seg[k][1]) + " (click: play the mix)",
                         { "data-track": t, "data-kind": "diarized", "fill-opacity": 0.55, stroke: colour(t) });
        if (r) n++;
      }
    }
    return n;
  }

  function drawSelection() {
    var r = svg && svg.querySelector("rect.selection");
    if (!r) return;
    var sx0 = selection ? Math.max(GUTTER, X(selection.start)) : 0;
    var sx1 = selection ? Math.min(GUTTER + plotW(), X(selection.end)) : 0;
    if (!selection || sx1 <= sx0) { r.setAttribute("visibility", "hidden"); return; }
    r.setAttribute("x", sx0.toFixed(1)); r.setAttribute("width", (sx1 - sx0).toFixed(1));
    r.setAttribute("visibility", "visible");
  }

  // ---- interaction -----------------------------------------------------------------------

  function laneAt(y) {
    for (var t = 0; t < nTracks; t++) if (y >= laneY(t) && y < laneY(t) + LANE_H) return t;
    return null;  // the strip between lanes or the axis
  }

  function pointer(e) {
    var r = svg.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  var drag = null;
  function attach(s) {
    s.addEventListener("mousedown", function (e) {
      if (e.button !== 0) return;
      var p = pointer(e);
      if (p.x < GUTTER) return;
      drag = { x0: p.x, t0: clampTime(T(p.x)), lane: laneAt(p.y), target: e.target, moved: false };
      e.preventDefault();  // no text selection while dragging; this also keeps focus away, so give it back:
      root.focus({ preventScroll: true });  // the keys work right after a click on the timeline
    });
  }

  document.addEventListener("mousemove", function (e) {
    if (!drag || !svg) return;
    var p = pointer(e);
    if (Math.abs(p.x - drag.x0) > 3) drag.moved = true;
    if (drag.moved) {
      var t1 = clampTime(T(p.x));
      selection = { start: Math.min(drag.t0, t1), end: Math.max(drag.t0, t1) };
      drawSelection();  // only the selection moves while dragging; the rest is redrawn on release
    }
  });

  document.addEventListener("mouseup", function (e) {
    if (!drag) return;
    var d = drag; drag = null;
    var lane = d.lane, tracks = lane === null ? pairTracks : names[lane];
    if (d.moved && selection && selection.end - selection.start > 0.01) {
      selection.tracks = tracks;
      draw();
      play(selection.start, selection.end, tracks);
      return;
    }
    var tgt = d.target;
    if (tgt && tgt.getAttribute && tgt.getAttribute("data-start") !== null && /\bmark\b/.test(tgt.getAttribute("class") || "")) {
      var a = parseFloat(tgt.getAttribute("data-start")), b = parseFloat(tgt.getAttribute("data-end"));
      var kind = tgt.getAttribute("data-kind");
      var t = tgt.getAttribute("data-track");
      var between = kind === "gap" || kind === "floor-transfer" || kind.indexOf("overlap") === 0 || kind === "diarized";
      tracks = between ? pairTracks : t === "" || t === null ? "both" : names[parseInt(t, 10)];
      // a diarized mark: the mix collapse diarized, of the tracks it mixed (C and D of a 4-channel file whose
      // other channels are unused), not every channel of the file
      var mixed = kind === "diarized" && data && data.collapse ? data.collapse.tracks : null;
      if (mixed && mixed.length) tracks = mixed.join(",");
      if (b - a < 0.3) { var c = (a + b) / 2; a = Math.max(0, c - 0.5); b = Math.min(duration, c + 0.5); }
      selection = { start: a, end: b, tracks: tracks };
      draw();
      play(a, b, tracks);
      return;
    }
    // a plain click on a lane: play three seconds from there on that track
    var a2 = d.t0, b2 = Math.min(duration, a2 + 3);
    if (b2 - a2 < 0.05) { a2 = Math.max(0, b2 - 3); }
    selection = { start: a2, end: b2, tracks: tracks };
    draw();
    play(a2, b2, tracks);
  });

  root.addEventListener("wheel", function (e) {
    if (!svg) return;
    e.preventDefault();
    var span = view.end - view.start;
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      var d = (Math.abs(e.deltaX) > Math.abs(e.deltaY) ? e.deltaX : e.deltaY) / plotW() * span;
      setView(view.start + d, view.end + d);
      return;
    }
    var p = pointer(e);
    var tc = Math.max(view.start, Math.min(view.end, T(p.x)));
    var f = Math.exp(e.deltaY * 0.0015);
    var ns = Math.max(MIN_SPAN, Math.min(duration, span * f));
    var a = tc - (tc - view.start) / span * ns;
    setView(a, a + ns);
  }, { passive: false });

  function zoom(f) {
    var c = selection && selection.end > view.start && selection.start < view.end ? (selection.start + selection.end) / 2
      : (view.start + view.end) / 2;
    var ns = Math.max(MIN_SPAN, Math.min(duration, (view.end - view.start) * f));
    setView(c - ns / 2, c + ns / 2);
  }
  function pan(f) { var d = (view.end - view.start) * f; setView(view.start + d, view.end + d); }

  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.5); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(2); });
  document.getElementById("zoom-fit").addEventListener("click", function () { setView(0, duration); });
  document.getElementById("pan-left").addEventListener("click", function () { pan(-0.5); });
  document.getElementById("pan-right").addEventListener("click", function () { pan(0.5); });
  document.getElementById("stop").addEventListener("click", stop);
  slider.addEventListener("input", function () {
    var span = view.end - view.start, room = duration - span;
    var a = room * parseInt(slider.value, 10) / 1000;
    setView(a, a + span);
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.play"), function (btn) {
    btn.addEventListener("click", function () {
      var tr = btn.getAttribute("data-tracks");
      var a = selection ? selection.start : view.start;
      var b = selection ? selection.end : Math.min(view.end, view.start + 30);
      play(a, b, tr);
    });
  });
  // Keys on the focused timeline (Tab to it, or click it): the whole page works without a mouse.
  root.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var span = view.end - view.start;
    if (e.key === "+" || e.key === "=") zoom(0.5);
    else if (e.key === "-") zoom(2);
    else if (e.key === "0") setView(0, duration);
    else if (e.key === "ArrowLeft") pan(-0.25);
    else if (e.key === "ArrowRight") pan(0.25);
    else if (e.key === "Home") setView(0, span);
    else if (e.key === "End") setView(duration - span, duration);
    else if (e.key === "Escape") stop();
    else if (e.key === " " || e.key === "Enter") {
      // pause / resume what plays; else play the selection on its tracks, or (like "play both") the first
      // 30 s of the view
      if (playing && !player.paused) pause();
      else if (playing && player.paused) resume();
      else if (selection) play(selection.start, selection.end, selection.tracks || "both");
      else play(view.start, Math.min(view.end, view.start + 30), pairTracks);
    }
    else return;
    e.preventDefault();
  });
  window.addEventListener("resize", function () { draw(); schedule(); });

  // ---- playback --------------------------------------------------------------------------

  function label(p) {
    var who = p.tracks === "both" ? names.join("+") : p.tracks.split(",").join("+");
    return "track " + who + " " + fmtS(p.start) + "–" + fmtS(p.end);
  }

  function play(a, b, tracks) {
    stop();
    if (b - a < 0.01) return;
    playing = { start: a, end: b, tracks: tracks };
    statusEl.setAttribute("data-tracks", tracks);
    setStatus("loading", "loading " + label(playing) + "…");
    player.src = api + "/audio?tracks=" + encodeURIComponent(tracks) + "&start=" + a.toFixed(3) + "&end=" + b.toFixed(3);
    var pr = player.play();
    if (pr && pr.catch) pr.catch(function (err) {
      if (err && err.name === "AbortError") return;  // replaced by a newer request
      setStatus("error", "could not play: " + (err && err.message ? err.message : err));
    });
  }

  function pause() {
    player.pause();
    setStatus("paused", "paused " + label(playing) + " at " + fmtS(playing.start + player.currentTime) + " (Space resumes)");
  }

  function resume() {
    var pr = player.play();
    if (pr && pr.catch) pr.catch(function (err) { setStatus("error", "could not play: " + (err && err.message ? err.message : err)); });
  }

  function stop() {
    if (!player.paused) player.pause();
    if (playing) setStatus("stopped", "stopped " + label(playing));
    playing = null;
    movePlayhead(null);
  }

  function movePlayhead(t) {
    if (!svg) return;
    var ph = svg.querySelector("line.playhead");
    if (!ph) return;
    if (t === null || t < view.start || t > view.end) { ph.setAttribute("visibility", "hidden"); return; }
    var x = X(t);
    ph.setAttribute("x1", x); ph.setAttribute("x2", x); ph.setAttribute("visibility", "visible");
  }

  function tick() {
    if (!playing || player.paused) return;
    movePlayhead(playing.start + player.currentTime);
    window.requestAnimationFrame(tick);
  }

  player.addEventListener("playing", function () {
    if (!playing) return;
    setStatus("playing", "playing " + label(playing));
    statusEl.setAttribute("data-started", String(Date.now()));
    window.requestAnimationFrame(tick);
  });
  player.addEventListener("ended", function () {
    if (!playing) return;
    setStatus("ended", "played " + label(playing));
    playing = null;
    movePlayhead(null);
  });
  player.addEventListener("error", function () {
    if (!playing) return;
    var code = player.error ? player.error.code : "?";
    setStatus("error", "audio error (code " + code + ") for " + label(playing));
  });

  var loading = document.getElementById("timeline-loading");
  if (loading) loading.remove();
  draw();
  fetchView();
})();
