// The supervisor's wallboard: waits against the SLA (over it marked in colour and words),
// live chats with their agent and duration (watch read-only, take over), each agent's
// load, refreshed every 3 s; daily statistics and the reveal log (names and times) every
// 15 s. A file of its own: the desk's CSP allows no inline script.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { csrf: "", watching: null, lastId: 0, ticks: 0 };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("aria-") || key === "role") node.setAttribute(key, value); else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  if (seconds < 60) return `${seconds}秒`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}分${seconds % 60}秒`;
  return `${Math.floor(seconds / 3600)}小时${Math.floor((seconds % 3600) / 60)}分`;
}
function when(at) { return at ? new Date(at * 1000).toLocaleString("zh-CN", { hour12: false }) : "-"; }
function label(h) { return `…${h.short} · ${h.channel_label}`; }
function row(cells, className = "") {
  const tr = el("tr", { className });
  for (const c of cells) tr.append(el("td", {}, ...(Array.isArray(c) ? c : [c ?? "-"])));
  return tr;
}

async function get(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (response.status === 401) { location.href = "/desk"; throw new Error("sign in"); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || "请求失败");
  return data;
}
async function post(path, body) {
  const response = await fetch(path, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf }, body: JSON.stringify(body || {}) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || "请求失败");
  return data;
}

function renderBoard(b) {
  $("queue-length").textContent = b.waiting.length;
  $("sla-seconds").textContent = b.sla_seconds;
  $("over-sla").textContent = b.over_sla;
  $("sla-card").classList.toggle("alarm", b.over_sla > 0);
  $("longest-wait").textContent = duration(b.longest_wait_seconds);
  $("agents-online").textContent = b.agents_online.length;
  $("agent-names").textContent = b.agents_online.join("、") || "无人接待";
  $("live-count").textContent = b.live.length;
  $("waiting").replaceChildren(...b.waiting.map((w) => row([
    label(w), w.matter_name || w.topic,
    [duration(w.wait_seconds), w.over_sla ? el("span", { className: "sla-flag", textContent: ` · 超过${b.sla_seconds}秒时限` }) : ""],
  ], w.over_sla ? "over-sla" : "")));
  $("waiting-empty").textContent = b.waiting.length ? "" : "没有市民在排队。";
  $("agents").replaceChildren(...b.agents.map((a) => row([
    a.agent + (a.role === "supervisor" ? "（班长）" : ""), a.online ? "接待中" : "未接待", String(a.chats_now), String(a.handled_today)])));
  $("live").replaceChildren(...b.live.map((h) => row([
    `${label(h)} · ${h.topic}`, h.agent, duration(h.duration_seconds),
    [el("button", { type: "button", className: "secondary", textContent: "旁听", onclick: () => watch(h) }), " ",
     el("button", { type: "button", textContent: "接管", onclick: () => takeOver(h.id) })],
  ], state.watching && state.watching.id === h.id ? "selected" : "")));
  $("live-empty").textContent = b.live.length ? "" : "现在没有进行中的会话。";
  $("overdue").replaceChildren(...(b.overdue_orders || []).map((o) => row([
    o.number, o.category_name, o.department, when(o.due_at) + " · 已超期",
    o.urged_at ? `已催办 ${when(o.urged_at)}`
      : el("button", { type: "button", textContent: "催办", onclick: () => urge(o.number) }),
  ])));
  $("overdue-empty").textContent = (b.overdue_orders || []).length ? "" : "没有超期的工单。";
  $("reveals").replaceChildren(...b.reveals.map((r) => row([when(r.at), r.agent, r.what_label])));
  $("updated").textContent = `更新于 ${new Date().toLocaleTimeString("zh-CN", { hour12: false })}`;
}

async function loadStats() {
  const data = await get("/desk/api/supervisor/overview");
  $("open-orders").textContent = data.open_work_orders;
  $("days").replaceChildren(...data.days.map((d) => row([d.day, d.handoffs, d.answered, d.timed_out, d.work_orders, d.ratings, d.satisfaction].map((v) => (v === null || v === undefined ? "-" : String(v))))));
}

async function load() {
  try {
    renderBoard(await get("/desk/api/supervisor/wallboard"));
    if (state.ticks++ % 5 === 0) await loadStats();
    if (state.watching) await loadWatch();
    $("error").textContent = "";
  } catch (e) { $("error").textContent = e.message === "sign in" ? "" : `看板暂时没有更新：${e.message}`; }
}

function watch(h) {
  state.watching = h; state.lastId = 0;
  $("watch").hidden = false;
  $("watch-title").textContent = `旁听：${label(h)} · ${h.topic} · 坐席 ${h.agent}`;
  $("watch-messages").replaceChildren();
  loadWatch();
  $("watch").scrollIntoView({ block: "nearest" });
}

async function loadWatch() {
  const h = state.watching;
  const data = await get(`/desk/api/handoffs/${h.id}?after=${state.lastId}`);
  if (state.watching !== h) return;
  for (const m of data.messages) {
    if (m.id <= state.lastId) continue;
    const who = { citizen: "市民", bot: "智能客服", agent: `坐席 ${m.agent}`, system: "" }[m.from];
    $("watch-messages").append(el("li", {}, el("span", { className: "meta", textContent: `${who} ${m.at ? new Date(m.at * 1000).toLocaleTimeString("zh-CN", { hour12: false }) : ""}：` }),
      (m.pressed ? "点了按钮：" : "") + m.text));
    state.lastId = Math.max(state.lastId, m.id);
  }
}

async function urge(number) {
  try {
    await post(`/desk/api/orders/${encodeURIComponent(number)}/urge`, { note: "班长看板催办" });
    await load();
  } catch (e) { $("error").textContent = `催办失败：${e.message}`; }
}

async function takeOver(id) {
  try {
    await post(`/desk/api/handoffs/${id}/take_over`);
    location.href = `/desk#h=${id}`;
  } catch (e) { $("error").textContent = `接管失败：${e.message}`; }
}

$("watch-take-over").addEventListener("click", () => state.watching && takeOver(state.watching.id));
$("watch-close").addEventListener("click", () => { state.watching = null; $("watch").hidden = true; });
get("/desk/api/me").then((me) => { state.csrf = me.csrf; load(); setInterval(load, 3000); }).catch(() => {});
