// Hoist UI: copy buttons. Pages work without this file; it only adds
// conveniences.
"use strict";
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("button.copy");
  if (!btn) { return; }
  var input = document.getElementById(btn.dataset.copy);
  if (!input) { return; }
  var status = document.getElementById("copy-status");
  var done = function () {
    var label = btn.textContent;
    btn.textContent = "Copied";
    if (status) { status.textContent = "Copied to the clipboard."; }
    setTimeout(function () { btn.textContent = label; }, 1500);
  };
  var fallback = function () {
    input.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected for a manual copy */ }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, fallback);
  } else {
    fallback();
  }
});
// Close an open ⋯ menu with Escape, returning focus to its button.
document.addEventListener("keydown", function (ev) {
  if (ev.key !== "Escape") { return; }
  var open = document.querySelector("details.menu[open]");
  if (open) { open.removeAttribute("open"); open.querySelector("summary").focus(); }
});
// A failed run's log opens at its first OpenTofu error (the page marks
// it), not at the top of the box.
(function () {
  var log = document.getElementById("log");
  var mark = document.getElementById("log-error");
  if (!log || !mark) { return; }
  var pad = parseFloat(window.getComputedStyle(log).paddingTop) || 0;
  log.scrollTop += mark.getBoundingClientRect().top - log.getBoundingClientRect().top - pad;
})();
// The run page's live log: poll for new chunks and the run's state until
// the run is over, appending to the log and updating the state badge, the
// plan summary and the action buttons (the ones the state allows) in place.
(function () {
  var log = document.getElementById("log");
  if (!log || log.dataset.follow !== "true") { return; }
  var after = log.dataset.after || "0";
  var stateEl = document.getElementById("run-state");
  var deltaEl = document.getElementById("run-delta");
  var stick = function () { return log.scrollTop + log.clientHeight >= log.scrollHeight - 24; };
  var render = function (data) {
    if (stateEl) {
      stateEl.innerHTML = "";
      var badge = document.createElement("span");
      badge.className = "state state-" + data.state;
      badge.dataset.state = data.state;
      badge.textContent = data.state;
      stateEl.appendChild(badge);
    }
    if (deltaEl && data.delta) {
      // Built afresh: a run without a plan shows a dash, not the counts.
      var delta = document.createElement("span");
      delta.className = "delta";
      var parts = [["add", "+" + data.delta.add], ["change", "~" + data.delta.change], ["destroy", "\u2212" + data.delta.destroy]];
      if (data.delta.import) { parts.push(["import", "\u2193" + data.delta.import]); }
      parts.forEach(function (p, i) {
        if (i > 0) { delta.appendChild(document.createTextNode(" ")); }
        var s = document.createElement("span");
        s.className = p[0];
        s.textContent = p[1];
        delta.appendChild(s);
      });
      deltaEl.replaceChildren(delta);
    }
    var actions = data.actions || [];
    document.querySelectorAll("form.run-action").forEach(function (f) { f.hidden = actions.indexOf(f.dataset.action) < 0; });
  };
  var poll = function () {
    fetch(log.dataset.url + "?after=" + encodeURIComponent(after), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        var atEnd = stick();
        data.chunks.forEach(function (c) { log.appendChild(document.createTextNode(c.body)); after = String(c.id); });
        if (atEnd) { log.scrollTop = log.scrollHeight; }
        render(data);
        // A run that just failed: the page shows why once reloaded.
        if (data.terminal && data.state === "FAILED" && !document.getElementById("run-failure")) { window.location.reload(); return; }
        // A run that starts or stops waiting for review: the reviews card
        // (and its Approve and Reject) comes with the page.
        var waiting = data.state === "PENDING_REVIEW";
        if (waiting !== !!document.getElementById("review-waiting")) { window.location.reload(); return; }
        if (!data.terminal) { setTimeout(poll, data.chunks.length >= 500 ? 0 : 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  };
  poll();
})();
// The stack form's integration picker offers only the integrations the
// chosen space may use (each option names them in data-spaces); the
// server refuses the others anyway, with a message saying why.
(function () {
  var form = document.getElementById("stack-form");
  var spaceSel = form && document.getElementById("space");
  var itSel = form && document.getElementById("integration");
  if (!spaceSel || !itSel) { return; }
  var filter = function () {
    var sp = spaceSel.value;
    var current = itSel.options[itSel.selectedIndex];
    Array.prototype.forEach.call(itSel.options, function (o) {
      if (o.dataset.spaces === undefined) { return; }
      var ok = (" " + o.dataset.spaces + " ").indexOf(" " + sp + " ") >= 0;
      o.hidden = !ok;
      o.disabled = !ok;
    });
    if (current && current.disabled) {
      var first = Array.prototype.find.call(itSel.options, function (o) { return !o.disabled; });
      if (first) { itSel.value = first.value; }
    }
  };
  // "Follow the integration" says what the picked one's drift issue
  // setting is now.
  var inheritNow = document.getElementById("drift-inherit-now");
  var showDrift = function () {
    var o = itSel.options[itSel.selectedIndex];
    if (inheritNow) { inheritNow.textContent = o && o.dataset.drift ? "(" + o.dataset.drift + ")" : ""; }
  };
  spaceSel.addEventListener("change", function () { filter(); showDrift(); });
  itSel.addEventListener("change", showDrift);
  filter();
  showDrift();
})();
