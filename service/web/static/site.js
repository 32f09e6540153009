// kneeguard pages: sortable tables, and buttons/forms that call the JSON API with the CSRF token.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  function cellValue(row, index, kind) {
    const cell = row.children[index];
    const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    return kind === "num" ? parseFloat(raw) || 0 : raw.toLowerCase();
  }

  function sortBy(table, th) {
    const index = Array.from(th.parentNode.children).indexOf(th);
    const kind = th.dataset.sort;
    const descending = th.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("th[aria-sort]").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = cellValue(a, index, kind), y = cellValue(b, index, kind);
      return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
    });
    rows.forEach((r) => body.appendChild(r));
  }

  function flash(text) {
    const el = document.getElementById("flash");
    el.textContent = text;
    el.hidden = false;
    setTimeout(() => { el.hidden = true; }, 4000);
  }

  async function call(spec, body, then) {
    const [method, url] = spec.split(" ");
    const headers = { "X-CSRF-Token": csrf() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, { method, headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) {
      const err = await res.json().catch(() => ({}));
      flash((err.error && err.error.message) || ("Failed: " + res.status));
      return;
    }
    if (then === "reload") window.location.reload();
    else if (then) window.location.assign(then);
  }

  function formBody(form) {
    const out = {};
    form.querySelectorAll("input, select").forEach((el) => {
      if (!el.name) return;
      out[el.name] = el.type === "checkbox" ? el.checked : el.value;
    });
    return out;
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("table.sortable th[data-sort]").forEach((th) => {
      th.addEventListener("click", () => sortBy(th.closest("table"), th));
    });
    document.querySelectorAll("button[data-api]").forEach((btn) => {
      btn.addEventListener("click", (ev) => {
        ev.preventDefault();
        if (btn.dataset.confirm && !window.confirm(btn.dataset.confirm)) return;
        call(btn.dataset.api, undefined, btn.dataset.then);
      });
    });
    document.querySelectorAll("form[data-api]").forEach((form) => {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        call(form.dataset.api, formBody(form), form.dataset.then);
      });
    });
  });
})();
