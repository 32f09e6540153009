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

  // Copy a shown-once secret (an invite link, a key); without the clipboard API (a page not
  // served over https or localhost) fall back to selecting the text and the copy command.
  async function copy(input) {
    try {
      // a browser that neither grants nor refuses (a pending permission) must not hang the button
      const late = new Promise((_, no) => setTimeout(() => no(new Error("timeout")), 1500));
      await Promise.race([navigator.clipboard.writeText(input.value), late]);
    } catch (e) {
      input.select();
      if (!document.execCommand("copy")) { flash("Select the text and copy it by hand."); return; }
    }
    input.dataset.copied = "1";
    flash("Copied to the clipboard.");
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
    document.querySelectorAll("form[data-confirm]:not([data-api])").forEach((form) => {
      form.addEventListener("submit", (ev) => {
        if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
      });
    });
    document.querySelectorAll("button[data-copy]").forEach((btn) => {
      btn.addEventListener("click", () => copy(document.querySelector(btn.dataset.copy)));
    });
    document.querySelectorAll("form[data-api]").forEach((form) => {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        call(form.dataset.api, formBody(form), form.dataset.then);
      });
    });
  });
})();

// /me: upload files one request each, so every file gets its own progress bar and its own result
// (created, already there, or why it was skipped), then offer to show the new runs.
(function () {
  "use strict";
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  function row(list, name) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const out = document.createElement("span");
    out.className = "result";
    li.append(label, " ", bar, " ", out);
    list.appendChild(li);
    return { li, bar, out };
  }

  function describe(status, body) {
    if (status === 202) {
      const made = (body.activities || []).length, dup = (body.duplicates || []).length;
      const skipped = (body.skipped || []).map((s) => s.file + ": " + s.reason);
      const parts = [];
      if (made) parts.push(made === 1 ? "1 run added" : made + " runs added");
      if (dup) parts.push(dup === 1 ? "already here" : dup + " already here");
      if (skipped.length) parts.push("skipped " + skipped.join("; "));
      return { ok: true, text: parts.join(", ") };
    }
    const err = (body && body.error) || {};
    const why = Array.isArray(err.details) ? err.details.map((d) => d.reason).join("; ") : "";
    const text = status === 413 ? "too large for one upload: split it or zip fewer files"
      : (err.message || "failed (" + status + ")") + (why ? " — " + why : "");
    return { ok: false, text };
  }

  function send(url, file, ui) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) ui.bar.value = 100 * e.loaded / e.total; };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        const r = describe(xhr.status, body);
        ui.bar.value = 100;
        ui.out.textContent = r.ok ? "✓ " + r.text : "✗ " + r.text;
        ui.li.className = r.ok ? "ok" : "failed";
        resolve(r.ok);
      };
      xhr.onerror = () => { ui.out.textContent = "✗ the connection dropped; try again"; ui.li.className = "failed"; resolve(false); };
      const data = new FormData();
      data.append("file", file, file.name);
      xhr.send(data);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("upload");
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const files = Array.from(document.getElementById("files").files);
      const list = document.getElementById("upload-results");
      if (!files.length) { row(list, "").out.textContent = "Choose one or more files first."; return; }
      for (const f of files) await send(form.dataset.url, f, row(list, f.name));
      document.getElementById("upload-done").hidden = false;
      form.dataset.finished = String(files.length);
    });
  });

  // Run times in the reader's own time zone (the server only knows UTC).
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("time.local").forEach((t) => {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
    });
  });
})();
