// Plan page: ask before irreversible steps (forms carrying data-confirm). Served from /static/
// because the Content-Security-Policy allows no inline script.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A measure's edit form is not in the page: when "แก้ไขมาตรการนี้" opens, fetch it from the
// server (plans:measure_edit) into the slot. Without script, or when the fetch fails, the slot's
// link opens the same form as a page of its own. "toggle" does not bubble: listen in capture.
document.addEventListener("toggle", function (event) {
  var details = event.target;
  if (!details.open || !details.querySelector) {
    return;
  }
  var slot = details.querySelector(".measure-editor-slot[data-editor-url]");
  if (!slot || slot.getAttribute("data-loading")) {
    return;
  }
  var link = slot.querySelector("a");
  slot.setAttribute("data-loading", "1");
  slot.setAttribute("aria-busy", "true");
  fetch(slot.getAttribute("data-editor-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then(function (response) {
      // A refusal (403 page) or a lapsed session (sent to log in): show it as a page.
      if (!response.ok || response.redirected) {
        throw new Error("editor not available");
      }
      return response.text();
    })
    .then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var form = holder.querySelector("form.measure-form");
      if (!form) {
        throw new Error("no form in the answer");
      }
      slot.replaceWith(form);
      var first = form.querySelector("select, textarea, input:not([type=hidden])");
      if (first) {
        first.focus();
      }
    })
    .catch(function () {
      if (link) {
        window.location.assign(link.href);
      }
    });
}, true);
