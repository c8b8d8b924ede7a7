// marginscope pages: post the form on every change and swap in the server's HTML fragment.
// No formulas here: the server computes, explains and draws; this file only moves form data.
(() => {
  "use strict";
  // Index: filter the calculators as one types (title and summary, every word must match).
  const search = document.querySelector("input[data-search]");
  if (search) {
    const count = document.getElementById("search-count");
    search.addEventListener("input", () => {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      document.querySelectorAll(".group-list").forEach((group) => {
        let any = false;
        group.querySelectorAll(".cards > li").forEach((item) => {
          const text = item.textContent.toLowerCase();
          const hit = words.every((word) => text.includes(word));
          item.hidden = !hit;
          if (hit) { any = true; shown += 1; }
        });
        group.hidden = !any;
      });
      if (count) count.textContent = words.length ? `${shown} calculator${shown === 1 ? "" : "s"}` : "";
    });
  }
  const form = document.querySelector("form.calc");
  if (!form) return;
  const result = document.getElementById("result");
  const status = document.getElementById("status");
  const symbolsEl = document.getElementById("venue-symbols");
  const venues = symbolsEl ? JSON.parse(symbolsEl.textContent) : {};
  const OTHER = "__other__";
  const symbolsFor = form.querySelector("[data-symbols-for]");  // venue the symbols are written for
  let timer = 0;
  let sequence = 0;
  let controller = null;

  // Page hints for the (optional) telemetry recorder: time zone, touch points, a per-tab token
  // and the tab's calculation counter (0, 1, 2, …: the order of the session's checks, kept
  // with the token so a reload goes on counting; none past 32767, the stored range).
  function hints() {
    let session = "";
    let seq = -1;
    try {
      session = sessionStorage.getItem("ms-session") || "";
      if (!session) {
        session = Array.from(crypto.getRandomValues(new Uint8Array(12)),
          (b) => b.toString(16).padStart(2, "0")).join("");
        sessionStorage.setItem("ms-session", session);
        sessionStorage.removeItem("ms-seq");
      }
      seq = parseInt(sessionStorage.getItem("ms-seq") || "0", 10) || 0;
      sessionStorage.setItem("ms-seq", String(seq + 1));
    } catch (e) { /* storage disabled: no token */ }
    const headers = { "X-Marginscope-Touch-Points": String(navigator.maxTouchPoints || 0) };
    try { headers["X-Marginscope-Time-Zone"] = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* none */ }
    if (session) headers["X-Marginscope-Session"] = session;
    if (session && seq >= 0 && seq <= 32767) headers["X-Marginscope-Seq"] = String(seq);
    return headers;
  }

  function payload() {
    const data = new URLSearchParams(new FormData(form));
    form.querySelectorAll("select[data-symbol]").forEach((select) => {
      if (select.value === OTHER) {
        const other = document.getElementById(select.id + "-other");
        data.set(select.name, other ? other.value.trim() : "");
      }
    });
    return data;
  }

  // Each problem's sentence goes beside its field (the box above the result lists them too).
  function markInvalid() {
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    form.querySelectorAll(".field-error").forEach((el) => { el.hidden = true; el.textContent = ""; });
    result.querySelectorAll(".problems li[data-input]").forEach((item) => {
      const name = item.dataset.input;
      const el = document.getElementById("f-" + name) || form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (el) (el.closest("fieldset.seg") || el).setAttribute("aria-invalid", "true");
      const message = document.getElementById("e-" + name);
      if (message) {
        message.textContent = item.dataset.text;
        message.hidden = false;
        const details = message.closest("details");
        if (details) details.open = true;
      }
    });
  }

  // State in the URL: every non-empty input a query parameter, so a reload or a shared link
  // opens with the same result; the last inputs are also kept per page in localStorage.
  const STORE = "ms-last:" + location.pathname;
  function query() {
    const data = payload();
    const kept = new URLSearchParams();
    data.forEach((value, name) => {
      if (value.trim() !== "" && !(symbolsFor && name === symbolsFor.name)) kept.append(name, value);
    });
    return kept.toString();
  }
  function remember() {
    const text = query();
    try { history.replaceState(null, "", text ? `?${text}` : location.pathname); } catch (e) { /* file: */ }
    try { localStorage.setItem(STORE, text); } catch (e) { /* storage disabled */ }
  }
  if (!location.search) {
    let saved = "";
    try { saved = localStorage.getItem(STORE) || ""; } catch (e) { /* storage disabled */ }
    if (saved) { location.replace(`?${saved}`); return; }
  }

  // One line of the result: "Liquidation price 81,356.78" or "BTCUSDT long 26,316.89 · …".
  function summary() {
    const problems = result.querySelectorAll(".problems li");
    if (problems.length) return `${problems.length} field${problems.length > 1 ? "s" : ""} to fix`;
    const cards = result.querySelectorAll("article.pos");
    if (cards.length) {
      return Array.from(cards, (card) => {
        const title = card.querySelector("h3");
        const value = card.querySelector(".headline .v");
        const name = title ? title.textContent.trim().split(/\s+/)[0] : "";
        return `${name} ${value ? value.textContent : ""}`.trim();
      }).join(" · ");
    }
    const headline = result.querySelector(".headline");
    return headline ? headline.textContent.replace(/\s+/g, " ").trim() : "";
  }

  // On a phone the result sits below the form: a bar at the bottom shows it while typing.
  const peek = document.querySelector(".peek");
  let resultVisible = false;
  function updatePeek() {
    if (!peek) return;
    const text = summary();
    peek.textContent = text ? `${text} ↓` : "";
    peek.hidden = !text || resultVisible;
  }
  if (peek && "IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      resultVisible = entries.some((entry) => entry.isIntersecting);
      updatePeek();
    }).observe(result);
  }

  // On a phone the bar must not hide a field's error: the bar's height pads the page and the
  // focus scrolling (app.css), and an error that appears under it is scrolled just above it.
  function clearOfPeek() {
    if (!peek || peek.hidden) return;
    document.documentElement.style.setProperty("--peek-h", `${peek.offsetHeight}px`);
    const bar = peek.getBoundingClientRect();
    const active = document.activeElement;
    const field = active && form.contains(active) ? active.closest(".field, .seg") : null;
    const shown = Array.from(form.querySelectorAll(".field-error:not([hidden])"));
    const message = (field && field.querySelector(".field-error:not([hidden])")) ||
      shown.find((el) => { const box = el.getBoundingClientRect(); return box.bottom > bar.top && box.top < bar.bottom; });
    if (!message) return;
    const box = message.getBoundingClientRect();
    if (box.bottom > bar.top - 8) window.scrollBy(0, box.bottom - bar.top + 8);
  }

  function announce() {
    if (status) status.textContent = summary() || "Result updated";
    updatePeek();
    clearOfPeek();
  }

  async function compute() {
    const mine = ++sequence;
    if (controller) controller.abort();
    controller = new AbortController();
    form.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.result, {
        method: "POST", body: payload(), headers: hints(), signal: controller.signal,
      });
      const html = await response.text();
      if (mine !== sequence) return;
      result.innerHTML = html;
      markInvalid();
      announce();
      remember();
    } catch (error) {
      if (error.name === "AbortError") return;
      result.innerHTML = '<div class="problems" role="alert"><h3>No answer from the server</h3>' +
        "<p>Check the connection and press Calculate again.</p></div>";
    } finally {
      if (mine === sequence) form.removeAttribute("aria-busy");
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(compute, 250);
  }

  function matches(rule) {
    const [name, value] = rule.split("=");
    const control = form.elements.namedItem(name);
    return Boolean(control) && control.value === value;
  }
  function applyShowWhen() {
    form.querySelectorAll("[data-show-when]").forEach((el) => { el.hidden = !matches(el.dataset.showWhen); });
    form.querySelectorAll("[data-when]").forEach((el) => { el.hidden = !matches(el.dataset.when); });
    form.querySelectorAll("[data-when-not]").forEach((el) => { el.hidden = matches(el.dataset.whenNot); });
  }

  function syncOther(select) {
    const other = document.getElementById(select.id + "-other");
    if (!other) return;
    const isOther = select.value === OTHER;
    other.hidden = !isOther;
    if (isOther && document.activeElement === select) other.focus();
  }

  // The venue's shipped symbols in the picker, ``wanted`` selected (added if not shipped).
  // Nothing wanted: "none" where the symbol is optional; else the first symbol for a new row
  // (``first``) or an empty "Other…" (never another instrument in its place).
  function fillSymbols(select, venue, wanted, first) {
    const symbols = venues[venue] || [];
    const optional = select.hasAttribute("data-optional");
    const other = document.getElementById(select.id + "-other");
    select.replaceChildren();
    const add = (value, text) => select.append(new Option(text, value));
    if (optional) add("", "— none (give MMR) —");
    symbols.forEach((symbol) => add(symbol, symbol));
    if (wanted && !symbols.includes(wanted)) add(wanted, wanted);
    add(OTHER, "Other…");
    if (wanted) select.value = wanted;
    else if (optional) select.value = "";
    else if (first && symbols.length) select.value = symbols[0];
    else {
      select.value = OTHER;
      if (other) other.value = "";
    }
    syncOther(select);
  }

  // Switching venue keeps the instrument: the symbol the trader chose, looked up once in
  // /api/v1/instruments (the server's venue notations), gives its symbol on every venue.
  // Each picker remembers that choice, so BTCUSDT → Hyperliquid (BTC, USDC) → Bybit is
  // BTCUSDT again. The hidden symbols_for names the venue the symbols are written for: a
  // form the script could not map is mapped by the server.
  const listings = new Map();
  const origins = new WeakMap();
  function symbolOf(select) {
    if (select.value !== OTHER) return select.value;
    const other = document.getElementById(select.id + "-other");
    return other ? other.value.trim() : "";
  }
  function originOf(select) {
    const symbol = symbolOf(select);
    const kept = origins.get(select);
    if (kept && kept.shown === symbol) return kept;
    return symbol ? { venue: symbolsFor ? symbolsFor.value : currentVenue(), symbol } : null;
  }
  function listing(origin) {
    const key = `${origin.venue} ${origin.symbol}`;
    if (!listings.has(key)) {
      const url = `${form.dataset.instruments}?venue=${encodeURIComponent(origin.venue)}` +
        `&symbol=${encodeURIComponent(origin.symbol)}`;
      listings.set(key, fetch(url, { headers: { Accept: "application/json" } })
        .then((response) => {
          if (response.status === 422) return { unknown: true };
          return response.ok ? response.json() : null;
        })
        .catch(() => null)
        .then((answer) => { if (answer === null) listings.delete(key); return answer; }));
    }
    return listings.get(key);
  }
  function noteFor(select, text) {
    const note = document.getElementById("n-" + select.id.slice(2));
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }
  function venueTitle() {
    const select = form.querySelector("select[data-venue]");
    return select && select.selectedOptions.length ? select.selectedOptions[0].textContent.trim() : "";
  }
  async function switchVenue(venue) {
    const selects = Array.from(form.querySelectorAll("select[data-symbol]"));
    const from = selects.map(originOf);
    const answers = await Promise.all(from.map((o) => (o && o.venue !== venue ? listing(o) : o)));
    if (currentVenue() !== venue) return;  // switched again meanwhile
    if (from.some((o, i) => o && answers[i] === null)) return;  // no answer: the server maps
    const title = venueTitle();
    selects.forEach((select, i) => {
      const origin = from[i];
      const answer = answers[i];
      let wanted = "";
      let text = "";
      if (origin && origin.venue === venue) wanted = origin.symbol;
      else if (origin && answer.unknown) wanted = origin.symbol;  // not a symbol we know: as typed
      else if (origin) {
        const there = answer.venues[venue];
        if (!there) {
          text = `No ${title} listing for ${origin.symbol} (${answer.product}): pick a ${title} symbol.`;
        } else {
          wanted = there.symbol;
          if (!there.same_quote) {
            const settle = there.instrument.split(":")[1].split("-")[0];
            text = `${title} settles ${answer.base} in ${settle}. `;
          }
          if (there.table_as_of === null) text += `No tier table shipped for ${wanted}: give the MMR.`;
        }
      }
      fillSymbols(select, venue, wanted, false);
      origins.set(select, origin ? { ...origin, shown: symbolOf(select) } : null);
      noteFor(select, text.trim());
    });
    if (symbolsFor) symbolsFor.value = venue;
  }

  function currentVenue() {
    const venue = form.querySelector("select[data-venue]");
    return venue ? venue.value : "";
  }

  function renumber(group) {
    const path = group.dataset.group;
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = new RegExp(escaped + "\\.(?:\\d+|__i__)\\.", "g");
    const items = group.querySelectorAll(":scope > .items > .item");
    items.forEach((item, index) => {
      item.querySelectorAll("*").forEach((el) => {
        for (const attr of ["name", "id", "for", "aria-describedby", "href"]) {
          const value = el.getAttribute(attr);
          if (value && value.includes(path + ".")) {
            el.setAttribute(attr, value.replace(pattern, `${path}.${index}.`));
          }
        }
      });
      const number = item.querySelector(":scope > fieldset > legend .n");
      if (number) number.textContent = `${group.dataset.noun} ${index + 1}`;
      const remove = item.querySelector(":scope > fieldset > .remove");
      if (remove) {
        remove.setAttribute("aria-label", `Remove ${group.dataset.noun.toLowerCase()} ${index + 1}`);
        remove.hidden = items.length <= Number(group.dataset.min || 0);
      }
    });
    const add = group.querySelector(":scope > .add");
    if (add) add.hidden = items.length >= Number(group.dataset.max || 100);
  }

  form.addEventListener("click", (event) => {
    const add = event.target.closest("button.add");
    if (add) {
      const group = add.closest(".group");
      const template = group.querySelector(":scope > template");
      const item = template.content.firstElementChild.cloneNode(true);
      group.querySelector(":scope > .items").append(item);
      renumber(group);
      item.querySelectorAll("select[data-symbol]").forEach((s) => fillSymbols(s, currentVenue(), "", true));
      const first = item.querySelector("input:not([type=radio]):not([hidden]), select");
      if (first) first.focus();
      schedule();
      return;
    }
    const remove = event.target.closest("button.remove");
    if (remove) {
      const group = remove.closest(".group");
      remove.closest(".item").remove();
      renumber(group);
      group.querySelector(":scope > .add").focus();
      schedule();
    }
  });

  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("select[data-venue]")) switchVenue(target.value).then(schedule);
    if (target.matches("select[data-symbol]")) {
      syncOther(target);
      noteFor(target, "");
    }
    applyShowWhen();
    schedule();
  });
  // Ask for the listings as the venue picker is reached, so the switch itself is instant.
  form.addEventListener("focusin", (event) => {
    if (!event.target.matches("select[data-venue]")) return;
    form.querySelectorAll("select[data-symbol]").forEach((select) => {
      const origin = originOf(select);
      if (origin) listing(origin);
    });
  });
  form.addEventListener("input", (event) => {
    if (event.target.matches("input[type=text], textarea")) schedule();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    compute();
  });

  // A problem's link opens the "More options" it may sit in before focusing the field.
  result.addEventListener("click", (event) => {
    const link = event.target.closest(".problems a[href^='#f-']");
    if (!link) return;
    const el = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!el) return;
    event.preventDefault();
    const details = el.closest("details");
    if (details) details.open = true;
    el.focus();
  });

  // "Use current price": the server asks the venue (cached a few seconds) and fills the field.
  form.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-live-for]");
    if (!button) return;
    const input = document.getElementById(button.dataset.liveFor);
    const venue = currentVenue();
    const symbolSelect = form.querySelector("select[data-symbol]");
    const symbol = symbolSelect ? payload().get(symbolSelect.name) || "" : "";
    const said = button.parentElement.querySelector(".live-said") || button.insertAdjacentElement(
      "afterend", Object.assign(document.createElement("p"), { className: "help live-said" }));
    if (!symbol) { said.textContent = "Pick a symbol first."; return; }
    button.disabled = true;
    try {
      const url = `${form.dataset.live}?venue=${encodeURIComponent(venue)}&symbol=${encodeURIComponent(symbol)}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : "no price");
      input.value = String(body.price);
      said.textContent = `${body.source}, ${body.age_seconds} s old`;
      schedule();
    } catch (error) {
      said.textContent = `No current price: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });

  const copy = form.querySelector("[data-copy-link]");
  if (copy) {
    copy.addEventListener("click", async () => {
      const said = form.querySelector(".copied");
      const url = new URL(`?${query()}`, location.href).href;
      try {
        await navigator.clipboard.writeText(url);
        if (said) said.textContent = "Link copied";
      } catch (e) {
        if (said) said.textContent = url;  // no clipboard: show it to copy by hand
      }
    });
  }

  form.querySelectorAll(".group").forEach(renumber);
  applyShowWhen();
  markInvalid();
  updatePeek();
})();
