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
  setInterval(function () {
    var now = Date.now();
    if (now - lastTick > idle || now - lastInput > idle) { lock(); return; }
    lastTick = now;
    if (left) {
      var n = parseInt(left.textContent, 10) - 1;
      if (n <= 0 && code) { code.classList.add("expired"); n = 0; }
      left.textContent = String(n);
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
