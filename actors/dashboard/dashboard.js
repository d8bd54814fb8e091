// The troupe dashboard: reads /api/cluster every 2 s and redraws its tables;
// the logs section reads /api/logs and /api/log for the chosen node.
"use strict";

const $ = (id) => document.getElementById(id);

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) {
    const span = document.createElement("span");
    span.className = "state " + cls;
    span.textContent = text;
    td.appendChild(span);
  } else {
    td.textContent = text === undefined || text === null ? "" : String(text);
  }
  return td;
}

function fill(tableId, rows, columns, key) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = body.insertRow();
    const td = cell("none");
    td.className = "empty";
    td.colSpan = $(tableId).tHead.rows[0].cells.length;
    tr.appendChild(td);
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    if (key) tr.dataset[key[0]] = row[key[1]];
    for (const c of columns) tr.appendChild(c(row));
  }
}

function amount(name, x) {
  if (name === "memory") return bytes(x);
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

function bytes(x) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let u = 0;
  while (x >= 1000 && u < units.length - 1) { x /= 1000; u++; }
  return (u === 0 ? x : x.toFixed(1)) + " " + units[u];
}

function used(node, name) {
  const s = node.scheduler;
  if (!s || !(name in s.total)) return "";
  const total = s.total[name];
  return amount(name, total - (s.available[name] || 0)) + " / " + amount(name, total);
}

function storeCell(store) {
  const td = document.createElement("td");
  if (!store) return td;
  const bar = document.createElement("span");
  bar.className = "bar";
  const fillBar = document.createElement("span");
  fillBar.style.width = Math.min(100, 100 * store.bytes_in_use / store.capacity) + "%";
  bar.appendChild(fillBar);
  td.append(bar, bytes(store.bytes_in_use) + " / " + bytes(store.capacity) +
            " (" + store.objects + " objects)");
  return td;
}

// A submitted job's output file on the head (node 1), shown in the logs below.
function outputCell(file) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.href = "#node=1&file=" + encodeURIComponent(file);
  a.textContent = file;
  a.onclick = () => {
    chosenFile = file;
    wantedNode = "1";
    $("log-node").value = "1";
    showLog();
    refreshLogFiles();
  };
  td.appendChild(a);
  return td;
}

function drawNodes(nodes) {
  fill("nodes", nodes, [
    (n) => cell(n.id),
    (n) => cell(n.address),
    (n) => cell(n.alive ? "alive" : "dead", n.alive ? "alive" : "dead"),
    (n) => cell(used(n, "CPU")),
    (n) => cell(used(n, "GPU")),
    (n) => cell(used(n, "memory")),
    (n) => cell(n.scheduler ? Object.keys(n.scheduler.total)
      .filter((k) => !["CPU", "GPU", "memory"].includes(k))
      .map((k) => k + " " + used(n, k)).join(", ") : ""),
    (n) => cell(n.scheduler ? n.scheduler.workers.idle + " idle, " +
      n.scheduler.workers.leased + " leased" : ""),
    (n) => storeCell(n.store),
    (n) => cell(n.store ? bytes(n.store.spilled_bytes) : ""),
  ], ["nodeId", "id"]);
}

function draw(doc) {
  const alive = doc.nodes.filter((n) => n.alive).length;
  const liveActors = doc.actors.filter((a) => a.state === "alive").length;
  $("summary").textContent = alive + " of " + doc.nodes.length + " nodes alive · " +
    liveActors + " actors alive · " + doc.tasks.length + " tasks not done · " +
    doc.jobs.filter((j) => j.alive).length + " drivers · " +
    doc.submissions.filter((j) => j.state === "RUNNING").length + " submitted jobs running";
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  drawNodes(doc.nodes);
  fill("actors", doc.actors, [
    (a) => cell(a.id), (a) => cell(a.class), (a) => cell(a.name),
    (a) => cell(a.state, a.state), (a) => cell(a.node), (a) => cell(a.restarts),
    (a) => cell(a.death),
  ], ["actorName", "name"]);
  fill("tasks", doc.tasks, [
    (t) => cell(t.id), (t) => cell(t.name), (t) => cell(t.state, t.state),
    (t) => cell(t.node || ""), (t) => cell(t.attempt), (t) => cell(t.last_failure),
    (t) => cell(t.owner_role + " " + t.owner_pid),
  ]);
  fill("groups", doc.placement_groups, [
    (g) => cell(g.id), (g) => cell(g.state, g.state),
    (g) => cell(g.bundles.map((b) => JSON.stringify(b)).join(" ")),
    (g) => cell(g.nodes.join(", ")), (g) => cell(g.why),
  ]);
  fill("jobs", doc.jobs, [
    (j) => cell(j.id), (j) => cell(j.pid),
    (j) => cell(j.alive ? "alive" : "ended", j.alive ? "alive" : "dead"),
  ]);
  fill("submissions", doc.submissions, [
    (j) => cell(j.id), (j) => cell(j.state, j.state.toLowerCase()),
    (j) => cell(j.started ? ((j.ended || Date.now() / 1000) - j.started).toFixed(1) + " s" : ""),
    (j) => cell(j.entrypoint), (j) => cell(j.message), (j) => outputCell(j.output),
  ], ["submissionId", "id"]);
  fill("errors", doc.errors, [(e) => cell(e.what), (e) => cell(e.id), (e) => cell(e.message)]);
  drawLogNodes(doc.nodes);
}

// The log shown is in the page's address (#node=N&file=F): a link to it.
const linked = new URLSearchParams(location.hash.slice(1));
let chosenFile = linked.get("file");
let wantedNode = linked.get("node");

function drawLogNodes(nodes) {
  const select = $("log-node");
  const ids = nodes.filter((n) => n.alive).map((n) => String(n.id));
  const have = Array.from(select.options).map((o) => o.value);
  if (ids.join() === have.join()) return;
  const keep = select.value;
  select.replaceChildren(...ids.map((id) => new Option("node " + id, id)));
  if (ids.includes(keep)) select.value = keep;
  if (wantedNode && ids.includes(wantedNode)) select.value = wantedNode;
  wantedNode = null;
  refreshLogFiles();
}

async function refreshLogFiles() {
  const node = $("log-node").value;
  if (!node) return;
  const res = await fetch("/api/logs?node=" + encodeURIComponent(node));
  if (!res.ok) return;
  const doc = await res.json();
  const list = $("log-files");
  list.replaceChildren();
  for (const f of doc.files) {
    const li = document.createElement("li");
    li.textContent = f.name + " (" + bytes(f.size) + ")";
    li.dataset.file = f.name;
    if (f.name === chosenFile) li.className = "chosen";
    li.onclick = () => {
      chosenFile = f.name;
      history.replaceState(null, "", "#node=" + node + "&file=" + encodeURIComponent(f.name));
      showLog();
      refreshLogFiles();
    };
    list.appendChild(li);
  }
}

async function showLog() {
  if (!chosenFile) return;
  const node = $("log-node").value;
  const res = await fetch("/api/log?node=" + encodeURIComponent(node) + "&file=" +
                          encodeURIComponent(chosenFile));
  $("log-name").textContent = "node " + node + ": " + chosenFile;
  const text = await res.text();
  const pre = $("log-text");
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = text.split("\n").filter((l) => !l.startsWith(":task: ")).join("\n") ||
    "(empty)";
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}

async function refresh() {
  try {
    const res = await fetch("/api/cluster");
    if (!res.ok) throw new Error(res.status + " " + (await res.text()));
    draw(await res.json());
    showLog();
  } catch (e) {
    $("summary").textContent = "cannot reach the cluster: " + e.message;
  }
}

$("log-node").onchange = () => { chosenFile = null; refreshLogFiles(); };
refresh();
setInterval(refresh, 2000);
