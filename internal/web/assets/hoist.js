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
