// Live progress of queued and running evaluation runs. Every element marked
// data-evaluation-progress polls its run (GET /api/v1/evaluations/{id}/, session auth) once a
// second and updates its <progress> bar and message; when the run finishes, the page reloads
// to show the results the server renders.
(function () {
  "use strict";
  const ACTIVE = ["QUEUED", "RUNNING"];
  const INTERVAL_MS = 1000;
  const MAX_BACKOFF_MS = 10000;
  let reloading = false;

  function watch(el) {
    const url = el.dataset.url;
    const bar = el.querySelector("progress");
    const percent = el.querySelector("[data-progress-percent]");
    const message = el.querySelector("[data-progress-message]");
    const badges = document.querySelectorAll(
      "[data-progress-status][data-run='" + Number(el.dataset.run) + "']"
    );
    let delay = INTERVAL_MS;

    function show(body) {
      const value = Math.max(0, Math.min(100, Number(body.progress) || 0));
      if (bar) { bar.value = value; bar.textContent = value + "%"; }
      if (percent) percent.textContent = value + "%";
      if (message) message.textContent = body.progressMessage || "";
      badges.forEach(function (badge) { badge.textContent = body.status; });
    }

    async function poll() {
      let body = null;
      try {
        const response = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          cache: "no-store",
        });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          if (message) message.textContent = "Progress is not available (HTTP " + response.status + ").";
          return; // stop: polling again will not help
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        body = await response.json();
        delay = INTERVAL_MS;
      } catch (err) {
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
        if (message) message.textContent = "Reconnecting…";
        window.setTimeout(poll, delay);
        return;
      }
      show(body);
      if (ACTIVE.indexOf(body.status) === -1) {
        if (!reloading) { reloading = true; window.location.reload(); }
        return;
      }
      window.setTimeout(poll, delay);
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  function start() {
    document.querySelectorAll("[data-evaluation-progress]").forEach(function (el) {
      if (ACTIVE.indexOf(el.dataset.status) !== -1 && el.dataset.url) watch(el);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
