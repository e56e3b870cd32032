// The supervisors' review: groups of messages the bot did not understand, labelled as an
// intent, a matter's alias, out of scope or noise; the daily measures; the candidate
// training. A file of its own: the desk's CSP allows no inline script.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { csrf: "", intents: [] };
const KINDS = {
  fallback: "兜底", out_of_scope: "超出范围", unknown_matter: "未知事项", low_confidence: "低置信",
  handoff_after_miss: "未识别后转人工", poor_rating: "差评",
};
const RETRAIN = { idle: "未开始", starting: "启动中", training: "训练中", evaluating: "评估中", done: "已完成", failed: "失败" };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.includes("-")) node.setAttribute(key, value);  // aria-*: attributes, not properties
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}
const pct = (x) => (x === null || x === undefined ? "-" : `${(x * 100).toFixed(1)}%`);
function cell(row, values) { for (const v of values) row.insertCell().textContent = v ?? "-"; return row; }

async function api(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": state.csrf }, credentials: "same-origin" };
  if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) { location.href = "/desk"; }
  if (!response.ok) throw new Error(data.error || "请求失败");
  return data;
}

function showError(error) { $("error").textContent = error ? error.message : ""; }

async function label(group, ids, body, result) {
  showError(null);
  try {
    const answer = await api("POST", "/desk/api/review/label", { ids, ...body });
    const w = answer.written;
    const written = w ? `，写入训练数据 ${w.written} 条` + (w.skipped_duplicates ? `，已有 ${w.skipped_duplicates} 条` : "")
      + (w.refused_evaluation ? `，${w.refused_evaluation} 条属于评测集未写入` : "")
      + (w.conflicts.length ? `，${w.conflicts.length} 条与已有意图冲突未写入` : "") : "";
    result.textContent = `已处理 ${answer.marked} 条${written}`;
    setTimeout(loadGroups, 1500);
  } catch (error) { showError(error); }
}

function intentPicker(group, chosen) {
  const select = el("select", { "aria-label": "标为意图" });
  for (const name of state.intents) select.append(el("option", { value: name, textContent: name }));
  if (group.guess && state.intents.includes(group.guess[0])) select.value = group.guess[0];
  const button = el("button", { type: "button", textContent: "标为该意图" });
  button.addEventListener("click", () => label(group, chosen(), { action: "intent", intent: select.value }, group.result));
  return [select, button];
}

function aliasPicker(group, chosen) {
  const input = el("input", { type: "search", placeholder: "搜索事项名称", "aria-label": "别名对应的事项" });
  const list = el("select", { "aria-label": "选择事项" });
  const alias = el("input", { type: "text", value: group.kind === "unknown_matter" ? group.title : "", placeholder: "别名", "aria-label": "别名" });
  input.addEventListener("change", async () => {
    if (!input.value.trim()) return;
    const data = await api("GET", `/api/matters/search?q=${encodeURIComponent(input.value)}&limit=8`);
    list.replaceChildren(...data.results.map((m) => el("option", { value: m.code, textContent: m.name })));
  });
  const button = el("button", { type: "button", textContent: "添加为事项别名" });
  button.addEventListener("click", () => {
    if (!list.value) { showError(new Error("请先搜索并选择事项")); return; }
    label(group, chosen(), { action: "alias", matter_code: list.value, alias: alias.value }, group.result);
  });
  return [alias, input, list, button];
}

async function showMessages(group, box) {
  const data = await api("GET", `/desk/api/review/groups/${encodeURIComponent(group.key)}`);
  box.replaceChildren(...data.messages.map((m) => {
    const check = el("input", { type: "checkbox", checked: true, value: String(m.id) });
    const context = m.context && m.context.length ? `（之前：${m.context.join(" / ")}）` : "";
    return el("li", {}, el("label", {}, check, ` ${m.text} `,
      el("span", { className: "muted", textContent: `${KINDS[m.kind] || m.kind} · ${m.day} · ${m.intent || "-"}${context}` })));
  }));
}

function groupItem(group) {
  const box = el("ul", { className: "messages" });
  // The messages chosen: the ticked ones when the list is open, else the whole group.
  const chosen = () => {
    const checks = box.querySelectorAll("input[type=checkbox]");
    return checks.length ? [...checks].filter((c) => c.checked).map((c) => Number(c.value)) : group.ids;
  };
  group.result = el("span", { className: "result", role: "status" });
  const kinds = Object.entries(group.kinds).map(([k, n]) => `${KINDS[k] || k} ${n}`).join("、");
  const days = Object.entries(group.days).map(([d, n]) => `${d.slice(5)} ${n}条`).join("，");
  const then = group.guess ? `当时理解为 ${group.guess[0]}（${pct(group.guess[1])}）` : "当时没有把握";
  const now = group.now ? `；现在的模型理解为 ${group.now[0]}（置信 ${group.now[1]}）` : "";
  const guess = then + now;
  const open = el("button", { type: "button", textContent: "逐条查看" });
  open.addEventListener("click", () => showMessages(group, box).catch(showError));
  const out = el("button", { type: "button", textContent: "超出范围" });
  out.addEventListener("click", () => label(group, chosen(), { action: "out_of_scope" }, group.result));
  const noise = el("button", { type: "button", className: "danger", textContent: "无效/忽略" });
  noise.addEventListener("click", () => label(group, chosen(), { action: "noise" }, group.result));
  return el("li", {},
    el("div", { className: "head" }, el("span", { className: "size", textContent: String(group.size) }),
      el("strong", { textContent: group.title }), el("span", { className: "badge", textContent: group.kind === "unknown_matter" ? "未知事项名" : "相似问法" }),
      el("span", { className: "muted", textContent: kinds })),
    el("div", { className: "muted", textContent: `${guess} · 每日：${days}` }),
    el("ul", { className: "examples" }, ...group.examples.map((t) => el("li", { textContent: t }))),
    el("div", { className: "actions" }, open, ...intentPicker(group, chosen), out, noise),
    el("div", { className: "actions" }, ...aliasPicker(group, chosen)),
    box, group.result);
}

async function loadGroups() {
  try {
    const data = await api("GET", `/desk/api/review/groups?days=${$("days").value}`);
    state.intents = data.intents;
    $("groups").replaceChildren(...data.groups.map(groupItem));
    $("group-count").textContent = `共 ${data.groups.length} 组`;
    $("empty").hidden = data.groups.length > 0;
  } catch (error) { showError(error); }
}

async function loadMeasures() {
  try {
    const data = await api("GET", "/desk/api/review/measures?days=30");
    const days = $("measure-days"); days.replaceChildren();
    for (const d of data.days || []) cell(days.insertRow(), [d.day, d.turns, pct(d.fallback_rate), pct(d.out_of_scope_rate), pct(d.unknown_matter_rate), pct(d.handoff_after_miss_rate), d.satisfaction]);
    const models = $("measure-models"); models.replaceChildren();
    for (const m of data.models || []) cell(models.insertRow(), [m.model_id ? m.model_id.slice(0, 8) : "-", m.first_day, m.last_day, m.turns, pct(m.fallback_rate), pct(m.unknown_matter_rate), pct(m.handoff_after_miss_rate)]);
    const matters = $("measure-matters"); matters.replaceChildren();
    for (const m of (data.matters || []).slice(0, 20)) cell(matters.insertRow(), [m.name || m.matter_code || "（未指明事项）", m.turns, pct(m.fallback_rate), pct(m.handoff_after_miss_rate)]);
  } catch (error) { showError(error); }
}

const SETS = { heldout: "留出集", outside: "外部集", reviewed: "已标注样本" };
const METRICS = { macro_f1: "意图宏平均F1", kind_macro: "各类平均正确率", accuracy: "正确率" };
const num = (x) => (x === null || x === undefined ? "-" : x.toFixed(4));

async function loadRetrain() {
  try {
    const status = await api("GET", "/desk/api/review/retrain");
    $("retrain-state").textContent = RETRAIN[status.state] || status.state;
    $("retrain-verdict").textContent = status.verdict ? `结论：${status.verdict === "publishable" ? "可发布" : "不可发布"}` : "";
    $("retrain").disabled = ["starting", "training", "evaluating"].includes(status.state);
    $("publish").disabled = !(status.state === "done" && status.verdict === "publishable");
    const rows = status.comparison || [];
    $("comparison").hidden = rows.length === 0;
    const body = $("comparison").tBodies[0]; body.replaceChildren();
    for (const r of rows) cell(body.insertRow(), r.skipped ? [SETS[r.set] || r.set, METRICS[r.metric] || r.metric, "无样本", "-", "-"]
      : [SETS[r.set] || r.set, METRICS[r.metric] || r.metric, num(r.current), num(r.candidate), r.delta === null || r.delta === undefined ? "-" : (r.delta >= 0 ? "+" : "") + r.delta.toFixed(4)]);
    $("reasons").replaceChildren(...(status.reasons || []).map((t) => el("li", { textContent: t })));
    const shipping = await api("GET", "/desk/api/review/model");
    $("shipping-state").textContent = shipping.state === "running" ? `${shipping.action === "publish" ? "发布" : "回滚"}中…`
      : shipping.state === "done" ? `${shipping.ok ? "完成" : "未完成"}：${shipping.message}` : "无";
  } catch (error) { showError(error); }
}

async function ship(action, question) {
  if (!window.confirm(question)) return;
  try { await api("POST", "/desk/api/review/model", { action }); } catch (error) { showError(error); }
  loadRetrain();
}

async function start() {
  const me = await api("GET", "/desk/api/me");
  state.csrf = me.csrf;
  $("retrain").addEventListener("click", async () => {
    try { await api("POST", "/desk/api/review/retrain", {}); } catch (error) { showError(error); }
    loadRetrain();
  });
  $("days").addEventListener("change", loadGroups);
  $("publish").addEventListener("click", () => ship("publish", "发布后所有对话服务实例将加载候选模型，确定发布？"));
  $("rollback").addEventListener("click", () => ship("rollback", "确定回滚到上一个模型？"));
  await Promise.all([loadGroups(), loadMeasures(), loadRetrain()]);
  setInterval(loadRetrain, 5000);
}
start().catch(showError);
