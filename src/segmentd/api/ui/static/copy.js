// Copy buttons: <button class="copy" data-copy="ID" data-done="STATUS-ID"> copies the value of
// the element ID and says so in STATUS-ID (its data-text). An external file: the pages'
// Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  function say(button) {
    var status = document.getElementById(button.getAttribute("data-done"));
    if (status) {
      status.textContent = status.getAttribute("data-text") || "";
    }
  }
  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(function () { say(button); }, function () {
        source.select();
      });
      return;
    }
    // Plain http (no clipboard API): select the text and use the older command.
    source.focus();
    source.select();
    if (document.execCommand && document.execCommand("copy")) {
      say(button);
    }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy");
    if (button) {
      copy(button);
    }
  });
})();
