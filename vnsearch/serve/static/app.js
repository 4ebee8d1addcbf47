// The search page. Document text only ever reaches the page through textContent: highlights are
// built from the API's code-point spans as text nodes and <mark> elements, never as HTML.
"use strict";

const PAGE_SIZE = 10;
const DEBOUNCE_MS = 250;
const FACET_NAMES = {
  author: "Tác giả", tags: "Chủ đề", category: "Chuyên mục", source: "Nguồn", year: "Năm", month: "Tháng",
};
const WHERE_FACETS = ["category", "source"]; // filtered with where=FIELD=VALUE
const FIELD_NAMES = { summary: "Tóm tắt", body: "Nội dung", captions: "Chú thích ảnh" };

const $ = (id) => document.getElementById(id);
let seq = 0; // the newest request wins; older answers are dropped
let timer = null;

// Append `text` to `parent` with `spans` ([start, end) in code points) as <mark>.
function marked(parent, text, spans) {
  const cps = Array.from(text || "");
  let pos = 0;
  const sorted = (spans || []).slice().sort((a, b) => a[0] - b[0]);
  for (const [s, e] of sorted) {
    if (s < pos || e <= s) continue;
    if (s > pos) parent.append(document.createTextNode(cps.slice(pos, s).join("")));
    parent.append(el("mark", null, cps.slice(s, e).join("")));
    pos = e;
  }
  if (pos < cps.length) parent.append(document.createTextNode(cps.slice(pos).join("")));
  return parent;
}

// -- state <-> URL ------------------------------------------------------------------------------
function readState() {
  const u = new URLSearchParams(location.search);
  return {
    q: u.get("q") || "",
    author: u.getAll("author"),
    tag: u.getAll("tag"),
    where: u.getAll("where"),
    since: u.get("since") || "",
    until: u.get("until") || "",
    sort: u.get("sort") || "relevance",
    page: Math.max(1, parseInt(u.get("page") || "1", 10) || 1),
    doc: u.get("doc") || "",
  };
}

function toQuery(st, withDoc) {
  const u = new URLSearchParams();
  if (st.q) u.set("q", st.q);
  for (const a of st.author) u.append("author", a);
  for (const t of st.tag) u.append("tag", t);
  for (const w of st.where) u.append("where", w);
  if (st.since) u.set("since", st.since);
  if (st.until) u.set("until", st.until);
  if (st.sort && st.sort !== "relevance") u.set("sort", st.sort);
  if (st.page > 1) u.set("page", String(st.page));
  if (withDoc && st.doc) u.set("doc", st.doc);
  return u;
}

let state = readState();

function go(changes, replace) {
  state = Object.assign({}, state, changes);
  const url = "?" + toQuery(state, true).toString();
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

function hasSearch(st) {
  return st.q.trim() || st.author.length || st.tag.length || st.where.length || st.since || st.until;
}

// -- API -----------------------------------------------------------------------------------------
async function api(path, params) {
  const res = await fetch(path + "?" + params.toString(), { headers: { Accept: "application/json" } });
  let body;
  try { body = await res.json(); } catch (e) { body = { error: "phản hồi không hợp lệ" }; }
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

// -- results -------------------------------------------------------------------------------------
function docHref(id) {
  const u = toQuery(state, false);
  u.set("doc", id);
  return "?" + u.toString();
}

function metaLine(parent, item) {
  const parts = [];
  if (item.date) parts.push(formatDate(item.date));
  if (item.author) parts.push(item.author);
  parts.forEach((p, i) => { if (i) parent.append(" · "); parent.append(p); });
  for (const t of item.tags || []) {
    parent.append(" ");
    parent.append(el("span", { class: "tag" }, t));
  }
  return parent;
}

function formatDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
}

function renderHit(hit) {
  const title = (hit.highlights || []).find((h) => h.field === "title");
  const snip = (hit.highlights || []).find((h) => h.field !== "title");
  const link = el("a", { href: docHref(hit.id), class: "hit-title", "data-id": hit.id });
  if (title) marked(link, title.text, title.spans);
  else link.append(hit.title || "(không có tiêu đề)");
  link.addEventListener("click", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    go({ doc: hit.id });
  });
  const li = el("li", { class: "hit" }, el("h2", null, link), metaLine(el("p", { class: "meta" }), hit));
  const p = el("p", { class: "snippet" });
  if (snip) marked(p, snip.text, snip.spans);
  else p.append(hit.snippet || "");
  li.append(p);
  return li;
}

function renderFacets(facets) {
  const box = $("facets");
  box.replaceChildren();
  for (const name of Object.keys(FACET_NAMES)) {
    const counts = facets[name];
    if (!counts || !Object.keys(counts).length) continue;
    const ul = el("ul", { class: "facet" });
    const entries = Object.entries(counts);
    if (name === "year" || name === "month") entries.sort((a, b) => b[0].localeCompare(a[0]));
    for (const [value, count] of entries.slice(0, 12)) {
      const b = el("button", { type: "button", class: "facet-value", "data-facet": name, "data-value": value },
        name === "month" ? value.split("-").reverse().join("/") : value,
        el("span", { class: "count" }, String(count)));
      b.addEventListener("click", () => applyFacet(name, value));
      ul.append(el("li", null, b));
    }
    box.append(el("section", { "aria-label": FACET_NAMES[name] }, el("h3", null, FACET_NAMES[name]), ul));
  }
}

function lastDay(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function applyFacet(name, value) {
  if (name === "author" && !state.author.includes(value)) go({ author: state.author.concat([value]), page: 1 });
  else if (name === "tags" && !state.tag.includes(value)) go({ tag: state.tag.concat([value]), page: 1 });
  else if (WHERE_FACETS.includes(name)) {
    const w = `${name}=${value}`;
    if (!state.where.includes(w)) go({ where: state.where.concat([w]), page: 1 });
  } else if (name === "year") go({ since: `${value}-01-01`, until: `${value}-12-31`, page: 1 });
  else if (name === "month") {
    const [y, m] = value.split("-").map(Number);
    go({ since: `${value}-01`, until: `${value}-${String(lastDay(y, m)).padStart(2, "0")}`, page: 1 });
  }
}

function renderActive() {
  const box = $("active");
  box.replaceChildren();
  const chips = [];
  for (const a of state.author) chips.push(["Tác giả", a, () => go({ author: state.author.filter((x) => x !== a), page: 1 })]);
  for (const t of state.tag) chips.push(["Chủ đề", t, () => go({ tag: state.tag.filter((x) => x !== t), page: 1 })]);
  for (const w of state.where) {
    const [field, ...rest] = w.split("=");
    chips.push([FACET_NAMES[field] || field, rest.join("="), () => go({ where: state.where.filter((x) => x !== w), page: 1 })]);
  }
  for (const [label, text, remove] of chips) {
    const b = el("button", { type: "button", class: "chip", "aria-label": `Bỏ lọc ${label}: ${text}` },
      `${label}: ${text}`, el("span", { "aria-hidden": "true" }, " ×"));
    b.addEventListener("click", remove);
    box.append(b);
  }
}

async function runSearch() {
  const mine = ++seq;
  const st = state;
  renderActive();
  if (!hasSearch(st)) {
    $("results").replaceChildren();
    $("facets").replaceChildren();
    $("status").textContent = "Nhập từ khóa để tìm trong các thông cáo báo chí.";
    $("suggestion").hidden = true;
    $("pager").hidden = true;
    return;
  }
  const params = toQuery(st, false);
  params.delete("page");
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String((st.page - 1) * PAGE_SIZE));
  params.set("facets", Object.keys(FACET_NAMES).join(","));
  $("status").textContent = "Đang tìm…";
  let res;
  try {
    res = await api("/api/search", params);
  } catch (e) {
    if (mine !== seq) return;
    $("status").textContent = "Lỗi: " + e.message;
    $("status").className = "error";
    $("results").replaceChildren();
    $("pager").hidden = true;
    return;
  }
  if (mine !== seq) return;
  $("status").className = "";
  const first = res.offset + 1;
  const last = res.offset + res.hits.length;
  $("status").textContent = res.total === 0
    ? `Không tìm thấy kết quả nào${st.q ? ` cho “${st.q}”` : ""}.`
    : `${res.total.toLocaleString("vi-VN")} kết quả` +
      (res.hits.length ? ` (${first}–${last})` : "") + ` · ${Math.round(res.took_ms)} ms`;
  const sug = $("suggestion");
  if (res.suggestion) {
    const link = $("suggestion-link");
    link.textContent = res.suggestion;
    link.href = "?" + toQuery(Object.assign({}, st, { q: res.suggestion, page: 1 }), false).toString();
    sug.hidden = false;
  } else sug.hidden = true;
  $("results").replaceChildren(...res.hits.map(renderHit));
  $("results").start = first;
  renderFacets(res.facets || {});
  const pages = Math.max(1, Math.ceil(res.total / PAGE_SIZE));
  $("pager").hidden = res.total <= PAGE_SIZE;
  $("page-info").textContent = `Trang ${st.page} / ${pages}`;
  $("prev").disabled = st.page <= 1;
  $("next").disabled = st.page >= pages;
}

// -- document view -------------------------------------------------------------------------------
async function showDocument(id) {
  const mine = ++seq;
  const q = state.q;
  let doc, hl, sim;
  try {
    [doc, hl] = await Promise.all([
      api("/api/show", new URLSearchParams({ id })),
      api("/api/highlight", new URLSearchParams({ id, q })),
    ]);
  } catch (e) {
    if (mine !== seq) return;
    $("doc-title").textContent = "Lỗi: " + e.message;
    $("doc-meta").replaceChildren();
    $("doc-text").replaceChildren();
    return;
  }
  if (mine !== seq) return;
  const byField = Object.fromEntries(hl.highlights.map((h) => [h.field, h]));
  const title = $("doc-title");
  title.replaceChildren();
  if (byField.title) marked(title, byField.title.text, byField.title.spans);
  else title.textContent = doc.title || "(không có tiêu đề)";
  const meta = $("doc-meta");
  meta.replaceChildren();
  metaLine(meta, doc);
  if (doc.source) meta.append(" · " + doc.source);
  if (/^https?:\/\//i.test(doc.url || "")) {
    meta.append(" · ");
    meta.append(el("a", { href: doc.url, rel: "noopener noreferrer", target: "_blank" }, "Bài gốc"));
  }
  const text = $("doc-text");
  text.replaceChildren();
  for (const field of ["summary", "body", "captions"]) {
    const h = byField[field];
    if (!h) continue;
    text.append(marked(el("div", { class: "doc-" + field, "aria-label": FIELD_NAMES[field] }), h.text, h.spans));
  }
  title.focus();
  try {
    sim = await api("/api/similar", new URLSearchParams({ id, limit: "5" }));
  } catch (e) {
    sim = { copies: null, hits: [] };
  }
  if (mine !== seq) return;
  fillLinks("copies", sim.copies || [], (c) => c.similarity === null ? "bản sao của bản sao" : `giống ${Math.round(c.similarity * 100)}%`);
  fillLinks("similar", sim.hits || [], () => "");
}

function fillLinks(name, items, note) {
  const ul = $(name);
  ul.replaceChildren(...items.map((it) => {
    const a = el("a", { href: docHref(it.id), "data-id": it.id }, it.title || it.id);
    a.addEventListener("click", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      ev.preventDefault();
      go({ doc: it.id });
    });
    const extra = [it.date ? formatDate(it.date) : "", note(it)].filter(Boolean).join(" · ");
    return el("li", null, a, extra ? el("span", { class: "meta" }, " " + extra) : null);
  }));
  $(name + "-box").hidden = items.length === 0;
}

// -- wiring --------------------------------------------------------------------------------------
function render() {
  if (document.activeElement !== $("q")) $("q").value = state.q;
  $("sort").value = state.sort;
  $("since").value = /^\d{4}-\d{2}-\d{2}$/.test(state.since) ? state.since : "";
  $("until").value = /^\d{4}-\d{2}-\d{2}$/.test(state.until) ? state.until : "";
  document.title = (state.q ? state.q + " — " : "") + "vnsearch";
  const docMode = Boolean(state.doc);
  $("doc-view").hidden = !docMode;
  $("results-pane").hidden = docMode;
  if (docMode) showDocument(state.doc);
  else runSearch();
}

function init() {
  const q = $("q");
  q.value = state.q;
  q.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => go({ q: q.value, page: 1, doc: "" }, true), DEBOUNCE_MS);
  });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    go({ q: q.value, page: 1, doc: "" });
  });
  $("sort").addEventListener("change", (ev) => go({ sort: ev.target.value, page: 1 }));
  $("since").addEventListener("change", (ev) => go({ since: ev.target.value, page: 1 }));
  $("until").addEventListener("change", (ev) => go({ until: ev.target.value, page: 1 }));
  $("prev").addEventListener("click", () => go({ page: state.page - 1 }));
  $("next").addEventListener("click", () => go({ page: state.page + 1 }));
  $("suggestion-link").addEventListener("click", (ev) => {
    ev.preventDefault();
    const s = $("suggestion-link").textContent;
    q.value = s;
    go({ q: s, page: 1 });
  });
  $("back").addEventListener("click", () => go({ doc: "" }));
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && document.activeElement !== q && !/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) {
      ev.preventDefault();
      q.focus();
      q.select();
    } else if (ev.key === "Escape" && state.doc) {
      go({ doc: "" });
    }
  });
  window.addEventListener("popstate", () => { state = readState(); q.value = state.q; render(); });
  render();
  if (!state.doc) q.focus();
}

init();
