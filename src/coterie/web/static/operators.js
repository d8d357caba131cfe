// Groups & Users: whole rows open what they stand for, and the Create operator form goes step by step.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr.row-link");
    if (!row || event.target.closest("a, button, input, select, label")) return;
    window.location.href = row.getAttribute("data-href");
  });

  function showStep(form, index) {
    var steps = form.querySelectorAll("[data-step]");
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    form.querySelectorAll("[data-step-marker]").forEach(function (marker, i) {
      marker.classList.toggle("active", i === index);
      marker.classList.toggle("done", i < index);
    });
    form.dataset.current = String(index);
    var last = index === steps.length - 1;
    form.querySelectorAll("[data-back]").forEach(function (b) { b.hidden = index === 0; });
    form.querySelectorAll("[data-next]").forEach(function (b) { b.hidden = last; });
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.hidden = !last; });
    var first = steps[index].querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  // Next checks the mandatory fields of the step it leaves, so each step says what is missing.
  function stepValid(step) {
    var ok = true;
    step.querySelectorAll("input, select, textarea").forEach(function (field) {
      var valid = field.checkValidity();
      field.classList.toggle("is-invalid", !valid);
      if (!valid && ok) { field.reportValidity(); ok = false; }
    });
    return ok;
  }

  document.querySelectorAll("form[data-wizard]").forEach(function (form) {
    var start = parseInt(form.dataset.start || "0", 10);
    showStep(form, start);
    // Enter in a field moves to the next step; only the last step's Enter creates.
    form.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.target.tagName !== "INPUT") return;
      var next = form.querySelector("[data-next]");
      if (next && !next.hidden) { event.preventDefault(); next.click(); }
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-next], [data-back]");
      if (!button) return;
      event.preventDefault();
      var steps = form.querySelectorAll("[data-step]");
      var at = parseInt(form.dataset.current || "0", 10);
      if (button.hasAttribute("data-next")) {
        if (stepValid(steps[at])) showStep(form, Math.min(at + 1, steps.length - 1));
      } else {
        showStep(form, Math.max(at - 1, 0));
      }
    });
  });
})();
