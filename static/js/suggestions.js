// Home page: a click on a suggested repository fills the URL field (without JS the link
// reloads the page with the field filled in).
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
})();
