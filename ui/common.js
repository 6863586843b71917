/*
 * common.js - what every screen shares: the token, calls to hotlined's HTTP API
 * (docs/http-api.md), the messages for 401/403/503, and building elements.
 *
 * The token lives in sessionStorage (this tab only, gone when it closes) and is
 * sent as "Authorization: Bearer ..." on every call; the pages themselves hold no
 * data. Text from the API is always set with textContent, never parsed as HTML.
 */
"use strict";

const Hotline = (() => {
  const KEY = "hotline.token";
  let onAuthLost = () => {};

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function $(id) {
    return document.getElementById(id);
  }

  /* The banner at the top of every screen: kind "error", "warn" or "ok". */
  function say(kind, text) {
    const b = $("banner");
    b.className = "banner " + kind;
    b.textContent = text;
    b.hidden = !text;
  }

  const STATUS_TEXT = {
    401: "登录已失效：令牌无效或账号已停用，请重新输入令牌（401）",
    403: "无权操作：您的账号角色不能执行此操作（403）",
    503: "服务暂不可用：数据库或 Redis 无法连接，或服务繁忙，请稍后重试（503）",
  };

  /* The message for a failed call: what the status means here, then the server's words. */
  function explain(status, body) {
    const server = body && body.error ? body.error.message : "";
    const base = STATUS_TEXT[status] ||
      (status === 0 ? "无法连接服务器，请检查网络" : `请求失败（${status}）`);
    return server ? `${base}：${server}` : base;
  }

  /*
   * Calls the API: resolves to {status, body} (body: the decoded JSON or null).
   * A 401 also clears the token and shows the login form again; 401/403/503 and
   * network failures are shown in the banner unless quiet is set.
   */
  async function api(method, path, body, quiet) {
    const headers = { Authorization: "Bearer " + (sessionStorage.getItem(KEY) || "") };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      if (!quiet) say("error", explain(0, null));
      return { status: 0, body: null };
    }
    let data = null;
    const text = await resp.text();
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (resp.status === 401) {
      sessionStorage.removeItem(KEY);
      say("error", explain(401, data));
      onAuthLost();
    } else if ((resp.status === 403 || resp.status === 503) && !quiet) {
      say(resp.status === 503 ? "warn" : "error", explain(resp.status, data));
    }
    return { status: resp.status, body: data };
  }

  function time(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  const STATE_NAMES = {
    RECEIVED: "已受理", PENDING_DISPATCH: "待派单", DISPATCHED: "已派单", ACCEPTED: "已签收",
    REPLIED: "已答复", CLOSED: "已办结", ESCALATED: "督办", LINKED: "已关联",
  };
  function stateName(s) {
    return STATE_NAMES[s] ? `${STATE_NAMES[s]}` : s || "—";
  }

  function randomId(prefix) {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /* Bytes of s in UTF-8: the server's limits are in bytes. */
  function bytes(s) {
    return new TextEncoder().encode(s).length;
  }

  /*
   * Logs in with the form #login (input #token): checks the token with GET /me,
   * then shows #main and calls start(me). needRole: "supervisor" to refuse agents.
   */
  function login(start, needRole) {
    const form = $("login");
    const main = $("main");
    async function check() {
      const r = await api("GET", "/api/v1/me", undefined, false);
      if (r.status !== 200) {
        if (r.status !== 401) say(r.status === 503 ? "warn" : "error", explain(r.status, r.body));
        form.hidden = false;
        main.hidden = true;
        $("token").focus();
        return;
      }
      $("who").textContent = `${r.body.name}（${r.body.role === "supervisor" ? "班长" : "话务员"}）`;
      $("logout").hidden = false;
      form.hidden = true;
      main.hidden = false;
      if (needRole && r.body.role !== needRole) say("warn", STATUS_TEXT[403] + "：此页面需要班长（supervisor）账号，可查看但不能操作");
      else say("", "");
      start(r.body);
    }
    onAuthLost = () => {
      form.hidden = false;
      main.hidden = true;
      $("who").textContent = "";
      $("logout").hidden = true;
      $("token").focus();
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("token").value.trim();
      if (!t) return;
      sessionStorage.setItem(KEY, t);
      $("token").value = "";
      check();
    });
    $("logout").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      say("", "");
      onAuthLost();
    });
    if (sessionStorage.getItem(KEY)) check();
    else onAuthLost();
  }

  return { el, $, say, api, explain, time, stateName, randomId, bytes, login };
})();
