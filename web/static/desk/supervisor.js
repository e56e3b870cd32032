// The supervisor view: queue, agents, work orders, daily statistics and the reveal log,
// refreshed every 5 s. A file of its own: the desk's CSP allows no inline script.
"use strict";
const $ = (id) => document.getElementById(id);
function cell(row, values) { for (const v of values) row.insertCell().textContent = v ?? "-"; return row; }
async function load() {
  const response = await fetch("/desk/api/supervisor/overview", { credentials: "same-origin" });
  if (response.status === 401) { location.href = "/desk"; return; }
  const data = await response.json();
  if (!response.ok) { $("error").textContent = data.error; return; }
  $("queue-length").textContent = data.queue_length;
  $("longest-wait").textContent = `${Math.floor(data.longest_wait_seconds / 60)}分${data.longest_wait_seconds % 60}秒`;
  $("agents-online").textContent = data.agents_online.length;
  $("agent-names").textContent = data.agents_online.join("、");
  $("open-orders").textContent = data.open_work_orders;
  const days = $("days"); days.replaceChildren();
  for (const d of data.days) cell(days.insertRow(), [d.day, d.handoffs, d.answered, d.timed_out, d.work_orders, d.ratings, d.satisfaction]);
  const reveals = $("reveals"); reveals.replaceChildren();
  for (const r of data.reveals) cell(reveals.insertRow(), [new Date(r.at * 1000).toLocaleString("zh-CN"), r.agent, r.handoff_id, r.what]);
}
load(); setInterval(load, 5000);
