// Print buttons: shown only where a script can print; the page's print style keeps what
// is to be kept (the recovery codes) and leaves out the rest.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    if (!window.print) { return; }
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
}());
