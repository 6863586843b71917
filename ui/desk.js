/*
 * desk.js - the supervisors' desk: GET /api/v1/desk (pending dispatch and
 * escalated, oldest first, with the returns' reasons), the departments to choose
 * from (GET /api/v1/departments), and the moves: dispatch, ruling, close.
 * Refreshes every 10 s and after each move. Keyboard: Up/Down choose a ticket,
 * Alt+D dispatch (or rule to dispatch), Alt+X close, Alt+R refresh.
 */
"use strict";

(() => {
  const { el, $, say, api, explain, time, stateName } = Hotline;
  const WHY = { no_rule: "无匹配规则", returned: "部门退单" };
  let tickets = [];
  let selected = null; /* ticket_no */

  async function loadDepartments() {
    const r = await api("GET", "/api/v1/departments");
    if (r.status !== 200) return;
    $("dept").replaceChildren(...r.body.departments.map((d) =>
      el("option", { value: d.code }, `${d.name}（${d.code}）`)));
  }

  async function refresh() {
    const r = await api("GET", "/api/v1/desk?limit=200");
    if (r.status !== 200) return;
    tickets = r.body.tickets;
    $("count").textContent = tickets.length;
    if (!tickets.some((t) => t.ticket_no === selected)) selected = tickets.length ? tickets[0].ticket_no : null;
    render();
  }

  function render() {
    $("desk").replaceChildren(...tickets.map((t) =>
      el("tr", {
        "data-ticket": t.ticket_no, tabindex: "-1", class: t.ticket_no === selected ? "selected" : null,
        onclick: () => choose(t.ticket_no),
      },
      el("td", {}, t.ticket_no), el("td", { class: t.state === "ESCALATED" ? "bad" : null }, stateName(t.state)),
      el("td", {}, WHY[t.why] || t.why), el("td", {}, t.category || ""), el("td", {}, t.district || ""),
      el("td", {}, t.content), el("td", {}, time(t.waiting_since)), el("td", { class: "num" }, t.return_count))));
    const t = tickets.find((x) => x.ticket_no === selected);
    $("act").hidden = !t;
    if (!t) return;
    $("act-no").textContent = t.ticket_no;
    $("act-state").textContent = `${stateName(t.state)} · ${t.content}`;
    $("act-returns").replaceChildren(...t.returns.map((x) =>
      el("li", {}, `${time(x.at)} ${x.dept_code} 退单：`, el("b", {}, x.reason || ""))));
    const escalated = t.state === "ESCALATED";
    $("dispatch").hidden = escalated;
    $("rule-dispatch").hidden = !escalated;
    $("rule-close").hidden = !escalated;
  }

  function choose(no) {
    selected = no;
    $("act-err").textContent = "";
    render();
  }

  async function move(path, body) {
    $("act-err").textContent = "";
    const r = await api("POST", `/api/v1/tickets/${encodeURIComponent(selected)}/${path}`, body);
    if (r.status === 200) {
      say("ok", `${r.body.ticket_no}：${stateName(r.body.state)}${r.body.dept_code ? " → " + r.body.dept_code : ""}`);
      $("reason").value = "";
      $("dup").value = "";
      await refresh();
    } else if (r.status !== 401) {
      $("act-err").textContent = explain(r.status, r.body);
    }
  }

  function reasonOrFail() {
    const reason = $("reason").value.trim();
    if (!reason) {
      $("act-err").textContent = "请填写理由";
      $("reason").focus();
    }
    return reason;
  }

  function dispatch() {
    const t = tickets.find((x) => x.ticket_no === selected);
    if (!t) return;
    const dept = $("dept").value;
    if (t.state === "ESCALATED") {
      const reason = reasonOrFail();
      if (reason) move("ruling", { decision: "dispatch", dept_code: dept, reason });
    } else {
      const note = $("reason").value.trim();
      move("dispatch", note ? { dept_code: dept, note } : { dept_code: dept });
    }
  }

  function ruleClose() {
    const reason = reasonOrFail();
    if (reason) move("ruling", { decision: "close", reason });
  }

  function close() {
    const reason = reasonOrFail();
    if (!reason) return;
    const dup = $("dup").value.trim();
    move("close", dup ? { reason, duplicate_of: dup } : { reason });
  }

  function start() {
    $("dispatch").addEventListener("click", dispatch);
    $("rule-dispatch").addEventListener("click", dispatch);
    $("rule-close").addEventListener("click", ruleClose);
    $("close").addEventListener("click", close);
    document.addEventListener("keydown", (ev) => {
      const inField = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
      if ((ev.key === "ArrowDown" || ev.key === "ArrowUp") && !inField && tickets.length) {
        const i = tickets.findIndex((t) => t.ticket_no === selected);
        const j = Math.max(0, Math.min(tickets.length - 1, i + (ev.key === "ArrowDown" ? 1 : -1)));
        choose(tickets[j].ticket_no);
        ev.preventDefault();
      } else if (ev.altKey && !ev.ctrlKey) {
        const k = ev.key.toLowerCase();
        if (k === "d") dispatch();
        else if (k === "x") close();
        else if (k === "r") refresh();
        else return;
        ev.preventDefault();
      }
    });
    loadDepartments();
    refresh();
    setInterval(refresh, 10000);
  }

  document.addEventListener("DOMContentLoaded", () => Hotline.login(start, "supervisor"));
})();
