// "Go back" links (a[data-history-back]) return to the previous page when there is one from
// this site, and otherwise follow their href. Replaces a javascript: URL, which the
// Content-Security-Policy refuses like any inline script.
(function () {
  "use strict";
  function cameFromHere() {
    try {
      return window.history.length > 1 && new URL(document.referrer).origin === window.location.origin;
    } catch (err) {
      return false; // no referrer, or not a URL
    }
  }
  document.querySelectorAll("a[data-history-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (!cameFromHere()) return;
      event.preventDefault();
      window.history.back();
    });
  });
})();
