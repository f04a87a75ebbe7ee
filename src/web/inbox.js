// Keeps a test address's page live while it waits for its message: asks
// for the page again every few seconds and, once it no longer waits
// (the message came and the page now sends on to its report, or the
// address expired), goes there. Without this script the page reloads
// itself (a refresh inside <noscript>). Served from the binary; the
// pages allow no inline script.
"use strict";
(function () {
  var every = Number(document.currentScript.getAttribute("data-poll")) || 2000;
  function state(doc) {
    var status = doc.querySelector("[data-inbox-state]");
    return status ? status.getAttribute("data-inbox-state") : "";
  }
  function poll() {
    fetch(location.pathname, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        // The report replaces the waiting page in the history: Back from
        // it would only land on the address that sends on to it again.
        if (response.redirected) {
          location.replace(response.url);
          return;
        }
        return response.text().then(function (text) {
          var doc = new DOMParser().parseFromString(text, "text/html");
          if (state(doc) === "waiting") {
            setTimeout(poll, every);
          } else {
            location.reload();
          }
        });
      }, function () {
        // The server did not answer (restarting, say): ask again later.
        setTimeout(poll, every * 3);
      });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (state(document) === "waiting" && window.fetch && window.DOMParser) {
      setTimeout(poll, every);
    }
  });
})();
