/* /desk/orders: the 12345 cycle of work orders (web/desk/orders.py). Lists orders with
   filters, shows one with its history, and offers the steps the API says this account
   may take now. Plain DOM; every text from the server goes in as text. */
"use strict";

const STEP_NAMES = {
  registered: "受理", classify: "分类", dispatch: "派单", feedback: "反馈",
  callback: "回访", close: "办结", archive: "归档", urge: "催办",
};
const ROLE_NAMES = { agent: "坐席", supervisor: "班长", department: "部门" };
const state = { csrf: "", me: null, choices: null, selected: null };

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.entries(props || {}).forEach(([key, value]) => {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  });
  children.forEach((child) => node.append(child));
  return node;
}

/* Times are the city's (Asia/Shanghai), whatever the browser's zone, as deadlines are. */
const CITY_TIME = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23",
});

function parts(ts) {
  const found = {};
  CITY_TIME.formatToParts(new Date(ts * 1000)).forEach((p) => { found[p.type] = p.value; });
  return found;
}

function when(ts) {
  if (!ts) return "";
  const p = parts(ts);
  return `${Number(p.month)}月${Number(p.day)}日 ${p.hour}:${p.minute}`;
}

/* A deadline at midnight is the end of the day before: "12月9日 24:00前". */
function dueText(ts) {
  if (!ts) return "";
  const p = parts(ts);
  if (p.hour === "00" && p.minute === "00") {
    const q = parts(ts - 1);
    return `${Number(q.month)}月${Number(q.day)}日 24:00前`;
  }
  return `${when(ts)}前`;
}

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    options.headers["X-CSRF-Token"] = state.csrf;
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (!response.ok) {
    const error = new Error(data.error || `请求失败（${response.status}）`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function showError(message) { $("orders-error").textContent = message || ""; }

function fillSelect(select, items, keep) {
  const current = keep ? select.value : "";
  while (select.options.length > 1) select.remove(1);
  items.forEach(([value, label]) => select.append(el("option", { value, text: label })));
  select.value = current;
}

function listQuery() {
  const query = new URLSearchParams();
  if ($("filter-state").value) query.set("state", $("filter-state").value);
  if ($("filter-department").value) query.set("department", $("filter-department").value);
  if ($("filter-overdue").checked) query.set("overdue", "1");
  const text = query.toString();
  return "/desk/api/orders" + (text ? "?" + text : "");
}

function orderLine(order) {
  const button = el("button", { type: "button", "data-number": order.number });
  if (state.selected === order.number) button.setAttribute("aria-current", "true");
  button.append(el("span", { class: "number", text: order.number }),
    el("span", { class: "badge", text: order.state_name }));
  if (order.overdue) button.append(el("span", { class: "badge overdue", text: "已超期" }));
  const parts = [order.kind === "complaint" ? "投诉" : "留言",
    order.category_name || `建议：${order.suggested_category_name || "-"}`];
  if (order.department) parts.push(order.department);
  if (order.due_at) parts.push(`时限 ${dueText(order.due_at)}`);
  button.append(el("span", { class: "line", text: parts.join(" · ") }),
    el("span", { class: "line", text: (order.message || "").slice(0, 60) }));
  button.addEventListener("click", () => openOrder(order.number));
  return el("li", {}, button);
}

async function loadList() {
  const data = await api("GET", listQuery());
  state.choices = data;
  state.me = data.me;
  fillSelect($("filter-state"), data.states.map((s) => [s.id, s.name]), true);
  fillSelect($("filter-department"), data.departments.map((d) => [d.name, d.name]), true);
  $("filter-department-label").hidden = data.me.role === "department";
  const list = $("orders-list");
  list.replaceChildren(...data.orders.map(orderLine));
  $("orders-count").textContent = `（${data.orders.length}）`;
  $("orders-empty").hidden = data.orders.length > 0;
}

function fact(list, term, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(el("dt", { text: term }), el("dd", { text: String(value) }));
}

function noteField(label, required) {
  const area = el("textarea", { name: "note", maxlength: "2000" });
  if (required) area.required = true;
  return el("label", { class: "wide" }, label, area);
}

function actionForm(action, order) {
  const form = el("form", { "data-action": action });
  const choices = state.choices;
  if (action === "classify") {
    const select = el("select", { name: "category" });
    choices.categories.forEach((c) => select.append(
      el("option", { value: c.id, text: `${c.name}（${c.deadline}）` })));
    select.value = order.category || order.suggested_category || "other";
    form.append(el("label", {}, "分类", select));
  } else if (action === "dispatch") {
    const select = el("select", { name: "department" });
    choices.departments.forEach((d) => select.append(el("option", { value: d.name, text: d.name })));
    const category = choices.categories.find((c) => c.id === order.category);
    select.value = order.department || (category && category.department) || order.suggested_department;
    form.append(el("label", {}, "派往部门", select));
  } else if (action === "feedback") {
    form.append(noteField("办理情况", true));
  } else if (action === "callback") {
    const solved = el("fieldset", {}, el("legend", { text: "问题是否解决" }),
      el("label", {}, el("input", { type: "radio", name: "solved", value: "yes", required: "" }), "已解决"),
      el("label", {}, el("input", { type: "radio", name: "solved", value: "no" }), "未解决（退回部门）"));
    const rating = el("select", { name: "rating" }, el("option", { value: "", text: "未评价" }));
    [5, 4, 3, 2, 1].forEach((n) => rating.append(el("option", { value: String(n), text: `${n}分` })));
    form.append(solved, el("label", {}, "市民满意度", rating), noteField("回访记录", false));
  } else if (action === "urge") {
    form.append(noteField("催办说明", false));
  }
  const button = el("button", { type: "submit", text: STEP_NAMES[action] });
  if (action === "urge") button.className = "warn";
  form.append(button);
  form.addEventListener("submit", (event) => { event.preventDefault(); takeStep(form, action, order); });
  return form;
}

function bodyOf(form, action, order) {
  const body = { state: order.state };
  const data = new FormData(form);
  if (data.get("note")) body.note = data.get("note");
  if (action === "classify") body.category = data.get("category");
  if (action === "dispatch") body.department = data.get("department");
  if (action === "callback") {
    body.solved = data.get("solved") === "yes";
    body.rating = data.get("rating") ? Number(data.get("rating")) : null;
  }
  return body;
}

async function takeStep(form, action, order) {
  $("order-result").textContent = "";
  showError("");
  try {
    const updated = await api("POST", `/desk/api/orders/${encodeURIComponent(order.number)}/${action}`,
      bodyOf(form, action, order));
    showOrder(updated);
    $("order-result").textContent = `已${STEP_NAMES[action]}：现在是「${updated.state_name}」`;
    await loadList();
  } catch (error) {
    showError(error.message);
    if (error.status === 409) await openOrder(order.number);
  }
}

function showOrder(order) {
  state.selected = order.number;
  $("order-detail").hidden = false;
  $("order-title").textContent = `工单 ${order.number}（${order.state_name}）`;
  const overdue = $("order-overdue");
  overdue.hidden = !order.overdue;
  overdue.textContent = order.overdue ? `已超期：办理时限为 ${dueText(order.due_at)}` : "";
  const facts = $("order-facts");
  facts.replaceChildren();
  fact(facts, "类型", order.kind === "complaint" ? "投诉" : "留言");
  fact(facts, "登记时间", when(order.created_at));
  fact(facts, "诉求内容", order.message);
  fact(facts, "回访电话", order.callback_phone);
  fact(facts, "机器人建议", order.suggested_category_name
    ? `${order.suggested_category_name} → ${order.suggested_department}` : "");
  fact(facts, "分类", order.category_name);
  fact(facts, "承办部门", order.department);
  fact(facts, "办理时限", order.due_at ? dueText(order.due_at) + (order.overdue ? "（已超期）" : "") : "");
  fact(facts, "催办", order.urged_at ? when(order.urged_at) : "");
  fact(facts, "回访结果", order.solved === null || order.solved === undefined ? ""
    : (order.solved ? "已解决" : "未解决") + (order.rating ? `，满意度 ${order.rating}分` : ""));
  const actions = $("order-actions");
  actions.replaceChildren(...order.actions.map((a) => actionForm(a, order)));
  $("order-no-actions").hidden = order.actions.length > 0;
  $("order-history").replaceChildren(...(order.history || []).map((s) => el("li", {},
    el("span", { class: "when", text: `${when(s.at)} · ${s.actor === "bot" ? "机器人" : s.actor}` }),
    " ", el("strong", { text: STEP_NAMES[s.step] || s.step }),
    s.note ? ` ${s.note}` : "")));
  document.querySelectorAll("#orders-list button").forEach((b) => {
    if (b.dataset.number === order.number) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
}

async function openOrder(number) {
  try {
    showOrder(await api("GET", `/desk/api/orders/${encodeURIComponent(number)}`));
  } catch (error) {
    showError(error.message);
  }
}

async function start() {
  try {
    const me = await api("GET", "/desk/api/me");
    state.csrf = me.csrf;
    $("orders-whoami").textContent = `${me.agent}（${ROLE_NAMES[me.role] || me.role}）`;
    $("orders-desk-link").hidden = me.role === "department";
    $("orders-login").hidden = true;
    $("orders-view").hidden = false;
    await loadList();
    const wanted = new URLSearchParams(location.search).get("number");
    if (wanted) await openOrder(wanted);
  } catch (error) {
    if (error.status === 401) {
      $("orders-view").hidden = true;
      $("orders-login").hidden = false;
    } else {
      $("orders-view").hidden = false;
      showError(error.message);
    }
  }
}

$("orders-login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("orders-login-error").textContent = "";
  try {
    await api("POST", "/desk/api/login", {
      name: $("orders-login-name").value, password: $("orders-login-password").value,
    });
    await start();
  } catch (error) {
    $("orders-login-error").textContent = error.message;
  }
});

$("orders-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  showError("");
  loadList().catch((error) => showError(error.message));
});

$("orders-logout").addEventListener("click", async () => {
  try { await api("POST", "/desk/api/logout", {}); } catch (e) { /* signed out anyway */ }
  location.reload();
});

start();
