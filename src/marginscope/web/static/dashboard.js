// Dashboard (/dashboard): interactive charts (uPlot, vendored in static/vendor/uplot), the
// findings table sorted, filtered and paged in the browser, and the month picker.
// Without JavaScript the page shows the server's static charts and every finding.
"use strict";

const PAGE = 25;

function monthPicker() {
  const month = document.getElementById("d-month");
  if (!month) return;
  // picking another month resets the date range to that month (the server fills it in)
  month.addEventListener("change", () => {
    for (const id of ["d-start", "d-end"]) document.getElementById(id).value = "";
  });
}

// --- findings: sort, filter, page ----------------------------------------------------------

function findingsTable() {
  const table = document.getElementById("dash-findings");
  if (!table) return;
  const tools = document.getElementById("dash-find-tools");
  const text = document.getElementById("f-text");
  const kind = document.getElementById("f-kind");
  const sort = document.getElementById("f-sort");
  const count = document.getElementById("f-count");
  const more = document.getElementById("f-more");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  let shown = PAGE;
  let direction = -1;
  tools.hidden = false;

  const number = (row, key) => {
    const value = row.dataset[key];
    return value === "" || value === undefined ? null : Number(value);
  };
  const compare = (key) => (a, b) => {
    if (key === "date") return direction * (a.dataset.date < b.dataset.date ? -1 : a.dataset.date > b.dataset.date ? 1 : 0);
    const x = number(a, key), y = number(b, key);
    if (x === null) return 1;
    if (y === null) return -1;
    return direction * (x - y);
  };

  function render() {
    const needle = text.value.trim().toLowerCase();
    const wanted = rows.filter((row) => (!kind.value || row.dataset.kind === kind.value)
      && (!needle || row.textContent.toLowerCase().includes(needle)));
    wanted.sort(compare(sort.value));
    body.replaceChildren(...wanted);
    wanted.forEach((row, i) => { row.hidden = i >= shown; });
    const visible = Math.min(shown, wanted.length);
    count.textContent = `showing ${visible.toLocaleString("en-US")} of ${wanted.length.toLocaleString("en-US")}`;
    more.hidden = visible >= wanted.length;
    for (const th of table.tHead.rows[0].cells) {
      th.removeAttribute("aria-sort");
      if (th.dataset.sort === sort.value) th.setAttribute("aria-sort", direction < 0 ? "descending" : "ascending");
    }
  }

  const reset = () => { shown = PAGE; render(); };
  text.addEventListener("input", reset);
  kind.addEventListener("change", reset);
  sort.addEventListener("change", () => { direction = sort.value === "date" || sort.value === "q" ? 1 : -1; reset(); });
  more.addEventListener("click", () => { shown += PAGE; render(); });
  for (const th of table.tHead.rows[0].cells) {
    if (!th.dataset.sort) continue;
    th.tabIndex = 0;
    th.classList.add("dash-sortable");
    const choose = () => {
      if (sort.value === th.dataset.sort) direction = -direction;
      else { sort.value = th.dataset.sort; direction = th.dataset.sort === "date" || th.dataset.sort === "q" ? 1 : -1; }
      reset();
    };
    th.addEventListener("click", choose);
    th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); } });
  }
  render();
}

// --- charts ---------------------------------------------------------------------------------

function seconds(day) { return Date.parse(`${day}T00:00:00Z`) / 1000; }

function share(part, whole) {
  return part.map((v, i) => (v === null || whole[i] === null || !whole[i] ? null : (100 * v) / whole[i]));
}

function eventLines(marks) {
  // red dotted lines at market events, numbered along the top (the caption lists them)
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = "#9b1c1c";
        ctx.fillStyle = "#9b1c1c";
        ctx.setLineDash([3, 3]);
        ctx.font = `bold ${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
        ctx.textAlign = "center";
        marks.forEach((mark, i) => {
          const x = u.valToPos(seconds(mark.day), "x", true);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.fillText(String(i + 1), x, u.bbox.top + 12 * devicePixelRatio);
        });
        ctx.restore();
      }],
    },
  };
}

function charts() {
  const source = document.getElementById("dash-plot");
  const live = document.getElementById("dash-live");
  if (!source || !live || typeof uPlot === "undefined") return;
  const { daily, plot } = JSON.parse(source.textContent);
  const x = daily.dates.map(seconds);
  const whole = daily.checks.all;
  const width = (el) => Math.max(280, el.clientWidth);
  const count = (v) => (v === null || v === undefined ? "–" : Math.round(v).toLocaleString("en-US"));
  const percent = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)}%`);
  const axisX = { values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" })) };
  const built = [];
  live.hidden = false;

  const tools = Object.keys(plot.names)
    .sort((a, b) => (daily.checks[b] || []).reduce((s, v) => s + (v || 0), 0) - (daily.checks[a] || []).reduce((s, v) => s + (v || 0), 0));
  const toolSeries = tools.map((t) => ({ label: plot.names[t], stroke: plot.colours[t], width: 1.6, value: (u, v) => count(v), spanGaps: false }));
  const data = [x, ...tools.map((t) => daily.checks[t])];
  const day = { value: (u, v) => (v === null || v === undefined ? "–" : new Date(v * 1000).toISOString().slice(0, 10)) };
  const series = [day, ...toolSeries];
  const axes = [axisX, { label: "checks per day", size: 60, values: (u, t) => t.map(count) }];
  const scales = { x: { time: true }, usd: { auto: true } };
  if (daily.btc_close) {
    data.push(daily.btc_close);
    series.push({ label: plot.price_label, stroke: "#333", dash: [6, 4], width: 1.3, scale: "usd", value: (u, v) => count(v) });
    axes.push({ scale: "usd", side: 1, size: 60, grid: { show: false }, values: (u, t) => t.map((v) => `${Math.round(v / 1000)}k`) });
  }
  const make = (name, options, values) => {
    const el = live.querySelector(`[data-plot="${name}"]`);
    const chart = new uPlot({ width: width(el), height: name === "tools" ? 300 : 220, scales, axes, ...options }, values, el);
    built.push([chart, el, name]);
  };
  make("tools", { series, axes, plugins: [eventLines(plot.marks)] }, data);

  const devices = Object.keys(daily.devices);
  make("devices", {
    series: [day, ...devices.map((d) => ({ label: d, stroke: plot.colours[d] || "#999", width: 1.8, value: (u, v) => percent(v) }))],
    axes: [axisX, { label: "share of checks (%)", size: 60 }],
    plugins: [eventLines(plot.marks)],
  }, [x, ...devices.map((d) => share(daily.devices[d], whole))]);

  const regionWhole = daily.regions.US.map((v, i) => (v === null || daily.regions.rest[i] === null ? null : v + daily.regions.rest[i]));
  make("regions", {
    series: [day, { label: "U.S. share", stroke: "#1f5fa8", width: 1.8, value: (u, v) => percent(v) }],
    axes: [axisX, { label: "U.S. share (%)", size: 60 }],
    plugins: [eventLines(plot.marks)],
  }, [x, share(daily.regions.US, regionWhole)]);

  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => built.forEach(([chart, el, name]) => chart.setSize({ width: width(el), height: name === "tools" ? 300 : 220 })));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  monthPicker();
  findingsTable();
  charts();
});
