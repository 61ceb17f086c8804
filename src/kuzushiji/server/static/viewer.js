// The kuzushiji viewer: a scan with its boxes (zoom, pan), the text in reading order linked both ways,
// top-5 candidates on hover, and corrections saved as they are made. Plain JS, no build step.
"use strict";
const $ = (id) => document.getElementById(id);
const LOW = 0.5;  // characters read with less confidence than this are highlighted
const state = { pages: [], page: null, sel: -1, view: { s: 1, x: 0, y: 0 }, adding: false, waiting: new Set() };

const user = () => $("user").value.trim() || "anonymous";
$("user").value = localStorage.getItem("kz-user") || "";
$("user").onchange = () => localStorage.setItem("kz-user", $("user").value.trim());

function say(msg, bad) { $("message").textContent = msg; $("message").style.color = bad ? "#f88" : "#fc6"; }

async function api(method, url, body) {
  const opt = { method, headers: {} };
  if (body instanceof FormData) opt.body = body;
  else if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers["Content-Type"] = "application/json"; }
  const r = await fetch(url, opt);
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (r.status === 401 && url !== "/api/login") $("login").hidden = false;  // serve --auth: ask for a token
  if (!r.ok) {
    const err = new Error(typeof data === "object" ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : data);
    err.status = r.status;
    throw err;
  }
  return data;
}

$("login").onsubmit = async (ev) => {
  ev.preventDefault();
  try { await api("POST", "/api/login", { token: $("token").value.trim() }); location.reload(); }
  catch (e) { say(e.message, true); }
};

// pages -------------------------------------------------------------------------------------------
async function loadPages() {
  state.pages = (await api("GET", "/api/pages")).pages;
  const nav = $("pages");
  nav.innerHTML = "";
  for (const p of state.pages) {
    const d = document.createElement("div");
    d.dataset.id = p.id;
    d.className = state.page && state.page.image_id === p.id ? "current" : "";
    const dup = state.pages.filter((q) => q.name === p.name).length > 1;
    d.innerHTML = `<div class="name">${esc(p.name)}</div><span class="status">${p.status}${p.status === "done" ? ` · ${p.n_chars} chars · ${p.n_corrections} fixes` : ""}</span>`
      + (dup ? ` <span class="dup">duplicate name</span>` : "") + `<button class="del" title="delete this page">×</button>`;
    d.title = p.error || p.id;
    d.onclick = () => openPage(p.id);
    d.querySelector(".del").onclick = (ev) => { ev.stopPropagation(); deletePage(p); };
    nav.appendChild(d);
  }
  const left = [...state.waiting].filter((id) => { const p = state.pages.find((q) => q.id === id); return p && !["done", "failed"].includes(p.status); });
  if (state.waiting.size) $("progress").textContent = `${state.waiting.size - left.length}/${state.waiting.size} read`;
  if (state.waiting.size && !left.length) {
    const first = [...state.waiting][0];
    state.waiting.clear();
    if (!state.page) openPage(first);
  }
  return left.length;
}

async function deletePage(p) {
  if (!confirm(`Delete ${p.name} with its corrections? This cannot be undone.`)) return;
  try {
    await api("DELETE", `/api/pages/${p.id}`);
    if (state.page && state.page.image_id === p.id) { state.page = null; $("scan").hidden = true; $("empty").hidden = false; draw(); }
    say(`${p.name} deleted`);
    loadPages();
  } catch (e) { say(e.message, true); }
}

function uploaded(r) {
  r.pages.forEach((p) => state.waiting.add(p.id));
  const dups = r.pages.filter((p) => p.duplicate_of && p.duplicate_of.length).map((p) => p.name);
  say(`${r.pages.length} page(s) uploaded` + (dups.length ? ` — already here before: ${dups.join(", ")}` : ""), dups.length > 0);
  poll();
}

$("manifest-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const url = $("manifest-url").value.trim();
  if (!url) return;
  say("fetching the manifest's pages…");
  try { uploaded(await api("POST", "/api/manifests", { url })); $("manifest-url").value = ""; } catch (e) { say(e.message, true); }
};

$("download").onchange = (ev) => {
  const [what, fmt] = ev.target.value.split(":");
  ev.target.value = "";
  if (!fmt) return;
  if (what === "page" && !state.page) { say("open a page first", true); return; }
  const a = document.createElement("a");
  a.href = what === "page" ? `/api/pages/${state.page.image_id}/export.${fmt}` : `/api/export/${fmt}.zip`;
  a.download = "";
  document.body.appendChild(a); a.click(); a.remove();
};

function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

$("upload").onchange = async (ev) => {
  const fd = new FormData();
  for (const f of ev.target.files) fd.append("files", f);
  ev.target.value = "";
  say("uploading…");
  try { uploaded(await api("POST", "/api/pages", fd)); } catch (e) { say(e.message, true); }
};

async function poll() { if (await loadPages()) setTimeout(poll, 700); }

async function openPage(id, keepView) {
  const p = await api("GET", `/api/pages/${id}`);
  const fresh = !state.page || state.page.image_id !== id;
  state.page = p;
  if (fresh) state.sel = -1;
  if (p.status !== "done") { say(`${p.name}: ${p.status} ${p.error || ""}`, p.status === "failed"); }
  const img = $("scan");
  img.hidden = false; $("empty").hidden = true;
  if (fresh) {
    img.onload = () => { if (!keepView) fit(); };
    img.src = `/api/pages/${id}/image`;
    img.style.width = p.width + "px";
    img.style.height = p.height + "px";
  }
  document.querySelectorAll("#pages > div").forEach((d) => d.classList.toggle("current", d.dataset.id === id));
  const w = p.chars.map((c) => c.box[2]).sort((a, b) => a - b);
  state.labelBase = w.length ? w[w.length >> 1] * 0.6 : 24;  // one label size per page
  draw();
  apply();
  showHistory();
}

async function showHistory() {
  const list = $("history");
  list.innerHTML = "";
  if (!state.page || state.page.status !== "done") return;
  const { corrections } = await api("GET", `/api/pages/${state.page.image_id}/corrections`);
  const show = (xs) => xs.map((c) => (c.deleted ? "∅" : esc(c.char))).join("");
  for (const k of corrections.slice().reverse()) {
    const li = document.createElement("li");
    li.className = k.undone ? "undone" : "";
    li.innerHTML = `${esc(k.user_name)} · ${esc(k.at.replace("T", " ").slice(0, 16))} · ${esc(k.action)}: ${show(k.before)} → ${show(k.after)}`;
    list.appendChild(li);
  }
}

// drawing -----------------------------------------------------------------------------------------
function cls(c) { return (c.score < LOW && !c.corrected && !c.reviewed ? " low" : "") + (c.corrected ? " corrected" : ""); }

function draw() {
  const p = state.page, boxes = $("boxes"), text = $("text");
  boxes.innerHTML = ""; text.innerHTML = "";
  if (!p) return;
  p.chars.forEach((c, i) => {
    const b = document.createElement("div");
    b.className = "box" + cls(c) + (i === state.sel ? " selected" : "");
    b.dataset.i = i;
    Object.assign(b.style, { left: c.box[0] + "px", top: c.box[1] + "px", width: c.box[2] + "px", height: c.box[3] + "px" });
    b.innerHTML = `<span class="label">${esc(c.char)}</span><span class="handle"></span>`;
    b.onmouseenter = (ev) => tip(c, ev);
    b.onmousemove = (ev) => tip(c, ev);
    b.onmouseleave = () => { $("tip").hidden = true; };
    b.onmousedown = (ev) => boxDown(ev, i);
    boxes.appendChild(b);
  });
  for (const col of p.columns) {
    const line = document.createElement("span");
    line.className = "col";
    for (const i of col.chars) {
      const c = p.chars[i], s = document.createElement("span");
      s.className = "ch" + cls(c) + (i === state.sel ? " selected" : "");
      s.textContent = c.char;
      s.dataset.i = i;
      s.title = `${c.code} ${(c.score * 100).toFixed(0)}%`;
      s.onclick = () => { select(i); center(i); };
      line.appendChild(s);
    }
    text.appendChild(line);
  }
  editor();
}

function tip(c, ev) {
  const t = $("tip");
  t.innerHTML = "<table>" + c.candidates.slice(0, 5).map((a) => `<tr><td>${esc(a.char)}</td><td>${a.code}</td><td>${(a.prob * 100).toFixed(1)}%</td></tr>`).join("") + "</table>";
  t.style.left = ev.clientX + 14 + "px"; t.style.top = ev.clientY + 14 + "px";
  t.hidden = false;
}

function select(i) {
  state.sel = i;
  document.querySelectorAll(".box, .ch").forEach((e) => e.classList.toggle("selected", +e.dataset.i === i));
  const s = document.querySelector(`.ch[data-i="${i}"]`);
  if (s) s.scrollIntoView({ block: "nearest", inline: "nearest" });
  editor();
}

function editor() {
  const c = state.page && state.page.chars[state.sel];
  $("editor").hidden = !c;
  if (!c) return;
  $("sel-char").textContent = c.char;
  $("sel-code").textContent = c.code;
  $("sel-info").textContent = `${(c.score * 100).toFixed(0)}%` + (c.corrected ? " · corrected" : "");
  $("candidates").innerHTML = "";
  for (const a of c.candidates.slice(0, 5)) {
    const b = document.createElement("button");
    b.innerHTML = `${esc(a.char)} <small>${(a.prob * 100).toFixed(0)}%</small>`;
    b.dataset.code = a.code;
    b.onclick = () => edit({ code: a.code });
    $("candidates").appendChild(b);
  }
}

// view: zoom and pan ------------------------------------------------------------------------------
function apply() {
  const v = state.view, st = $("stage");
  st.style.transform = `translate(${v.x}px, ${v.y}px) scale(${v.s})`;
  // labels: the page's one size, kept between 11 and 28 screen pixels at any zoom
  const px = Math.min(Math.max(state.labelBase || 24, 11 / v.s), 28 / v.s);
  st.style.setProperty("--label", `${px.toFixed(1)}px`);
}
function fit() {
  const r = $("viewer").getBoundingClientRect(), p = state.page;
  const s = Math.min(r.width / p.width, r.height / p.height) * 0.98;
  state.view = { s, x: (r.width - p.width * s) / 2, y: (r.height - p.height * s) / 2 };
  apply();
}
function center(i) {
  const c = state.page.chars[i], r = $("viewer").getBoundingClientRect(), v = state.view;
  v.x = r.width / 2 - (c.box[0] + c.box[2] / 2) * v.s; v.y = r.height / 2 - (c.box[1] + c.box[3] / 2) * v.s;
  apply();
}
function toImage(ev) {
  const r = $("viewer").getBoundingClientRect(), v = state.view;
  return [(ev.clientX - r.left - v.x) / v.s, (ev.clientY - r.top - v.y) / v.s];
}
$("viewer").addEventListener("wheel", (ev) => {
  ev.preventDefault();
  const r = $("viewer").getBoundingClientRect(), v = state.view, k = Math.exp(-ev.deltaY * 0.0015);
  const mx = ev.clientX - r.left, my = ev.clientY - r.top;
  v.x = mx - (mx - v.x) * k; v.y = my - (my - v.y) * k; v.s *= k;
  apply();
}, { passive: false });

let drag = null;  // {kind: pan|move|resize|draw, ...}
$("viewer").addEventListener("mousedown", (ev) => {
  document.activeElement?.blur();  // keys (Ctrl+Z, Delete) go to the viewer again
  if (drag || !state.page) return;
  if (state.adding) { const [x, y] = toImage(ev); drag = { kind: "draw", x0: x, y0: y }; return; }
  drag = { kind: "pan", sx: ev.clientX, sy: ev.clientY, vx: state.view.x, vy: state.view.y };
});
function boxDown(ev, i) {
  document.activeElement?.blur();
  if (state.adding) return;
  ev.stopPropagation();
  if (state.sel !== i) { select(i); drag = { kind: "pan", sx: ev.clientX, sy: ev.clientY, vx: state.view.x, vy: state.view.y }; return; }
  const c = state.page.chars[i];
  drag = { kind: ev.target.classList.contains("handle") ? "resize" : "move", i, sx: ev.clientX, sy: ev.clientY, box: [...c.box], moved: false };
}
window.addEventListener("mousemove", (ev) => {
  if (!drag) return;
  const v = state.view, dx = ev.clientX - (drag.sx ?? 0), dy = ev.clientY - (drag.sy ?? 0);
  if (drag.kind === "pan") { v.x = drag.vx + dx; v.y = drag.vy + dy; apply(); return; }
  if (drag.kind === "draw") {
    const [x, y] = toImage(ev), d = $("draft");
    drag.box = [Math.min(x, drag.x0), Math.min(y, drag.y0), Math.abs(x - drag.x0), Math.abs(y - drag.y0)];
    Object.assign(d.style, { left: drag.box[0] + "px", top: drag.box[1] + "px", width: drag.box[2] + "px", height: drag.box[3] + "px" });
    d.hidden = false;
    return;
  }
  const b = [...drag.box];
  if (drag.kind === "move") { b[0] += dx / v.s; b[1] += dy / v.s; } else { b[2] = Math.max(4, b[2] + dx / v.s); b[3] = Math.max(4, b[3] + dy / v.s); }
  drag.now = b; drag.moved = true;
  const el = document.querySelector(`.box[data-i="${drag.i}"]`);
  Object.assign(el.style, { left: b[0] + "px", top: b[1] + "px", width: b[2] + "px", height: b[3] + "px" });
});
window.addEventListener("mouseup", async () => {
  const d = drag; drag = null;
  if (!d) return;
  if (d.kind === "draw") {
    $("draft").hidden = true; setAdding(false);
    if (!d.box || d.box[2] < 4 || d.box[3] < 4) return;
    const ch = prompt("Character in the new box:");
    if (ch) await change("POST", `/api/pages/${state.page.image_id}/chars`, { user: user(), char: ch.trim(), box: boxObj(d.box) });
  } else if ((d.kind === "move" || d.kind === "resize") && d.moved) {
    await edit({ box: boxObj(d.now.map((v) => Math.max(0, v))) });
  }
});
const boxObj = (b) => ({ x: b[0], y: b[1], w: b[2], h: b[3] });

// corrections -------------------------------------------------------------------------------------
async function change(method, url, body) {
  try {
    const r = await api(method, url, body);
    await openPage(state.page.image_id, true);
    loadPages();
    say("saved");
    return r;
  } catch (e) {
    say(e.status === 409 ? `${e.message} — reloaded` : e.message, true);
    if (e.status === 409) await openPage(state.page.image_id, true);
  }
}
async function edit(fields) {
  const c = state.page.chars[state.sel];
  const keep = c.id;
  await change("PATCH", `/api/pages/${state.page.image_id}/chars/${c.id}`, { version: c.version, user: user(), ...fields });
  reselect(keep);
}
function reselect(id) { const i = state.page.chars.findIndex((c) => c.id === id); if (i >= 0) select(i); }
$("type-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const v = $("type-char").value.trim();
  $("type-char").value = "";
  $("type-char").blur();
  if (v) { await edit({ char: v }); nextLow(); }
};
function readingOrder() { return state.page ? state.page.columns.flatMap((k) => k.chars) : []; }
function step(d) {
  const order = readingOrder(), k = order.indexOf(state.sel);
  const i = order[Math.min(order.length - 1, Math.max(0, k < 0 ? 0 : k + d))];
  if (i !== undefined) { select(i); center(i); }
}
function nextLow() {
  const order = readingOrder(), k = order.indexOf(state.sel);
  const rest = order.slice(k + 1).concat(order.slice(0, k + 1));
  const i = rest.find((j) => cls(state.page.chars[j]).includes("low"));
  if (i === undefined) { say("no low-confidence character left on this page"); return; }
  select(i); center(i);
}
async function accept() {  // the reading is right: recorded as reviewed, then on to the next doubtful one
  const c = state.page.chars[state.sel];
  await edit({ code: c.code });
  nextLow();
}
$("delete").onclick = async () => {
  const c = state.page.chars[state.sel];
  await change("DELETE", `/api/pages/${state.page.image_id}/chars/${c.id}?version=${c.version}&user=${encodeURIComponent(user())}`);
  state.sel = -1; draw();
};
async function move(step) {
  const p = state.page, c = p.chars[state.sel], col = p.columns.find((k) => k.chars.includes(state.sel));
  const ids = col.chars.map((i) => p.chars[i].id), versions = col.chars.map((i) => p.chars[i].version);
  const k = ids.indexOf(c.id), j = k + step;
  if (j < 0 || j >= ids.length) return;
  [ids[k], ids[j]] = [ids[j], ids[k]];
  [versions[k], versions[j]] = [versions[j], versions[k]];
  await change("PUT", `/api/pages/${p.image_id}/order`, { user: user(), chars: ids, versions });
  reselect(c.id);
}
$("up").onclick = () => move(-1);
$("down").onclick = () => move(1);
async function undo() { if (state.page) await change("POST", `/api/pages/${state.page.image_id}/undo`, { user: user() }); }
$("undo").onclick = undo;
function setAdding(on) { state.adding = on; $("add-box").classList.toggle("on", on); $("viewer").style.cursor = on ? "crosshair" : ""; }
$("add-box").onclick = () => setAdding(!state.adding);
$("show-labels").onchange = (ev) => $("stage").classList.toggle("hide-labels", !ev.target.checked);
window.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT") return;
  if ((ev.ctrlKey || ev.metaKey) && ev.key === "z") { ev.preventDefault(); undo(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey || !state.page) return;
  if (ev.key === "Delete" && state.sel >= 0) $("delete").click();
  else if (ev.key === "n") { ev.preventDefault(); nextLow(); }
  else if (ev.key === "ArrowDown") { ev.preventDefault(); step(1); }
  else if (ev.key === "ArrowUp") { ev.preventDefault(); step(-1); }
  else if (ev.key === "Enter" && state.sel >= 0) { ev.preventDefault(); accept(); }
  else if (ev.key.length === 1 && ev.key !== " " && state.sel >= 0) {  // type to replace
    ev.preventDefault();
    $("type-char").value = ev.key;
    $("type-char").focus();
  }
});

loadPages().then(() => { const id = location.hash.slice(1) || (state.pages.find((p) => p.status === "done") || {}).id; if (id) openPage(id); });
window.addEventListener("hashchange", () => openPage(location.hash.slice(1)));
