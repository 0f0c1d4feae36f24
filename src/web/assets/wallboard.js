// The wallboard at `/`: asks the exporter for the JSON it builds with every publish
// (`data-endpoint` of #wallboard) and draws one card per queue set, again every
// `refresh_seconds`. Built with DOM calls and textContent only: queue, status and set names
// come from Amazon Connect and are never read as HTML. The thresholds are applied by the
// exporter; the page only shows each cell's state.
//
// For tests and tools, after each drawing: #wallboard carries `data-generation` (the JSON's)
// and `data-renders`; every number carries `data-field` and its raw `data-value`; the
// document element carries `data-scroll-width` and `data-client-width`.
"use strict";

(function () {
  const board = document.getElementById("wallboard");
  if (!board) {
    return;
  }
  const meta = document.getElementById("board-meta");
  const endpoint = board.dataset.endpoint;
  // Until the first answer says otherwise; also the retry delay after a failed fetch.
  let refreshSeconds = 5;
  let renders = 0;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function twoDigits(number) {
    return number < 10 ? "0" + number : String(number);
  }

  // 75 -> "1:15", 3725 -> "1:02:05": how long someone has waited, at a glance.
  function duration(seconds) {
    const whole = Math.max(0, Math.round(seconds));
    const hours = Math.floor(whole / 3600);
    const minutes = Math.floor((whole % 3600) / 60);
    const rest = twoDigits(whole % 60);
    return hours > 0 ? hours + ":" + twoDigits(minutes) + ":" + rest : minutes + ":" + rest;
  }

  // A ratio as a percentage, the sign set smaller.
  function percent(ratio) {
    return [(ratio * 100).toFixed(1), " %"];
  }

  function number(value) {
    return String(Math.round(value));
  }

  // A number cell: its label, the value as shown (`show` gives the text, or the number and a
  // unit), its raw value and threshold state as data.
  function cell(field, label, value, show, state, note) {
    const node = element("div", "cell " + (state || "none"));
    node.dataset.field = field;
    node.dataset.value = value === null ? "" : String(value);
    node.dataset.state = state || "none";
    node.append(element("div", "label", label));
    const shown = value === null ? "–" : show(value);
    const figure = element("div", "value", Array.isArray(shown) ? shown[0] : shown);
    if (Array.isArray(shown)) {
      figure.append(element("span", "sign", shown[1]));
    }
    node.append(figure);
    if (note) {
      node.append(element("div", "note", note));
    }
    return node;
  }

  function agents(set) {
    const list = element("ul", "agents");
    const statuses = set.agents_by_status || {};
    for (const status of Object.keys(statuses)) {
      const item = element("li");
      item.dataset.field = "agents";
      item.dataset.status = status;
      item.dataset.value = String(statuses[status]);
      item.append(element("span", "count", number(statuses[status])));
      item.append(element("span", "name", status));
      list.append(item);
    }
    return list;
  }

  function slots(set) {
    const list = element("ul", "slots");
    for (const slot of set.slots || []) {
      const item = element("li");
      item.append(element("span", "name", slot.channel));
      for (const [field, value, word] of [
        ["slots_available", slot.available, "free"],
        ["slots_active", slot.active, "busy"],
      ]) {
        const count = element("span", "count", number(value));
        count.dataset.field = field;
        count.dataset.channel = slot.channel;
        count.dataset.value = String(value);
        item.append(count, element("span", "unit", word));
      }
      list.append(item);
    }
    return list;
  }

  function card(set) {
    const article = element("article", set.up ? "set" : "set set-down");
    article.dataset.instance = set.instance;
    article.dataset.queueSet = set.queue_set;
    article.dataset.up = String(set.up);
    const heading = element("h2");
    heading.append(element("span", "set-name", set.queue_set));
    heading.append(element("span", "instance", set.instance));
    article.append(heading);
    if (!set.up) {
      const why = set.polled ? set.error || "no data" : "waiting for the first poll";
      article.append(element("p", "problem", "No data: " + why));
      return article;
    }
    const states = set.states || {};
    const level = set.service_level_today;
    const cells = element("div", "cells");
    cells.append(
      cell("contacts_in_queue", "In queue", set.contacts_in_queue, number, states.contacts_in_queue),
      cell(
        "oldest_contact_age_seconds",
        "Oldest wait",
        set.oldest_contact_age_seconds,
        duration,
        states.oldest_contact_age_seconds,
      ),
      cell("missed_last_15m", "Missed, 15 min", set.missed_last_15m, number, states.missed_last_15m),
      cell(
        "service_level_today",
        "Service level",
        level ? level.ratio : null,
        percent,
        states.service_level_today,
        level
          ? "today, " + level.threshold_seconds + " s, lowest: " + level.lowest_queue + " (" + level.channel + ")"
          : "today",
      ),
      cell("abandonment_today", "Abandoned", set.abandonment_today, percent, states.abandonment_today, "today"),
    );
    article.append(cells);
    const people = element("div", "people");
    const agentsBlock = element("div", "block");
    agentsBlock.append(element("h3", null, "Agents"), agents(set));
    const slotsBlock = element("div", "block");
    slotsBlock.append(element("h3", null, "Slots"), slots(set));
    people.append(agentsBlock, slotsBlock);
    article.append(people);
    return article;
  }

  function render(data) {
    const cards = data.sets.map(card);
    if (cards.length === 0) {
      cards.push(element("p", "note", "No queue sets are configured."));
    }
    board.replaceChildren(...cards);
    // Numbers the exporter has not published again for three refreshes are old: it answers,
    // but its polling does not (the board says so instead of looking current).
    const age = Date.now() / 1000 - data.published_at;
    board.classList.toggle("stale", age > 3 * refreshSeconds);
    renders += 1;
    board.dataset.generation = String(data.generation);
    board.dataset.renders = String(renders);
    if (meta) {
      const at = new Date(data.published_at * 1000);
      meta.textContent = "Updated " + at.toLocaleTimeString() + " · generation " + data.generation;
    }
    const root = document.documentElement;
    root.dataset.scrollWidth = String(root.scrollWidth);
    root.dataset.clientWidth = String(root.clientWidth);
  }

  async function refresh() {
    try {
      // A connection that neither answers nor fails (a black-holed network) would otherwise
      // keep the board looking current for minutes.
      const answered = new AbortController();
      const timer = window.setTimeout(() => answered.abort(), Math.max(10, 2 * refreshSeconds) * 1000);
      const response = await fetch(endpoint, {
        cache: "no-store",
        credentials: "same-origin",
        signal: answered.signal,
      }).finally(() => window.clearTimeout(timer));
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      const data = await response.json();
      refreshSeconds = Math.max(2, Number(data.refresh_seconds) || refreshSeconds);
      render(data);
      if (meta && board.classList.contains("stale")) {
        meta.textContent += " (not updated for " + Math.round(Date.now() / 1000 - data.published_at) + " s)";
      }
    } catch (problem) {
      // The last numbers stay, marked stale, until the exporter answers again.
      board.classList.add("stale");
      if (meta) {
        meta.textContent = "Cannot reach the exporter (" + problem.message + "); retrying";
      }
    }
    window.setTimeout(refresh, refreshSeconds * 1000);
  }

  refresh();
})();
