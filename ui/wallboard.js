/*
 * wallboard.js - the supervisors' wallboard: polls GET /api/v1/stats/live every 5 s
 * (the figures of `hotline-stats live`, from the same statements) and shows waiting,
 * in hand, overdue and due soon per department, intake per feed over the last hour,
 * the desk, satisfaction today against the period, and the calendar horizon warning.
 * Until the daemon has the statistics endpoint (404) it says so and keeps trying.
 */
"use strict";

(() => {
  const { el, $, say, api, explain, time } = Hotline;
  const POLL_MS = 5000;

  function pct(r) {
    return r && r.den > 0 ? `${((100 * r.num) / r.den).toFixed(1)}%` : "—";
  }

  function show(s) {
    $("at").textContent = time(s.now || new Date(s.now_ms).toISOString());
    $("desk-n").textContent = s.manual_desk;
    $("escalated-n").textContent = s.escalated;
    $("callbacks-n").textContent = s.callbacks_waiting;
    const sat = s.satisfaction || {};
    $("sat-today").textContent = pct(sat.today);
    $("sat-period").textContent = pct(sat.period);
    $("depts").replaceChildren(...s.departments.map((d) =>
      el("tr", { "data-dept": d.dept_code },
        el("td", {}, d.name || d.dept_code), el("td", { class: "num" }, d.waiting),
        el("td", { class: "num" }, d.in_hand), el("td", { class: d.overdue ? "num bad" : "num" }, d.overdue),
        el("td", { class: "num" }, d.due_soon))));
    $("feeds").replaceChildren(...s.intake.map((f) =>
      el("tr", { "data-feed": f.feed_code },
        el("td", {}, f.feed_code), el("td", { class: "num" }, f.last_hour), el("td", { class: "num" }, f.last_minute))));
    const cal = s.calendar;
    $("horizon").textContent = cal && cal.warning ? `⚠ 工作日历：${cal.warning}` : "";
    $("horizon").className = cal && cal.warning ? "bad" : "";
  }

  async function poll() {
    const r = await api("GET", "/api/v1/stats/live");
    if (r.status === 200) {
      say("", "");
      show(r.body);
    } else if (r.status === 404) {
      say("warn", "此服务器尚未提供统计接口（GET /api/v1/stats/live 返回 404），大屏无法显示");
    } else if (r.status !== 401 && r.status !== 403 && r.status !== 503) {
      say("error", explain(r.status, r.body));
    }
  }

  function start() {
    poll();
    setInterval(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => Hotline.login(start, "supervisor"));
})();
