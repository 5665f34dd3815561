// Plan page: ask before irreversible steps (forms carrying data-confirm). Served from /static/
// because the Content-Security-Policy allows no inline script.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
