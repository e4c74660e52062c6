// Passkeys (WebAuthn) for the security info and MFA challenge pages (directory/mfa/views.py).
// A form marked data-passkey="register" or "verify" asks the server for options (POST data-options-url),
// hands them to the browser (navigator.credentials.create / get), posts the answer as JSON to
// data-complete-url and follows the redirect it gets back. No inline script: the page's CSP allows only
// files from our own origin.
(function () {
  "use strict";

  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBytes(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: {clientDataJSON: toBase64url(response.clientDataJSON)}
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      if (response.userHandle) { out.response.userHandle = toBase64url(response.userHandle); }
    }
    return out;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || response.statusText); }
        return data;
      });
    });
  }

  function setUp(form) {
    var kind = form.getAttribute("data-passkey");
    var error = form.querySelector("#passkey-error");
    var button = form.querySelector("button[type=submit]");
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

    function fail(message) {
      error.textContent = message;
      error.hidden = false;
      button.disabled = false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential || !navigator.credentials) {
        fail(form.getAttribute("data-unsupported"));
        return;
      }
      error.hidden = true;
      button.disabled = true;
      post(form.getAttribute("data-options-url"), csrf).then(function (options) {
        var ask = kind === "register"
          ? navigator.credentials.create({publicKey: creationOptions(options)})
          : navigator.credentials.get({publicKey: requestOptions(options)});
        return ask.then(function (credential) {
          if (!credential) { throw new Error(form.getAttribute("data-cancelled")); }
          var name = form.querySelector("input[name=name]");
          return post(form.getAttribute("data-complete-url"), csrf,
                      {credential: credentialJSON(credential), name: name ? name.value : ""});
        }, function () { throw new Error(form.getAttribute("data-cancelled")); });
      }).then(function (result) {
        window.location.assign(result.redirect);
      }).catch(function (err) { fail(err.message); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-passkey]").forEach(setUp);
  });
})();
