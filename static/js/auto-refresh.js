// Reloads the page while the server says something on it is still in progress (the reports
// page while a report is queued or generating). The interval comes from the script tag's
// data-interval (milliseconds). It waits while the user has the focus in a field, so a half
// filled form is not thrown away. A static file, not an inline script: the Content-Security-Policy
// allows scripts only from this origin or with the response's nonce.
(function () {
  "use strict";
  const script = document.currentScript;
  const interval = Math.max(1000, Number(script && script.dataset.interval) || 5000);
  window.setInterval(function () {
    const active = document.activeElement;
    if (!active || active === document.body) window.location.reload();
  }, interval);
})();
