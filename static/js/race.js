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

  // --- Replay: both terminals from the recorded timing; silences longer than
  // MAX_GAP_MS (on the merged timeline of both sides) are shortened to it.
  var MAX_GAP_MS = 1500;
  var player = null;

  function buildTimeline(data) {
    var events = [];
    ["elide", "standard"].forEach(function (side) {
      (data.sides[side].chunks || []).forEach(function (chunk) {
        events.push({ side: side, at: chunk[0], html: chunk[1] });
      });
    });
    events.sort(function (a, b) { return a.at - b.at; });
    var shift = 0, previous = 0;
    events.forEach(function (event) {
      var gap = event.at - previous;
      if (gap > MAX_GAP_MS) shift += gap - MAX_GAP_MS;
      previous = event.at;
      event.play = event.at - shift;
    });
    return events;
  }

  function stopReplay(root) {
    if (player) { clearInterval(player.timer); player = null; }
    root.querySelector("[data-stop]").hidden = true;
    root.classList.remove("playing");
  }

  function startReplay(root, data, speed) {
    stopReplay(root);
    var events = buildTimeline(data);
    var terminals = {
      elide: document.getElementById("output-elide"),
      standard: document.getElementById("output-standard")
    };
    Object.keys(terminals).forEach(function (side) { if (terminals[side]) terminals[side].textContent = ""; });
    var clock = root.querySelector(".replay-clock");
    var started = performance.now();
    var index = 0;
    root.querySelector("[data-stop]").hidden = false;
    root.classList.add("playing");
    player = { timer: setInterval(function () {
      var position = (performance.now() - started) * speed;
      while (index < events.length && events[index].play <= position) {
        var event = events[index++];
        var terminal = terminals[event.side];
        if (terminal) {
          terminal.insertAdjacentHTML("beforeend", event.html);
          terminal.scrollTop = terminal.scrollHeight;
        }
      }
      var recorded = index > 0 ? events[index - 1].at : 0;
      clock.textContent = formatClock(recorded) + " (" + speed + "\u00d7)";
      if (index >= events.length) {
        clock.textContent = "Replay finished";
        stopReplay(root);
      }
    }, 50) };
  }

  function setUpReplay(root) {
    if (!root || root.getAttribute("data-ready")) return;
    root.setAttribute("data-ready", "1");
    root.hidden = false;
    var data = null;
    root.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.hasAttribute("data-stop")) { stopReplay(root); return; }
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
