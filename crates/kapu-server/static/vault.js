// The vault pages' small enhancements: lock the vault when the tab was hidden, or the
// computer asleep, longer than the idle time; count down the code's seconds; copy a code.
(function () {
  "use strict";
  var form = document.getElementById("vault-lock");
  if (!form) { return; }
  var idle = parseInt(form.getAttribute("data-idle") || "300", 10) * 1000;
  var lock = function () { form.submit(); };
  var hiddenAt = null;
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { hiddenAt = Date.now(); return; }
    if (hiddenAt !== null && Date.now() - hiddenAt > idle) { lock(); }
    hiddenAt = null;
  });
  // Timers stop while a computer sleeps: a tick that comes far too late means it slept.
  var lastTick = Date.now();
  var lastInput = Date.now();
  ["keydown", "mousedown", "touchstart", "scroll"].forEach(function (kind) {
    document.addEventListener(kind, function () { lastInput = Date.now(); }, { passive: true });
  });
  var left = document.getElementById("seconds-left");
  var code = document.getElementById("code");
  var copy = document.querySelector("[data-copy]");
  // A reveal is a form's answer: its address becomes the entry's again, so that a reload
  // shows the entry instead of asking to send the form once more.
  var section = document.querySelector("[data-entry]");
  if (section && window.history.replaceState && location.pathname !== section.getAttribute("data-entry")) {
    window.history.replaceState(null, "", section.getAttribute("data-entry"));
  }
  // When the code runs out the next one (sent with it) takes its place for a whole period;
  // after that the page asks for a new reveal.
  var rollOver = function () {
    var next = code.getAttribute("data-next");
    if (!next) {
      code.classList.add("expired");
      var gone = document.getElementById("code-expired");
      if (gone) { gone.hidden = false; }
      return 0;
    }
    code.textContent = next;
    code.removeAttribute("data-next");
    if (copy) { copy.setAttribute("data-copy", next); }
    var line = document.getElementById("next-line");
    if (line) { line.hidden = true; }
    return parseInt(code.getAttribute("data-period") || "30", 10);
  };
  setInterval(function () {
    var now = Date.now();
    if (now - lastTick > idle || now - lastInput > idle) { lock(); return; }
    lastTick = now;
    if (left) {
      var n = parseInt(left.textContent, 10);
      if (n > 0) {
        n -= 1;
        if (n === 0 && code) { n = rollOver(); }
        left.textContent = String(n);
      }
    }
  }, 1000);
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (b) {
    if (!navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(b.getAttribute("data-copy")).then(function () {
        b.textContent = b.getAttribute("data-copied") || "✓";
      });
    });
  });
}());
