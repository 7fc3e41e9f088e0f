// Upload progress for the artifact form: the form is sent with XMLHttpRequest so the bar can
// follow the bytes as they leave the browser; the server answers JSON (a redirect to the
// version page, or the form's errors by field). Without script the form posts as usual.
(function () {
  "use strict";
  const form = document.querySelector("form[data-upload]");
  if (!form || !window.FormData) return;
  const box = form.querySelector("[data-upload-progress]");
  const bar = form.querySelector("progress");
  const percent = form.querySelector("[data-upload-percent]");
  const message = form.querySelector("[data-upload-message]");
  const errors = form.querySelector("[data-upload-errors]");
  const button = form.querySelector("button[type=submit]");

  function show(value, text) {
    bar.value = value;
    bar.textContent = value + "%";
    percent.textContent = value + "%";
    message.textContent = text || "";
  }

  function showErrors(body) {
    form.querySelectorAll(".error[data-from-upload]").forEach(function (el) { el.remove(); });
    errors.textContent = "";
    Object.keys(body).forEach(function (name) {
      const texts = body[name].map(function (e) { return typeof e === "string" ? e : e.message; });
      const input = form.querySelector("[name='" + name + "']");
      const target = input ? input.closest(".field") : null;
      texts.forEach(function (text) {
        const el = document.createElement("div");
        el.className = "error";
        el.dataset.fromUpload = "1";
        el.textContent = text;
        (target || errors).appendChild(el);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        const value = Math.floor((e.loaded / e.total) * 100);
        show(value, value < 100 ? "sending…" : "hashing and storing…");
      }
    });
    request.addEventListener("load", function () {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (e) { body = {}; }
      if (request.status === 201 && body.redirect) {
        show(100, "stored; the scan runs in the background");
        window.location.assign(body.redirect);
        return;
      }
      box.hidden = true;
      button.disabled = false;
      showErrors(Object.keys(body).length ? body : { __all__: ["The upload failed (HTTP " + request.status + ")."] });
    });
    request.addEventListener("error", function () {
      box.hidden = true;
      button.disabled = false;
      showErrors({ __all__: ["The connection was lost before the upload finished; nothing was stored."] });
    });
    box.hidden = false;
    button.disabled = true;
    show(0, "sending…");
    request.send(new FormData(form));
  });
})();
