/*
 * wallboard.js - the wallboard: polls GET /api/v1/stats/live every 5 s (the figures
 * of `hotline-stats live`, from the same statements; docs/ui.md "The wallboard") and
 * shows waiting, in hand, overdue and due soon per department, intake per feed over
 * the last hour and minute, the desk, escalations, callbacks waiting, 有效参评满意率
 * today against this month, and the calendar's horizon warning.
 * On 401 the login form comes back; on 403, 503 or no answer the banner says why in
 * Chinese, the figures stay, marked as of their time, and polling goes on, so the
 * board recovers by itself. Readable by agents and supervisors alike.
 */
"use strict";

(() => {
  const { el, $, say, api, explain, time } = Hotline;
  const POLL_MS = 5000;
  const names = {}; /* dept_code -> name, from GET /api/v1/departments */
  let shownAt = null; /* when the figures on screen were taken (ms) */
  let timer = null; /* the next poll */

  function pct(r) {
    return r && r.den > 0 ? `${((100 * r.num) / r.den).toFixed(1)}%` : "—";
  }

  function count(r) {
    return r && r.den > 0 ? `${r.num} / ${r.den} 人次` : "暂无参评";
  }

  function show(s) {
    shownAt = s.now_ms;
    $("main").classList.remove("stale");
    $("at").textContent = time(new Date(s.now_ms).toISOString());
    $("desk-n").textContent = s.manual_desk;
    $("escalated-n").textContent = s.escalated;
    $("callbacks-n").textContent = s.callbacks_waiting;
    const sat = s.satisfaction || {};
    $("sat-today").textContent = pct(sat.today);
    $("sat-period").textContent = pct(sat.period);
    $("sat-detail").textContent = `今日 ${count(sat.today)} · 本月 ${count(sat.period)}`;
    $("depts").replaceChildren(...s.departments.map((d) =>
      el("tr", { "data-dept": d.dept_code },
        el("td", {}, names[d.dept_code] || d.dept_code), el("td", { class: "num" }, d.waiting),
        el("td", { class: "num" }, d.in_hand), el("td", { class: d.overdue ? "num bad" : "num" }, d.overdue),
        el("td", { class: "num" }, d.due_soon))));
    $("feeds").replaceChildren(...s.intake.map((f) =>
      el("tr", { "data-feed": f.feed_code },
        el("td", {}, f.feed_code), el("td", { class: "num" }, f.last_hour), el("td", { class: "num" }, f.last_minute))));
    const warning = s.calendar && s.calendar.warning;
    $("horizon").textContent = warning ? `⚠ 工作日历：${warning}` : "";
    $("horizon").className = warning ? "bad" : "";
  }

  /* The server's own words after ours, if it said any. */
  function server(body) {
    return body && body.error ? `：${body.error.message}` : "";
  }

  /* The figures on screen are old: say so beside their time, and in the banner why. */
  function stale(kind, why) {
    $("main").classList.add("stale");
    const since = shownAt ? `大屏停在 ${time(new Date(shownAt).toISOString())} 的数据` : "大屏暂无数据";
    say(kind, `${why}；${since}，恢复后自动更新`);
  }

  async function poll() {
    const r = await api("GET", "/api/v1/stats/live", undefined, true);
    if (r.status === 200) {
      say("", "");
      show(r.body);
    } else if (r.status === 401) {
      return; /* api() showed the login form; start() polls again after the next login */
    } else if (r.status === 403) {
      stale("error", `无权查看统计：此账号的角色不能读取大屏数据（403）${server(r.body)}`);
    } else if (r.status === 503) {
      stale("warn", `统计暂不可用：数据库无法连接或服务繁忙（503）${server(r.body)}`);
    } else {
      stale("error", explain(r.status, r.body));
    }
    timer = setTimeout(poll, POLL_MS);
  }

  async function start() {
    clearTimeout(timer);
    const r = await api("GET", "/api/v1/departments", undefined, true);
    if (r.status === 200) for (const d of r.body.departments) names[d.code] = d.name;
    poll();
  }

  document.addEventListener("DOMContentLoaded", () => Hotline.login(start));
})();
