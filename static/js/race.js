// Race page: running timers, terminals that follow new output, and the replay player.
// Output arrives as server-rendered, escaped HTML (htmx swaps); this file never builds
// markup from build output itself.
(function () {
  "use strict";

  // --- Timers: each running side shows the server's elapsed time plus local time since.
  var seen = new WeakMap();
  function formatClock(ms) {
    var tenths = Math.floor(ms / 100);
    var minutes = Math.floor(tenths / 600);
    var rest = tenths % 600;
    var seconds = Math.floor(rest / 10);
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds + "." + (rest % 10);
  }
  function tick() {
    var now = performance.now();
    document.querySelectorAll(".timer[data-elapsed-ms]").forEach(function (timer) {
      if (!seen.has(timer)) seen.set(timer, now);
      var base = parseInt(timer.getAttribute("data-elapsed-ms"), 10) || 0;
      timer.textContent = formatClock(base + (now - seen.get(timer)));
    });
  }
  setInterval(tick, 100);

  // --- Terminals follow new output when the reader is at the bottom.
  var following = new WeakMap();
  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }
  document.querySelectorAll(".terminal").forEach(function (el) { el.scrollTop = el.scrollHeight; });
  document.body.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("terminal")) {
      following.set(target, atBottom(target));
    }
  });
  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("terminal") && following.get(target) !== false) {
      target.scrollTop = target.scrollHeight;
    }
    if (target && target.id === "race-summary") setUpReplay(document.getElementById("replay"));
  });

  // --- Replay: the race as it happened. Output appears at its recorded moment (elapsed ms
  // since the race started); each side's clock counts the current run from zero, as the live
  // page's does (runs begin where the engine's "=== run 2/3 ===" headers were recorded), its
  // bell lights and its result shows when it finished, and the summary (verdict, times, the
  // per-run table) appears once both sides are done; nothing of the result shows before.
  // 1x is real time; at 4x and 16x silences longer than MAX_GAP_MS (on the merged timeline of
  // both sides) are shortened to it. No speed plays a race in less than MIN_REPLAY_MS (a race
  // shorter than that plays in real time).
  var MAX_GAP_MS = 1500;
  var MIN_REPLAY_MS = 10000;
  var SIDES = ["elide", "standard"];
  var player = null;

  function buildTimeline(data, speed) {
    var events = [];
    SIDES.forEach(function (side) {
      (data.sides[side].chunks || []).forEach(function (chunk) {
        events.push({ side: side, at: chunk[0], html: chunk[1] });
      });
    });
    events.sort(function (a, b) { return a.at - b.at; });
    var shift = 0, previous = 0;
    events.forEach(function (event) {
      var gap = event.at - previous;
      if (speed > 1 && gap > MAX_GAP_MS) shift += gap - MAX_GAP_MS;
      previous = event.at;
      event.play = event.at - shift;
    });
    return events;
  }

  // Each side's span on the playback timeline: first and last output.
  function sideSpans(events) {
    var spans = {};
    events.forEach(function (event) {
      var span = spans[event.side] || (spans[event.side] = { from: event.play, fromAt: event.at });
      span.to = event.play;
    });
    return spans;
  }

  // What tells the result: the summary and the measured times in the side headers.
  function finalPieces() {
    return Array.prototype.slice.call(document.querySelectorAll("#race-summary, .side-head .phases"));
  }

  // How many playback ms pass per real ms: the chosen speed, slowed down so that the whole
  // replay lasts at least MIN_REPLAY_MS (a race that took less lasts its real time).
  function playbackRate(events, speed) {
    if (!events.length) return speed;
    var last = events[events.length - 1];
    var shortest = Math.min(last.at, MIN_REPLAY_MS);
    var duration = Math.max(last.play / speed, shortest);
    return duration > 0 ? last.play / duration : speed;
  }

  // The run a side is in at recorded time `at`: {label, from} or null before its first run.
  // A side without run headers (one run, no warm-up) is one run from its first output.
  function currentRun(runs, at, firstAt) {
    if (!runs || !runs.length) return { label: null, from: firstAt };
    var run = null;
    runs.forEach(function (start) { if (start[0] <= at) run = { label: start[1], from: start[0] }; });
    return run;
  }

  function saveHeads() {
    var saved = {};
    SIDES.forEach(function (side) {
      var head = document.getElementById("side-head-" + side);
      if (head) saved[side] = head.innerHTML;  // server-rendered markup, restored as is
    });
    return saved;
  }

  function restore(state) {
    SIDES.forEach(function (side) {
      var head = document.getElementById("side-head-" + side);
      if (head && state.heads[side] !== undefined) head.innerHTML = state.heads[side];
    });
    finalPieces().forEach(function (piece) { piece.hidden = false; });
  }

  function showSide(side, text, rung, stateText) {
    var head = document.getElementById("side-head-" + side);
    if (!head) return;
    var time = head.querySelector(".side-time");
    if (time) time.textContent = text;
    var bell = head.querySelector(".bell");
    if (bell) bell.classList.toggle("rung", rung);
    var state = head.querySelector(".side-state");
    if (state) state.textContent = stateText;
  }

  function stopReplay(root, finished) {
    if (!player) return;
    clearInterval(player.timer);
    restore(player);
    player = null;
    var stop = root.querySelector("[data-stop]");
    var stopHadFocus = document.activeElement === stop;
    stop.hidden = true;
    root.classList.remove("playing");
    root.querySelector("#replay-status").textContent = finished ? "Replay finished." : "Replay stopped.";
    // Stop is gone: focus moves to the control that plays again.
    if (stopHadFocus || finished) root.querySelector("[data-speed='1']").focus();
  }

  function startReplay(root, data, speed) {
    stopReplay(root, false);
    var events = buildTimeline(data, speed);
    var spans = sideSpans(events);
    var terminals = {};
    SIDES.forEach(function (side) {
      terminals[side] = document.getElementById("output-" + side);
      if (terminals[side]) terminals[side].textContent = "";
    });
    var state = { heads: saveHeads(), timer: null };
    finalPieces().forEach(function (piece) { piece.hidden = true; });
    var clock = root.querySelector(".replay-clock");
    var started = performance.now();
    var rate = playbackRate(events, speed);
    var index = 0;
    var stop = root.querySelector("[data-stop]");
    stop.hidden = false;
    root.classList.add("playing");
    root.querySelector("#replay-status").textContent = "Replay started at " + speed + "\u00d7.";
    player = state;
    state.timer = setInterval(function () {
      var position = (performance.now() - started) * rate;
      while (index < events.length && events[index].play <= position) {
        var event = events[index++];
        var terminal = terminals[event.side];
        if (terminal) {
          var follow = atBottom(terminal);  // unless the reader scrolled up
          terminal.insertAdjacentHTML("beforeend", event.html);
          if (follow) terminal.scrollTop = terminal.scrollHeight;
        }
      }
      SIDES.forEach(function (side) {
        var span = spans[side], result = data.sides[side];
        if (!span) { showSide(side, "\u2013", false, "No output"); return; }
        if (position < span.from) { showSide(side, "0:00.0", false, "Waiting"); return; }
        var done = position >= span.to && eventsShown(events, index, side);
        if (done) {
          var failed = result.status !== "success";
          var notRun = failed && result.errorKind === "infrastructure";
          showSide(side, notRun ? "not run" : failed ? "failed" : formatSeconds(result.durationMs),
                   !!result.bellRung, notRun ? "Could not run" : failed ? "Failed" : "Success");
        } else {
          // Recorded time now: this side's last output shown, plus playback since it.
          var now = lastAt(events, index, side) + position - lastPlay(events, index, side);
          var run = currentRun(result.runs, now, span.fromAt);
          if (!run) { showSide(side, "\u2013", false, "Preparing\u2026"); return; }
          var phase = run.label ? "Building (" + run.label.toLowerCase() + ")\u2026" : "Building\u2026";
          showSide(side, formatClock(Math.max(now - run.from, 0)), false, phase);
        }
      });
      var shown = index > 0 ? events[index - 1].at : 0;
      clock.textContent = formatClock(shown) + " (" + speed + "\u00d7)";
      if (index >= events.length) {
        clock.textContent = "Replay finished";
        stopReplay(root, true);
      }
    }, 50);
  }

  function eventsShown(events, index, side) {
    for (var i = index; i < events.length; i++) if (events[i].side === side) return false;
    return true;
  }
  function lastAt(events, index, side) {
    for (var i = index - 1; i >= 0; i--) if (events[i].side === side) return events[i].at;
    return 0;
  }
  function lastPlay(events, index, side) {
    for (var i = index - 1; i >= 0; i--) if (events[i].side === side) return events[i].play;
    return 0;
  }
  function formatSeconds(ms) {
    return ms === null || ms === undefined ? "\u2013" : (ms / 1000).toFixed(2) + " s";
  }

  function setUpReplay(root) {
    if (!root || root.getAttribute("data-ready")) return;
    root.setAttribute("data-ready", "1");
    root.hidden = false;
    var data = null;
    root.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.hasAttribute("data-stop")) { stopReplay(root, false); return; }
      var speed = parseInt(button.getAttribute("data-speed"), 10) || 1;
      if (data) { startReplay(root, data, speed); return; }
      fetch(root.getAttribute("data-replay-url"), { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (json) { data = json; startReplay(root, data, speed); })
        .catch(function () { root.querySelector(".replay-clock").textContent = "Replay unavailable"; });
    });
  }

  setUpReplay(document.getElementById("replay"));
  // The summary (and its replay block) arrives by htmx when a live race ends.
  document.body.addEventListener("htmx:afterSettle", function () {
    setUpReplay(document.getElementById("replay"));
  });
})();
