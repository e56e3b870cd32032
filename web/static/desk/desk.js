// The agent desk: sign-in, an inbox for many chats (我的会话 / 排队中 / 全部, polled every
// second), the conversation, reply, canned answers (searchable, "/" in the reply box),
// matter answers, transfer (to an agent or back to the queue), notes and wrap-up tags,
// the citizen's earlier chats and work orders, end. No build step, no external scripts;
// the CSP allows no inline script or style, so everything is built here with the DOM.
"use strict";
const $ = (id) => document.getElementById(id);
const store = {
  get(key, fallback) { try { const v = localStorage.getItem(key); return v === null ? fallback : JSON.parse(v); } catch (e) { return fallback; } },
  set(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } },
};
const state = {
  me: null, role: "", csrf: "", current: null, currentHandoff: null, lastId: 0, canned: [], timers: [],
  tab: null, data: null, seen: {}, knownQueue: null, tags: [], retry: null, cannedIndex: 0,
  slashAt: -1,
};

async function api(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": state.csrf }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== "/desk/api/login") { showLogin(); }
  if (!response.ok) { throw Object.assign(new Error(data.error || "请求失败，请重试"), { status: response.status }); }
  return data;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;  // dataset is read-only: copy its entries
  for (const [key, value] of Object.entries(rest)) {
    if (key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  Object.assign(node.dataset, dataset || {});
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function duration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  if (seconds < 60) return `${seconds}秒`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}分${seconds % 60}秒`;
  return `${Math.floor(seconds / 3600)}小时${Math.floor((seconds % 3600) / 60)}分`;
}

function clock(at) {
  if (!at) return "";
  const d = new Date(at * 1000);
  const two = (n) => String(n).padStart(2, "0");
  const today = new Date().toDateString() === d.toDateString();
  return (today ? "" : `${d.getMonth() + 1}月${d.getDate()}日 `) + `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// A wait in colour AND words: under 1 minute fine, then 超过1分钟, 超过5分钟.
function waitLevel(seconds) {
  if (seconds >= 300) return { cls: "wait-late", words: "超过5分钟" };
  if (seconds >= 60) return { cls: "wait-warn", words: "超过1分钟" };
  return { cls: "wait-ok", words: "" };
}

// What tells two chats apart: the conversation's last 4 characters, channel and topic.
function label(h) { return `…${h.short} · ${h.channel_label} · ${h.topic}`; }

// -- inline errors with a retry (never alert()) -------------------------------------

function showError(message, retry) {
  $("desk-alert-text").textContent = message;
  state.retry = retry || null;
  $("desk-alert-retry").hidden = !retry;
  $("desk-alert").hidden = false;
}
function clearError() { $("desk-alert").hidden = true; state.retry = null; }

// -- sign-in, presence ----------------------------------------------------------------

function showLogin() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  state.current = null; state.currentHandoff = null; state.data = null;
  $("messages").replaceChildren();
  $("reply-form").hidden = true; $("panel").hidden = true; $("take-over").hidden = true;
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
  document.title = "一网通办 人工坐席工作台";
}

function onlineKey() { return `desk.online.${state.me}`; }

async function startDesk(me) {
  // a department user works on the orders dispatched to it, not on live chats
  if (me.role === "department") { location.href = "/desk/orders"; return; }
  state.me = me.agent; state.role = me.role; state.csrf = me.csrf;
  state.seen = store.get(`desk.seen.${me.agent}`, {});
  $("login-view").hidden = true; $("desk-view").hidden = false;
  const supervisor = me.role === "supervisor";
  $("whoami").textContent = `工号 ${me.agent}（${supervisor ? "班长" : "坐席"}）`;
  $("supervisor-link").hidden = !supervisor;
  $("tab-all").hidden = !supervisor;
  // Supervisors watch; they take chats only when they switch 接待 on themselves.
  $("online-toggle").checked = store.get(onlineKey(), !supervisor);
  $("notify").hidden = !("Notification" in window) || Notification.permission !== "default";
  try { state.canned = (await api("GET", "/desk/api/canned")).answers; } catch (e) { state.canned = []; }
  await heartbeat();
  state.timers.push(setInterval(heartbeat, 10000), setInterval(refresh, 1000));
  const wanted = Number((location.hash.match(/h=(\d+)/) || [])[1] || store.get(`desk.open.${me.agent}`, 0));
  await refresh();
  if (wanted) openConversation(wanted, { quiet: true });
  loadOrders();
}

async function heartbeat() {
  try { await api("POST", "/desk/api/presence", { online: $("online-toggle").checked }); } catch (e) { /* next beat */ }
}

// -- the inbox -----------------------------------------------------------------------

function unread(item) {
  const seen = state.seen[item.id] || 0;
  if (item.id === state.current && !document.hidden) return 0;
  return (item.citizen_ids || []).filter((id) => id > seen).length;
}

async function refresh() {
  let data;
  try { data = await api("GET", "/desk/api/queue"); } catch (e) { return; /* next poll */ }
  state.data = data;
  notifyNews(data);
  renderInbox(data);
  if (state.current) {
    try { await loadMessages(); } catch (e) {
      // taken over by a supervisor or moved to another agent meanwhile: say so, close it
      if (e.status === 403 || e.status === 404) { closeConversation(); showError("这个会话已不在您这里（可能已被班长接管或转接）。"); }
    }
  }
}

function chooseTab(tab) {
  state.tab = tab;
  store.set(`desk.tab.${state.me}`, tab);
  for (const name of ["mine", "queue", "all"]) {
    $(`tab-${name}`).setAttribute("aria-selected", String(name === tab));
    $(`panel-${name}`).hidden = name !== tab;
  }
  if (state.data) renderInbox(state.data);
}

function renderInbox(data) {
  if (!state.tab) chooseTab(data.mine.length ? "mine" : store.get(`desk.tab.${state.me}`, "queue") === "all" && state.role === "supervisor" ? "all" : "queue");
  $("queue-count").textContent = data.queue.length;
  $("mine-count").textContent = data.mine.length;
  $("all-count").textContent = (data.all || []).length;
  const others = data.online.filter((name) => name !== state.me);
  $("online-agents").textContent = `在线坐席：${data.online.join("、") || "无"}`;
  const now = data.now || Date.now() / 1000;

  $("queue").replaceChildren(...data.queue.map((item) => {
    const level = waitLevel(item.wait_seconds);
    return el("li", { className: `queue-item ${level.cls}`, dataset: { id: item.id } },
      el("div", { className: "item-head" }, el("strong", { textContent: `${item.position}. ${label(item)}` })),
      el("div", { className: `wait ${level.cls}` },
        `已等待 ${duration(item.wait_seconds)}`, level.words ? el("span", { className: "wait-flag", textContent: ` · ${level.words}` }) : null,
        item.work_order_number ? ` · 工单 ${item.work_order_number}` : ""),
      item.matter_name ? el("div", { className: "meta", textContent: `事项：${item.matter_name}` }) : null,
      el("div", { className: "summary", textContent: item.summary }),
      el("button", { type: "button", className: "accept", textContent: "接入", onclick: () => accept(item.id) }));
  }));

  let totalUnread = 0;
  $("mine").replaceChildren(...data.mine.map((item) => {
    const count = unread(item);
    totalUnread += count;
    const open = () => openConversation(item.id);
    return el("li", { className: "mine-item" + (state.current === item.id ? " selected" : "") + (count ? " has-unread" : ""), dataset: { id: item.id } },
      el("button", { type: "button", className: "open", onclick: open, "aria-current": state.current === item.id ? "true" : "false" },
        el("strong", { textContent: label(item) }),
        count ? el("span", { className: "unread", textContent: `${count}条未读` }) : null),
      el("div", { className: "meta", textContent: `接入 ${duration(now - (item.accepted_at || now))}${item.matter_name ? " · " + item.matter_name : ""}` }));
  }));

  $("all").replaceChildren(...(data.all || []).map((item) => el("li", {
    className: "all-item" + (state.current === item.id ? " selected" : ""), dataset: { id: item.id } },
    el("button", { type: "button", className: "open", onclick: () => openConversation(item.id) },
      el("strong", { textContent: label(item) })),
    el("div", { className: "meta", textContent: `坐席 ${item.agent} · 已进行 ${duration(now - (item.accepted_at || now))}` }))));

  const empty = { mine: "您现在没有进行中的会话。", queue: "没有市民在排队。", all: "现在没有进行中的会话。" }[state.tab];
  const shown = { mine: data.mine, queue: data.queue, all: data.all || [] }[state.tab] || [];
  $("inbox-empty").textContent = shown.length ? "" : empty;
  document.title = (data.queue.length + totalUnread ? `(${data.queue.length + totalUnread}) ` : "") + "一网通办 人工坐席工作台";

  const chosen = $("transfer-to").value;
  const options = [el("option", { value: "", textContent: "转接给…" }),
    el("option", { value: "queue", textContent: "退回队列（下一位空闲坐席接入）", selected: chosen === "queue" })];
  if (others.length) options.push(...others.map((name) => el("option", { value: name, textContent: `坐席 ${name}`, selected: name === chosen })));
  else options.push(el("option", { value: "", textContent: "（暂无其他在线坐席）", disabled: true }));
  $("transfer-to").replaceChildren(...options);
}

// A browser notification (only when permitted, and only when the page is not looked at)
// on a new chat in the line or a new message in one's own chats; the title counts both.
function notifyNews(data) {
  const ids = new Set(data.queue.map((q) => q.id));
  const fresh = state.knownQueue ? data.queue.filter((q) => !state.knownQueue.has(q.id)) : [];
  state.knownQueue = ids;
  const messages = data.mine.filter((m) => unread(m) > 0 && (m.citizen_ids || []).slice(-1)[0] > (state.notified?.[m.id] || 0));
  state.notified = state.notified || {};
  for (const m of data.mine) state.notified[m.id] = (m.citizen_ids || []).slice(-1)[0] || 0;
  if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
  for (const q of fresh) new Notification("新的排队会话", { body: label(q), tag: `queue-${q.id}` });
  for (const m of messages) new Notification("市民发来新消息", { body: label(m), tag: `chat-${m.id}` });
}

async function accept(id) {
  clearError();
  try {
    await api("POST", `/desk/api/handoffs/${id}/accept`, {});
    chooseTab("mine");
    openConversation(id);
    refresh();
  } catch (e) {
    showError(`接入失败：${e.message}`, e.status === 409 ? null : () => accept(id));
    refresh();
  }
}

// -- one conversation ------------------------------------------------------------------

function openConversation(id, { quiet = false } = {}) {
  state.current = id; state.lastId = 0; state.currentHandoff = null;
  store.set(`desk.open.${state.me}`, id);
  if (location.hash !== `#h=${id}`) history.replaceState(null, "", `#h=${id}`);
  $("messages").replaceChildren();
  $("reply-error").textContent = "";
  $("panel").hidden = false;
  loadMessages().catch((e) => {
    if (quiet) { closeConversation(); return; }
    showError(e.message, () => openConversation(id));
  });
  loadPanel();
  if (state.data) renderInbox(state.data);
}

function closeConversation() {
  state.current = null; state.currentHandoff = null;
  store.set(`desk.open.${state.me}`, 0);
  history.replaceState(null, "", location.pathname);
  $("messages").replaceChildren();
  $("reply-form").hidden = true; $("panel").hidden = true; $("take-over").hidden = true;
  $("conversation-title").textContent = "请从左侧接入或选择一个会话";
  $("conversation-summary").textContent = "";
}

function messageItem(m, id) {
  const who = { citizen: "市民", bot: "智能客服", agent: `坐席 ${m.agent}`, system: "" }[m.from];
  const item = el("li", { className: `msg ${m.from}${m.pressed ? " pressed" : ""}`, dataset: { id: m.id } },
    el("span", { className: "who" }, who, m.at ? el("time", { className: "at", textContent: ` ${clock(m.at)}` }) : null),
    m.pressed ? el("span", { className: "pressed-mark", textContent: "点了按钮：" }) : null,
    el("span", { className: "text", textContent: m.text }));
  if (m.buttons && m.buttons.length) {
    item.append(el("ul", { className: "offered", "aria-label": "机器人给出的按钮" },
      ...m.buttons.map((title) => el("li", { textContent: title }))));
  }
  if (m.masked) {
    const reveal = el("button", { type: "button", className: "reveal", textContent: "显示号码" });
    reveal.addEventListener("click", async () => {
      try {
        const shown = await api("POST", `/desk/api/handoffs/${id}/reveal`, { event_id: m.id });
        item.querySelector(".text").textContent = shown.text;
        reveal.remove();
      } catch (e) { showError(`显示号码失败：${e.message}`); }
    });
    item.append(reveal);
  }
  return item;
}

async function loadMessages() {
  const id = state.current;
  const data = await api("GET", `/desk/api/handoffs/${id}?after=${state.lastId}`);
  if (id !== state.current) return;
  const h = data.handoff;
  state.currentHandoff = h;
  $("conversation-title").textContent = label(h) + (h.matter_name ? ` · ${h.matter_name}` : "");
  $("conversation-summary").textContent = h.summary;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  for (const m of data.messages) {
    // Two loads can overlap (a reply's reload and the timer's): each message once.
    if (m.id <= state.lastId) continue;
    box.append(messageItem(m, id));
    state.lastId = Math.max(state.lastId, m.id);
  }
  if (data.messages.length && (atBottom || box.children.length === data.messages.length)) box.scrollTop = box.scrollHeight;
  if (!document.hidden) { state.seen[id] = Math.max(state.seen[id] || 0, state.lastId); store.set(`desk.seen.${state.me}`, state.seen); }
  const active = h.status === "active" && h.agent === state.me;
  $("reply-form").hidden = !active;
  for (const name of ["reply-text", "reply-send", "end", "transfer", "canned-open"]) $(name).disabled = !active;
  // A supervisor watching someone else's live chat may take it over.
  $("take-over").hidden = !(state.role === "supervisor" && h.status === "active" && h.agent !== state.me);
  if (h.status !== "active") $("conversation-summary").textContent = `（会话已结束）${h.summary}`;
  else if (h.agent !== state.me) $("conversation-summary").textContent = `（只读：坐席 ${h.agent} 正在处理）${h.summary}`;
}

async function send(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text) return;
  try {
    await api("POST", `/desk/api/handoffs/${state.current}/reply`, { text });
    $("reply-text").value = ""; $("reply-error").textContent = "";
    loadMessages();
  } catch (e) { $("reply-error").textContent = `没有发出：${e.message}`; }
}

// Text put where the cursor is (or replacing the selection), never over the draft.
function insertAtCursor(text, from, to) {
  const box = $("reply-text");
  const start = from ?? box.selectionStart ?? box.value.length;
  const end = to ?? box.selectionEnd ?? box.value.length;
  box.value = box.value.slice(0, start) + text + box.value.slice(end);
  const caret = start + text.length;
  box.focus();
  box.setSelectionRange(caret, caret);
}

// -- canned answers: a searchable list; "/" at a word's start in the reply box opens it --

function cannedMatches() {
  const q = $("canned-search").value.trim().toLowerCase();
  return state.canned.filter((a) => !q || a.title.toLowerCase().includes(q) || a.text.toLowerCase().includes(q));
}

function renderCanned() {
  const found = cannedMatches();
  state.cannedIndex = Math.min(state.cannedIndex, Math.max(0, found.length - 1));
  $("canned-list").replaceChildren(...(found.length ? found.map((a, i) => {
    const option = el("li", { role: "option", id: `canned-${i}`, className: i === state.cannedIndex ? "active" : "",
      "aria-selected": String(i === state.cannedIndex) },
      el("strong", { textContent: a.title }), el("span", { className: "meta", textContent: ` ${a.text}` }));
    option.addEventListener("mousedown", (e) => { e.preventDefault(); useCanned(a); });
    return option;
  }) : [el("li", { className: "muted", textContent: "没有匹配的常用语" })]));
  $("canned-search").setAttribute("aria-activedescendant", found.length ? `canned-${state.cannedIndex}` : "");
}

function openCanned(slashAt = -1) {
  state.slashAt = slashAt;
  $("canned-panel").hidden = false;
  $("canned-open").setAttribute("aria-expanded", "true");
  $("canned-search").value = "";
  state.cannedIndex = 0;
  renderCanned();
  $("canned-search").focus();
}

function closeCanned() {
  $("canned-panel").hidden = true;
  $("canned-open").setAttribute("aria-expanded", "false");
  state.slashAt = -1;
}

function useCanned(answer) {
  const slash = state.slashAt;
  closeCanned();
  if (slash >= 0 && $("reply-text").value[slash] === "/") insertAtCursor(answer.text, slash, slash + 1);
  else insertAtCursor(answer.text);
}

// -- matter answers: the catalog's short answer inserted into the reply ------------------

function matterAnswer(m) {
  const parts = [`「${m.name}」`];
  const materials = m.materials || [];
  if (materials.length) {
    const held = materials.filter((x) => x.held_by_government).length;
    parts.push(`需准备${materials.length}项材料${held ? `（其中${held}项政府已有，可免提交）` : ""}：${materials.map((x) => x.name).join("、")}。`);
  }
  const t = m.time_limit || {};
  if (t.promised_days) parts.push(`承诺${t.promised_days}个工作日内办结。`);
  if (m.fee) parts.push(m.fee.free ? "不收费。" : "需缴费，标准见办事指南。");
  if (m.department) parts.push(`办理部门：${m.department}。`);
  parts.push(`办事指南：${location.origin}/guide/${encodeURIComponent(m.code)}`);
  return parts.join("");
}

async function search(event) {
  event.preventDefault();
  const q = $("search").value.trim();
  if (!q) return;
  const response = await fetch(`/api/matters/search?q=${encodeURIComponent(q)}&limit=8`);
  const data = await response.json().catch(() => ({}));
  const results = data.results || [];
  $("search-results").replaceChildren(...(results.length ? results.map((r) => el("li", {},
    el("strong", { textContent: r.name }), el("div", { className: "meta", textContent: r.code }),
    el("button", { type: "button", className: "insert-name", textContent: "插入名称", onclick: () => insertAtCursor(`「${r.name}」`) }),
    " ",
    el("button", { type: "button", className: "insert-answer", textContent: "插入答复", onclick: async () => {
      try {
        const matter = await (await fetch(`/api/matters/${encodeURIComponent(r.code)}`)).json();
        insertAtCursor(matterAnswer(matter));
      } catch (e) { showError("事项信息暂时取不到，请稍后重试"); }
    } }))) : [el("li", { className: "muted", textContent: "没有找到，换个说法试试（如“社保卡”“居住证”）" })]));
}

// -- the side panel: tags, notes, earlier chats, work orders -------------------------

const STATUS_WORDS = { waiting: "排队中", active: "进行中", ended: "已结束", timed_out: "超时未接", cancelled: "已取消", no_agent: "无人在线" };
const ORDER_WORDS = { open: "待处理", closed: "已处理", cancelled: "已撤回" };

async function loadPanel() {
  const id = state.current;
  let data;
  try { data = await api("GET", `/desk/api/handoffs/${id}/context`); } catch (e) { return; }
  if (id !== state.current) return;
  const on = new Set(data.tags);
  $("tags").replaceChildren(...data.all_tags.map((tag) => {
    const chip = el("button", { type: "button", className: "chip" + (on.has(tag) ? " on" : ""), textContent: tag,
      "aria-pressed": String(on.has(tag)) });
    chip.addEventListener("click", async () => {
      try { await api("POST", `/desk/api/handoffs/${id}/notes`, { kind: "tag", text: tag, remove: on.has(tag) }); loadPanel(); }
      catch (e) { showError(`标签没有保存：${e.message}`); }
    });
    return chip;
  }));
  $("notes").replaceChildren(...(data.notes.length ? data.notes.map((n) => el("li", {},
    el("div", { className: "meta", textContent: `${n.agent} · ${clock(n.at)}` }), el("div", { textContent: n.text })))
    : [el("li", { className: "muted", textContent: "还没有备注" })]));
  $("earlier").replaceChildren(...(data.earlier.length ? data.earlier.map((h) => el("li", {},
    el("div", { textContent: `${clock(h.created_at)} · ${h.topic}` }),
    el("div", { className: "meta", textContent: `${STATUS_WORDS[h.status] || h.status}${h.agent ? " · 坐席 " + h.agent : ""}${h.rating ? " · 评价 " + h.rating + "分" : ""}` })))
    : [el("li", { className: "muted", textContent: "没有更早的人工会话" })]));
  $("citizen-orders").replaceChildren(...(data.orders.length ? data.orders.map((o) => el("li", {},
    el("div", { textContent: o.number }),
    el("div", { className: "meta", textContent: `${o.kind === "complaint" ? "投诉" : "留言"} · ${ORDER_WORDS[o.status] || o.status} · ${clock(o.created_at)}` })))
    : [el("li", { className: "muted", textContent: "没有工单" })]));
}

// -- work orders (every agent) ------------------------------------------------------------

// A work order as every agent sees it (numbers masked). Whoever claims it (认领) may show
// it in full (audited) and close it; supervisors may do both for any order.
function orderItem(o) {
  const open = o.status === "open";
  const mine = o.claimed_by === state.me || state.role === "supervisor";
  const base = `/desk/api/work_orders/${encodeURIComponent(o.number)}`;
  const act = (fn) => async () => { try { await fn(); } catch (e) { showError(e.message); loadOrders(); } };
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

// -- wiring ------------------------------------------------------------------------------

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
    state.tab = null; state.knownQueue = null;
    startDesk(me);
  } catch (e) { $("login-error").textContent = e.message; }
});
for (const name of ["mine", "queue", "all"]) $(`tab-${name}`).addEventListener("click", () => chooseTab(name));
$("reply-form").addEventListener("submit", send);
$("reply-text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.ctrlKey) { send(e); return; }
  if (e.key === "/") {
    const box = e.target;
    const before = box.value.slice(0, box.selectionStart);
    // "/" not inside a link, number or path (http://, 1/2): the canned answers
    if (!/[A-Za-z0-9:/._-]$/.test(before)) {
      setTimeout(() => openCanned(box.selectionStart - 1), 0);
    }
  }
});
$("canned-open").addEventListener("click", () => ($("canned-panel").hidden ? openCanned() : closeCanned()));
$("canned-search").addEventListener("input", () => { state.cannedIndex = 0; renderCanned(); });
$("canned-search").addEventListener("keydown", (e) => {
  const found = cannedMatches();
  if (e.key === "ArrowDown") { e.preventDefault(); state.cannedIndex = Math.min(found.length - 1, state.cannedIndex + 1); renderCanned(); }
  else if (e.key === "ArrowUp") { e.preventDefault(); state.cannedIndex = Math.max(0, state.cannedIndex - 1); renderCanned(); }
  else if (e.key === "Enter") { e.preventDefault(); if (found[state.cannedIndex]) useCanned(found[state.cannedIndex]); }
  else if (e.key === "Escape") { e.preventDefault(); closeCanned(); $("reply-text").focus(); }
});
$("end").addEventListener("click", async () => {
  if (!confirm("结束本次会话并交还给机器人？")) return;
  try { await api("POST", `/desk/api/handoffs/${state.current}/end`, {}); refresh(); }
  catch (e) { $("reply-error").textContent = e.message; }
});
$("transfer").addEventListener("click", async () => {
  const to = $("transfer-to").value;
  if (!to) { $("reply-error").textContent = "请选择转接给谁，或“退回队列”"; return; }
  try {
    await api("POST", `/desk/api/handoffs/${state.current}/transfer`, { to });
    closeConversation(); refresh();
  } catch (e) { $("reply-error").textContent = e.message; }
});
$("take-over").addEventListener("click", async () => {
  const id = state.current;
  try { await api("POST", `/desk/api/handoffs/${id}/take_over`, {}); chooseTab("mine"); openConversation(id); refresh(); }
  catch (e) { showError(`接管失败：${e.message}`, () => $("take-over").click()); }
});
$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  try { await api("POST", `/desk/api/handoffs/${state.current}/notes`, { kind: "note", text }); $("note-text").value = ""; loadPanel(); }
  catch (e) { showError(`备注没有保存：${e.message}`); }
});
$("desk-alert-retry").addEventListener("click", () => { const retry = state.retry; clearError(); if (retry) retry(); });
$("desk-alert-close").addEventListener("click", clearError);
$("notify").addEventListener("click", async () => {
  try { await Notification.requestPermission(); } finally { $("notify").hidden = Notification.permission !== "default"; }
});
$("online-toggle").addEventListener("change", () => { store.set(onlineKey(), $("online-toggle").checked); heartbeat(); });
$("search-form").addEventListener("submit", search);
$("logout").addEventListener("click", async () => { await api("POST", "/desk/api/logout", {}).catch(() => {}); showLogin(); });
document.addEventListener("visibilitychange", () => { if (!document.hidden && state.data) renderInbox(state.data); });

api("GET", "/desk/api/me").then(startDesk).catch(showLogin);
