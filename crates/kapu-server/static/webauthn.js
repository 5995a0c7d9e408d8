// Security keys and passkeys: a form marked data-webauthn="create" or "get" runs the
// browser's WebAuthn ceremony with the options in data-options, puts the answer into its
// "credential" field as JSON, and is sent. Without this script such forms stay hidden.
(function () {
  "use strict";
  if (!window.PublicKeyCredential) return;
  function decode(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); }).buffer;
  }
  function encode(buf) {
    var s = "";
    new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    (list || []).forEach(function (c) { c.id = decode(c.id); });
  }
  function create(options) {
    var p = options.publicKey;
    p.challenge = decode(p.challenge);
    p.user.id = decode(p.user.id);
    ids(p.excludeCredentials);
    return navigator.credentials.create({ publicKey: p }).then(function (c) {
      return {
        id: c.id, rawId: encode(c.rawId), type: c.type,
        extensions: c.getClientExtensionResults(),
        response: {
          attestationObject: encode(c.response.attestationObject),
          clientDataJSON: encode(c.response.clientDataJSON),
          transports: c.response.getTransports ? c.response.getTransports() : []
        }
      };
    });
  }
  function get(options) {
    var p = options.publicKey;
    p.challenge = decode(p.challenge);
    ids(p.allowCredentials);
    return navigator.credentials.get({ publicKey: p }).then(function (c) {
      return {
        id: c.id, rawId: encode(c.rawId), type: c.type,
        extensions: c.getClientExtensionResults(),
        response: {
          authenticatorData: encode(c.response.authenticatorData),
          clientDataJSON: encode(c.response.clientDataJSON),
          signature: encode(c.response.signature),
          userHandle: c.response.userHandle ? encode(c.response.userHandle) : null
        }
      };
    });
  }
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.dataset.ready) return;
      event.preventDefault();
      var status = form.querySelector("[role=status]");
      var options = JSON.parse(form.dataset.options);
      var ceremony = form.dataset.webauthn === "create" ? create(options) : get(options);
      ceremony.then(function (answer) {
        form.elements.credential.value = JSON.stringify(answer);
        form.dataset.ready = "1";
        form.submit();
      }, function () {
        if (status) status.textContent = form.dataset.failed;
      });
    });
  });
})();
