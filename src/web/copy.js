// Copy buttons for the DNS records a fix asks for. The page works without
// this script: the records are plain text to select. Served from the
// binary; the pages allow no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy]").forEach(function (block) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy " + block.getAttribute("data-copy");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(block.textContent).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select the text to copy it";
      });
    });
    block.insertAdjacentElement("afterend", button);
  });
});
