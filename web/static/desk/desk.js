// The agent desk: sign-in, live queue (polled every second), conversation, reply,
// canned answers, transfer, end, matter search. No build step, no external scripts.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { me: null, role: "", csrf: "", current: null, lastId: 0, canned: [], timers: [] };

async function api(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": state.csrf }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== "/desk/api/login") { showLogin(); }
  if (!response.ok) { throw Object.assign(new Error(data.error || "请求失败"), { status: response.status }); }
  return data;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;  // dataset is read-only: copy its entries
  Object.assign(node, rest);
  Object.assign(node.dataset, dataset || {});
  for (const child of children) node.append(child);
  return node;
}

function minutes(seconds) {
  return seconds < 60 ? `${seconds}秒` : `${Math.floor(seconds / 60)}分${seconds % 60}秒`;
}

function showLogin() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
}

async function startDesk(me) {
  state.me = me.agent; state.role = me.role; state.csrf = me.csrf;
  $("login-view").hidden = true; $("desk-view").hidden = false;
  $("whoami").textContent = `工号 ${me.agent}（${me.role === "supervisor" ? "班长" : "坐席"}）`;
  $("supervisor-link").hidden = me.role !== "supervisor";
  const canned = await api("GET", "/desk/api/canned");
  state.canned = canned.answers;
  $("canned").replaceChildren(el("option", { value: "", textContent: "常用语…" }),
    ...canned.answers.map((a, i) => el("option", { value: String(i), textContent: a.title })));
  await heartbeat();
  state.timers.push(setInterval(heartbeat, 10000), setInterval(refresh, 1000));
  refresh();
}

async function heartbeat() {
  try { await api("POST", "/desk/api/presence", { online: $("online-toggle").checked }); } catch (e) { /* next beat */ }
}

async function refresh() {
  try {
    const data = await api("GET", "/desk/api/queue");
    renderQueue(data);
    if (state.current) await loadMessages();
  } catch (e) { /* shown on the next successful poll */ }
}

function renderQueue(data) {
  $("queue-count").textContent = data.queue.length;
  $("online-agents").textContent = `在线坐席：${data.online.join("、") || "无"}`;
  $("queue").replaceChildren(...data.queue.map((item) => el("li", { className: "queue-item", dataset: { id: item.id } },
    el("div", {}, el("strong", { textContent: `#${item.position} ${item.topic}` }), ` · ${item.channel_label}`),
    el("div", { className: "meta", textContent: `已等待 ${minutes(item.wait_seconds)}${item.work_order_number ? " · 工单 " + item.work_order_number : ""}` }),
    el("div", { textContent: item.summary }),
    el("button", { type: "button", className: "accept", textContent: "接入", onclick: () => accept(item.id) }))));
  $("mine").replaceChildren(...data.mine.map((item) => el("li", {
    className: "mine-item" + (state.current === item.id ? " selected" : ""), dataset: { id: item.id },
    onclick: () => openConversation(item.id) },
    el("strong", { textContent: `${item.topic} · ${item.channel_label}` }),
    el("div", { className: "meta", textContent: item.matter_name || "" }))));
  const others = data.online.filter((name) => name !== state.me);
  const chosen = $("transfer-to").value;
  $("transfer-to").replaceChildren(el("option", { value: "", textContent: "转给…" }),
    ...others.map((name) => el("option", { value: name, textContent: name, selected: name === chosen })));
}

async function accept(id) {
  try { await api("POST", `/desk/api/handoffs/${id}/accept`, {}); openConversation(id); refresh(); }
  catch (e) { alert(e.message); refresh(); }
}

function openConversation(id) {
  state.current = id; state.lastId = 0;
  $("messages").replaceChildren();
  $("reply-form").hidden = false;
  $("reply-error").textContent = "";
  loadMessages();
}

async function loadMessages() {
  const id = state.current;
  const data = await api("GET", `/desk/api/handoffs/${id}?after=${state.lastId}`);
  if (id !== state.current) return;
  const h = data.handoff;
  $("conversation-head").textContent = `${h.topic} · ${h.channel_label}${h.matter_name ? " · " + h.matter_name : ""} · ${h.summary}`;
  for (const m of data.messages) {
    // Two loads can overlap (a reply's reload and the timer's): each message once.
    if (m.id <= state.lastId) continue;
    const who = { citizen: "市民", bot: "机器人", agent: `坐席 ${m.agent}`, system: "" }[m.from];
    const item = el("li", { className: `msg ${m.from}`, dataset: { id: m.id } },
      el("span", { className: "who", textContent: who }), el("span", { className: "text", textContent: m.text }));
    if (m.masked) {
      item.append(el("button", { type: "button", className: "reveal", textContent: "显示号码", onclick: async () => {
        const shown = await api("POST", `/desk/api/handoffs/${id}/reveal`, { event_id: m.id });
        item.querySelector(".text").textContent = shown.text;
      } }));
    }
    $("messages").append(item);
    state.lastId = Math.max(state.lastId, m.id);
  }
  if (data.messages.length) $("messages").scrollTop = $("messages").scrollHeight;
  const active = h.status === "active" && h.agent === state.me;
  for (const id of ["reply-text", "reply-send", "end", "transfer"]) $(id).disabled = !active;
}

async function send(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return;
  try {
    await api("POST", `/desk/api/handoffs/${state.current}/reply`, { text });
    $("reply-text").value = ""; $("reply-error").textContent = "";
    loadMessages();
  } catch (e) { $("reply-error").textContent = e.message; }
}

async function search(event) {
  event.preventDefault();
  const q = $("search").value.trim();
  if (!q) return;
  const response = await fetch(`/api/matters/search?q=${encodeURIComponent(q)}&limit=8`);
  const data = await response.json();
  $("search-results").replaceChildren(...(data.results || []).map((r) => el("li", {},
    el("strong", { textContent: r.name }), el("div", { className: "meta", textContent: r.code }),
    el("button", { type: "button", textContent: "插入回复", onclick: () => {
      $("reply-text").value += `「${r.name}」`; } }))));
}

// A work order as every agent sees it (numbers masked). Whoever claims it (认领) may show
// it in full (audited) and close it; supervisors may do both for any order.
function orderItem(o) {
  const open = o.status === "open";
  const mine = o.claimed_by === state.me || state.role === "supervisor";
  const base = `/desk/api/work_orders/${encodeURIComponent(o.number)}`;
  const act = (fn) => async () => { try { await fn(); } catch (e) { alert(e.message); loadOrders(); } };
  const phone = el("span", { textContent: o.callback_phone || "无" });
  const text = el("div", { className: "order-text", textContent: o.message.slice(0, 200) });
  const item = el("li", { className: "order" },
    el("strong", { textContent: o.number }),
    el("div", { className: "meta" }, `${o.kind === "complaint" ? "投诉" : "留言"} · 回电 `, phone),
    text,
    el("div", { className: "meta", textContent: `${open ? "待处理" : "已处理"} · ${o.claimed_by ? "认领人 " + o.claimed_by : "未认领"}` }),
    el("button", { type: "button", className: "claim", textContent: "认领", hidden: !open || Boolean(o.claimed_by),
      onclick: act(async () => { item.replaceWith(orderItem(await api("POST", `${base}/claim`, {}))); }) }),
    el("button", { type: "button", className: "reveal", textContent: "显示号码", hidden: !mine,
      onclick: act(async () => {
        const shown = await api("POST", `${base}/reveal`, {});
        text.textContent = shown.message || ""; phone.textContent = shown.callback_phone || "无"; }) }),
    el("button", { type: "button", className: "close", textContent: "已处理", hidden: !open || !mine,
      onclick: act(async () => { await api("POST", `${base}/close`, {}); loadOrders(); }) }));
  return item;
}

async function loadOrders() {
  try {
    const data = await api("GET", "/desk/api/work_orders");
    $("orders").replaceChildren(...data.work_orders.slice(0, 20).map(orderItem));
  } catch (e) { /* next time */ }
}

$("order-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const number = $("order-number").value.trim();
  if (!number) { loadOrders(); return; }
  try { $("orders").replaceChildren(orderItem(await api("GET", `/desk/api/work_orders/${encodeURIComponent(number)}`))); }
  catch (e) { $("orders").replaceChildren(el("li", { textContent: e.message })); }
});

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const me = await api("POST", "/desk/api/login", { name: $("login-name").value, password: $("login-password").value });
    $("login-password").value = "";
    startDesk(me); loadOrders();
  } catch (e) { $("login-error").textContent = e.message; }
});
$("reply-form").addEventListener("submit", send);
$("reply-text").addEventListener("keydown", (e) => { if (e.key === "Enter" && e.ctrlKey) send(e); });
$("canned").addEventListener("change", () => {
  const answer = state.canned[Number($("canned").value)];
  if (answer) $("reply-text").value = answer.text;
  $("canned").value = "";
});
$("end").addEventListener("click", async () => {
  if (!confirm("结束本次会话并交还给机器人？")) return;
  try { await api("POST", `/desk/api/handoffs/${state.current}/end`, {}); refresh(); }
  catch (e) { $("reply-error").textContent = e.message; }
});
$("transfer").addEventListener("click", async () => {
  const to = $("transfer-to").value;
  if (!to) { $("reply-error").textContent = "请选择要转给的坐席"; return; }
  try { await api("POST", `/desk/api/handoffs/${state.current}/transfer`, { to }); state.current = null;
    $("reply-form").hidden = true; $("messages").replaceChildren(); refresh(); }
  catch (e) { $("reply-error").textContent = e.message; }
});
$("online-toggle").addEventListener("change", heartbeat);
$("search-form").addEventListener("submit", search);
$("logout").addEventListener("click", async () => { await api("POST", "/desk/api/logout", {}).catch(() => {}); showLogin(); });

api("GET", "/desk/api/me").then((me) => { startDesk(me); loadOrders(); }).catch(showLogin);
