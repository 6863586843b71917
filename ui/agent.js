/*
 * agent.js - the agent's screen: a new call (checked as lib/intake.c checks it, then
 * POST /api/v1/tickets), the caller's history as the number is typed, knowledge-base
 * search as you type with one-click 直接办结, and the callback queue.
 * Keyboard: Alt+N new call, Ctrl+Enter submit, Alt+K search, Alt+B next callback,
 * Alt+1..4 a callback's outcome.
 */
"use strict";

(() => {
  const { el, $, say, api, explain, time, stateName, randomId, bytes } = Hotline;
  const LIMITS = { caller_phone: 32, caller_name: 128, category: 64, district: 64, address: 512, content: 8192 };
  const FIELDS = ["caller_phone", "caller_name", "category", "district", "address", "content"];
  let externalId = randomId("ui-"); /* one per call: resending after a timeout is safe */
  let callback = null;

  function debounce(fn, ms) {
    let t = null;
    return (...a) => {
      clearTimeout(t);
      t = setTimeout(() => fn(...a), ms);
    };
  }

  /* The record, or null after showing what is wrong (the server's rules, docs/protocols.md). */
  function readForm() {
    const rec = {};
    for (const f of FIELDS) {
      const v = $(f).value.trim();
      if (v) rec[f] = v;
      if (bytes(v) > LIMITS[f]) return fail(f, `${$(f).previousElementSibling.textContent}超过 ${LIMITS[f]} 字节`);
    }
    const phone = rec.caller_phone || "";
    if (phone && (!/^[0-9+\-() ]*$/.test(phone) || !/[0-9]/.test(phone)))
      return fail("caller_phone", "来电号码只能包含数字、+、-、空格和括号");
    if (!rec.content) return fail("content", "诉求内容必填");
    rec.priority = $("priority").value;
    rec.channel = "phone";
    return rec;
  }

  function fail(field, msg) {
    $(field === "caller_phone" ? "caller_phone-err" : "call-err").textContent = msg;
    $(field).focus();
    return null;
  }

  async function submit(extra) {
    $("call-err").textContent = "";
    $("caller_phone-err").textContent = "";
    let rec = readForm();
    if (!rec && extra && extra.fallbackContent && !$("content").value.trim()) {
      $("content").value = extra.fallbackContent;
      $("call-err").textContent = "";
      rec = readForm();
    }
    if (!rec) return;
    rec.external_id = externalId;
    if (extra && extra.answer) {
      rec.resolved_on_call = true;
      rec.answer = extra.answer;
    }
    $("submit").disabled = true;
    const r = await api("POST", "/api/v1/tickets", rec);
    $("submit").disabled = false;
    if (r.status === 201 || r.status === 200) {
      $("ticket-no").textContent = r.body.ticket_no;
      $("ticket-state").textContent = r.body.duplicate ? "（重复提交，已是原工单）" : stateName(r.body.state);
      say("ok", `工单 ${r.body.ticket_no} 已保存${r.body.state === "CLOSED" ? "，已直接办结" : ""}`);
      externalId = randomId("ui-");
      if (rec.caller_phone) loadHistory(rec.caller_phone);
    } else if (r.status === 400) {
      $("call-err").textContent = explain(400, r.body);
    } else if (r.status !== 401) {
      $("call-err").textContent = explain(r.status, r.body) + "（可再次提交，不会重复建单）";
    }
  }

  function newCall() {
    for (const f of FIELDS) $(f).value = "";
    $("priority").value = "normal";
    $("ticket-no").textContent = "—";
    $("ticket-state").textContent = "";
    $("call-err").textContent = "";
    $("caller_phone-err").textContent = "";
    $("history").replaceChildren(el("li", { class: "muted" }, "输入来电号码后显示"));
    externalId = randomId("ui-");
    $("caller_phone").focus();
  }

  async function loadHistory(phone) {
    const r = await api("GET", `/api/v1/callers/${encodeURIComponent(phone)}/tickets?limit=10`, undefined, true);
    if (r.status !== 200) {
      $("history").replaceChildren(el("li", { class: "err" }, explain(r.status, r.body)));
      return;
    }
    if (!r.body.tickets.length) {
      $("history").replaceChildren(el("li", { class: "muted" }, "无历史诉求"));
      return;
    }
    $("history").replaceChildren(...r.body.tickets.map((t) =>
      el("li", { "data-ticket": t.ticket_no },
        el("b", {}, t.ticket_no), " ", stateName(t.state), " · ", t.category || "", " · ",
        el("span", { class: "muted" }, time(t.created_at)), el("br"), t.content,
        t.rating ? el("span", { class: "muted" }, ` 评价：${t.rating}`) : null)));
  }

  const historySoon = debounce(() => {
    const phone = $("caller_phone").value.trim();
    if ((phone.match(/[0-9]/g) || []).length >= 7 && /^[0-9+\-() ]*$/.test(phone)) loadHistory(phone);
  }, 300);

  let kbSeq = 0;
  const kbSoon = debounce(async () => {
    const q = $("kb-q").value.trim();
    const seq = ++kbSeq;
    if (!q) {
      $("kb").replaceChildren();
      return;
    }
    const r = await api("GET", `/api/v1/kb?q=${encodeURIComponent(q)}&limit=8`, undefined, true);
    if (seq !== kbSeq) return; /* a newer search is on its way */
    if (r.status !== 200) {
      $("kb").replaceChildren(el("li", { class: "err" }, explain(r.status, r.body)));
      return;
    }
    if (!r.body.entries.length) {
      $("kb").replaceChildren(el("li", { class: "muted" }, "没有找到"));
      return;
    }
    $("kb").replaceChildren(...r.body.entries.map((e) =>
      el("li", { "data-kb": e.id },
        el("b", {}, e.question), el("span", { class: "muted" }, ` ${e.id} · ${e.department || ""}`), el("br"),
        el("span", { class: "kb-answer" }, e.answer), " ",
        el("button", { type: "button", class: "kb-resolve", onclick: () => submit({ answer: e.answer, fallbackContent: e.question }) },
          "直接办结"))));
  }, 250);

  async function nextCallback() {
    $("cb-msg").textContent = "";
    const r = await api("POST", "/api/v1/callbacks/claim", {});
    if (r.status === 204) {
      $("cb").hidden = true;
      callback = null;
      $("cb-msg").textContent = "暂无待回访工单";
      return;
    }
    if (r.status !== 200) {
      $("cb-msg").textContent = explain(r.status, r.body);
      return;
    }
    callback = r.body;
    $("cb-no").textContent = callback.ticket_no;
    $("cb-caller").textContent = `${callback.caller_name || ""} ${callback.caller_phone || ""}`;
    $("cb-dept").textContent = callback.dept_code || "";
    $("cb-attempt").textContent = callback.attempt;
    $("cb-content").textContent = callback.content || "";
    $("cb-reply").textContent = callback.reply || "";
    $("cb-note").value = "";
    $("cb-msg").textContent = `领取至 ${time(callback.claimed_until)}`;
    $("cb").hidden = false;
    $("cb").querySelector("button").focus();
  }

  async function recordCallback(outcome) {
    if (!callback) return;
    const body = { outcome };
    const note = $("cb-note").value.trim();
    if (note) body.note = note;
    const r = await api("POST", `/api/v1/callbacks/${encodeURIComponent(callback.ticket_no)}/result`, body);
    if (r.status === 200) {
      $("cb-msg").textContent = `${r.body.ticket_no} 已记录，${stateName(r.body.state)}`;
      $("cb").hidden = true;
      callback = null;
      $("cb-next").focus();
    } else {
      $("cb-msg").textContent = explain(r.status, r.body);
    }
  }

  function start() {
    $("call").addEventListener("submit", (ev) => {
      ev.preventDefault();
      submit();
    });
    $("new-call").addEventListener("click", newCall);
    $("caller_phone").addEventListener("input", historySoon);
    $("kb-q").addEventListener("input", kbSoon);
    $("cb-next").addEventListener("click", nextCallback);
    for (const b of document.querySelectorAll("[data-outcome]"))
      b.addEventListener("click", () => recordCallback(b.dataset.outcome));
    document.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey && ev.key === "Enter") {
        ev.preventDefault();
        submit();
      } else if (ev.altKey && !ev.ctrlKey) {
        const outcomes = { 1: "satisfied", 2: "basically_satisfied", 3: "unsatisfied", 4: "unreachable" };
        const k = ev.key.toLowerCase();
        if (k === "n") newCall();
        else if (k === "k") $("kb-q").focus();
        else if (k === "b") nextCallback();
        else if (outcomes[ev.key] && callback) recordCallback(outcomes[ev.key]);
        else return;
        ev.preventDefault();
      }
    });
    $("caller_phone").focus();
  }

  document.addEventListener("DOMContentLoaded", () => Hotline.login(start));
})();
