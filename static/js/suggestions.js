// Home page: a click on a suggested repository fills the URL field (without JS the link
// reloads the page with the field filled in); focus goes where a refused submit needs it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.suggestion[data-url]");
    if (!link) return;
    var field = document.querySelector('input[name="repository_url"]');
    if (!field) return;
    event.preventDefault();
    field.value = link.getAttribute("data-url");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });

  // After a refused submit, focus lands on the first invalid field (or on the form's error
  // message when the refusal is not about a field: rate limit, full queue).
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector('.race-form [aria-invalid="true"]');
    var alert = document.querySelector(".race-form .form-errors");
    if (invalid) {
      invalid.focus();
    } else if (alert) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
  });
})();
