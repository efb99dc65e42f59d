// oasim dashboard: form checks, runs with progress and cancel, results. No framework.
"use strict";
(() => {
  const page = document.body.dataset.page;
  const task = document.body.dataset.task;
  const form = document.getElementById("form");
  const uploadForm = document.getElementById("upload-form");
  const runButton = document.getElementById("run");
  const cancelButton = document.getElementById("cancel");
  const status = document.getElementById("status");
  const progress = document.getElementById("progress");
  const result = document.getElementById("result");
  let pollTimer = null;
  let checkTimer = null;
  let shownJob = null;

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

  function values() {
    const out = {};
    for (const el of form.querySelectorAll("input[name], select[name]")) out[el.name] = el.value;
    return out;
  }

  function showErrors(data) {
    for (const box of form.querySelectorAll(".field, fieldset")) {
      box.classList.remove("invalid");
      const msg = box.querySelector(":scope > .msg");
      if (msg) msg.textContent = "";
    }
    const fields = (data && data.fields) || {};
    for (const [path, message] of Object.entries(fields)) {
      const box = form.querySelector(`.field[data-path="${CSS.escape(path)}"]`);
      if (box) {
        box.classList.add("invalid");
        box.querySelector(".msg").textContent = message;
      } else {
        (data.general = data.general || []).push(`${path}: ${message}`);
      }
    }
    const list = document.getElementById("form-errors");
    list.innerHTML = ((data && data.general) || []).map((m) => `<li>${esc(m)}</li>`).join("");
    const n = Object.keys(fields).length + ((data && data.general) || []).length;
    runButton.disabled = n > 0 || isRunning();
    if (n > 0) status.textContent = `${n} problem${n > 1 ? "s" : ""} in the form`;
    else if (!isRunning()) status.textContent = "";
  }

  async function post(url, body, headers) {
    const response = await fetch(url, {method: "POST", body, headers: headers || {"Content-Type": "application/json"}, credentials: "same-origin"});
    let data = {};
    try { data = await response.json(); } catch (e) { data = {error: `HTTP ${response.status}`}; }
    return {status: response.status, data};
  }

  async function check() {
    const {data} = await post(`/api/${page}/validate`, JSON.stringify(values()));
    if (data.error) status.textContent = data.error; else showErrors(data);
  }

  function isRunning() { return !cancelButton.hidden; }

  function setRunning(running) {
    cancelButton.hidden = !running;
    runButton.disabled = running;
    document.body.classList.toggle("running", running);
  }

  async function poll() {
    const response = await fetch("/api/job", {credentials: "same-origin"});
    const data = await response.json();
    if (!data.job) { setRunning(false); return; }
    progress.innerHTML = data.progress.map((m) => `<li>${esc(m)}</li>`).join("");
    if (data.state === "running") {
      setRunning(true);
      status.textContent = `running… ${data.elapsed_s.toFixed(0)} s`;
      pollTimer = setTimeout(poll, 400);
      return;
    }
    setRunning(false);
    if (data.task !== task || shownJob === data.job) return;
    shownJob = data.job;
    if (data.state === "done") {
      status.textContent = `done in ${data.elapsed_s.toFixed(1)} s`;
      result.innerHTML = data.html;
    } else if (data.state === "cancelled") {
      status.textContent = "cancelled";
    } else {
      status.textContent = "failed";
      result.innerHTML = `<article class="result"><h2>Run failed</h2><pre class="error">${esc(data.error)}</pre></article>`;
    }
  }

  function startPolling() {
    clearTimeout(pollTimer);
    setRunning(true);
    status.textContent = "starting…";
    progress.innerHTML = "";
    pollTimer = setTimeout(poll, 200);
  }

  async function run() {
    if (form) {
      const {status: code, data} = await post(`/api/${page}/run`, JSON.stringify(values()));
      if (code === 422) { showErrors(data); return; }
      if (code !== 200) { status.textContent = data.error || `HTTP ${code}`; return; }
    } else {
      const input = document.getElementById("upload-file");
      const msg = uploadForm.querySelector(".msg");
      const box = uploadForm.querySelector(".field");
      msg.textContent = "";
      box.classList.remove("invalid");
      const file = input.files[0];
      const fail = (text) => { msg.textContent = text; box.classList.add("invalid"); };
      if (!file) { fail("choose a .zip of a lot folder"); return; }
      if (file.size > Number(input.dataset.maxBytes)) { fail(`${file.size} bytes: allowed at most ${input.dataset.maxBytes}`); return; }
      const {status: code, data} = await post("/api/qc/upload", file, {"Content-Type": "application/zip"});
      if (code !== 200) { fail(data.error || `HTTP ${code}`); return; }
    }
    startPolling();
  }

  function renumber(fieldset, from, to) {
    const repeat = fieldset.dataset.repeat;
    const old = `${repeat}[${from}]`;
    const now = `${repeat}[${to}]`;
    fieldset.dataset.path = now;
    fieldset.querySelector("legend").textContent = fieldset.querySelector("legend").textContent.replace(/\d+$/, String(to + 1));
    for (const el of fieldset.querySelectorAll("[data-path], [name], [id], label[for]")) {
      for (const attr of ["data-path", "name", "id", "for"]) {
        const v = el.getAttribute(attr);
        if (v && v.includes(old)) el.setAttribute(attr, v.replace(old, now));
      }
    }
  }

  function setupRepeats() {
    const rows = (repeat) => [...form.querySelectorAll(`fieldset[data-repeat="${CSS.escape(repeat)}"]`)];
    form.addEventListener("click", (ev) => {
      const target = ev.target;
      if (target.classList.contains("add-row")) {
        const repeat = target.dataset.repeat;
        const all = rows(repeat);
        const template = form.querySelector(`template[data-template="${CSS.escape(repeat)}"]`);
        if (all.length) {
          const copy = all.at(-1).cloneNode(true);
          renumber(copy, all.length - 1, all.length);
          all.at(-1).after(copy);
        } else {
          template.before(template.content.firstElementChild.cloneNode(true));
        }
        check();
      } else if (target.classList.contains("remove-row")) {
        const fs = target.closest("fieldset");
        const repeat = fs.dataset.repeat;
        fs.remove();
        rows(repeat).forEach((row, k) => renumber(row, Number(row.dataset.path.match(/\[(\d+)\]$/)[1]), k));
        check();
      }
    });
  }

  if (form) {
    setupRepeats();
    form.addEventListener("input", () => { clearTimeout(checkTimer); checkTimer = setTimeout(check, 250); });
    form.addEventListener("change", () => { clearTimeout(checkTimer); check(); });
    form.addEventListener("submit", (ev) => { ev.preventDefault(); run(); });
  }
  runButton.addEventListener("click", run);
  cancelButton.addEventListener("click", async () => {
    await post("/api/job/cancel", "{}");
    clearTimeout(pollTimer);
    poll();
  });
  poll();
})();
