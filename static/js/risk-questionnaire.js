// Shows the risk tier the server derives as the six factors are answered. The rule itself lives
// on the server (registry/risk.py); this only asks it.
(function () {
  const form = document.getElementById("register-form");
  if (!form) return;
  const factors = ["businessImpact", "customerExposure", "financialImpact",
                   "regulatoryScope", "dataSensitivity", "automationLevel"];
  const tierEl = document.getElementById("tier-preview-tier");
  const reasonEl = document.getElementById("tier-preview-reason");
  let pending = null;

  async function refresh() {
    const params = new URLSearchParams();
    for (const name of factors) {
      const field = form.elements[name];
      if (field && field.value) params.set(name, field.value);
    }
    const controller = new AbortController();
    if (pending) pending.abort();
    pending = controller;
    try {
      const response = await fetch(form.dataset.previewUrl + "?" + params, {
        signal: controller.signal, headers: { Accept: "application/json" },
      });
      const body = await response.json();
      tierEl.textContent = body.tier || "—";
      tierEl.className = body.tier ? "tier tier-" + body.tier : "";
      reasonEl.textContent = body.reason;
    } catch (err) {
      if (err.name !== "AbortError") reasonEl.textContent = "Could not compute the tier right now.";
    }
  }
  for (const name of factors) {
    const field = form.elements[name];
    if (field) field.addEventListener("change", refresh);
  }
  refresh();
})();
