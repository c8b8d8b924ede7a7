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
    data.forEach((value, name) => { if (value.trim() !== "") kept.append(name, value); });
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

  function announce() {
    if (status) status.textContent = summary() || "Result updated";
    updatePeek();
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

  function fillSymbols(select, venue) {
    const current = select.value;
    const symbols = venues[venue] || [];
    const optional = select.hasAttribute("data-optional");
    select.replaceChildren();
    const add = (value, text) => select.append(new Option(text, value));
    if (optional) add("", "— none (give MMR) —");
    symbols.forEach((symbol) => add(symbol, symbol));
    add(OTHER, "Other…");
    const same = symbols.includes(current) ? current : sameInstrument(current, symbols);
    if (same) select.value = same;
    else if (optional) select.value = "";
    else select.value = symbols.length ? symbols[0] : OTHER;
    syncOther(select);
  }

  // The same instrument in another venue's notation: BTCUSDT → BTC (Hyperliquid),
  // BTC-USDT-SWAP (OKX), BTC_USDT (Gate); the same quote currency first.
  const QUOTES = ["USDT", "USDC", "USD"];
  function parts(symbol) {
    const plain = symbol.toUpperCase().replace(/[^A-Z0-9]/g, "").replace(/(PERP|SWAP)$/, "");
    const quote = QUOTES.find((q) => plain.endsWith(q) && plain.length > q.length) || "";
    return { base: plain.slice(0, plain.length - quote.length), quote };
  }
  function sameInstrument(current, symbols) {
    if (!current || current === OTHER) return "";
    const want = parts(current);
    const found = symbols.filter((s) => parts(s).base === want.base);
    return found.find((s) => parts(s).quote === want.quote) || found[0] || "";
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
      item.querySelectorAll("select[data-symbol]").forEach((s) => fillSymbols(s, currentVenue()));
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
    if (target.matches("select[data-venue]")) {
      form.querySelectorAll("select[data-symbol]").forEach((s) => fillSymbols(s, target.value));
    }
    if (target.matches("select[data-symbol]")) syncOther(target);
    applyShowWhen();
    schedule();
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
