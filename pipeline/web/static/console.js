// Small conveniences only; every page works without this file (the CSP forbids inline script anyway).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  // Filters apply as soon as a list is changed; text fields still wait for Enter or the button.
  const filters = document.getElementById("filters");
  if (filters) {
    for (const select of filters.querySelectorAll("select, input[type=checkbox], input[type=date]")) {
      select.addEventListener("change", () => filters.requestSubmit());
    }
  }
  // Notifying the sender needs a note to send: ask for one before the form goes.
  const decide = document.getElementById("decide-form");
  if (decide) {
    decide.addEventListener("submit", (event) => {
      const note = document.getElementById("note");
      const rejected = document.getElementById("d-rejected");
      if (rejected && rejected.checked && note && !note.value.trim()) {
        event.preventDefault();
        note.setCustomValidity("不予受理时请填写审核意见");
        note.reportValidity();
      } else if (note) {
        note.setCustomValidity("");
      }
    });
  }
});
