/* Every page (portal_layout.html): the portal's own Chinese date and date-time picker, for
   every input carrying data-picker="date" or data-picker="datetime" (app/views/shared/dates.py),
   also inputs drawn later (the events are caught on the document).
   - Opens under the input on focus or click: « ‹ 2026年11月 › » (year and month), the week
     一 … 日 (Monday first), the days (today marked, the chosen day highlighted), for a
     date-time a 24-hour 时:分:秒 row, and 今天 / 清除 / 确定.
   - Reads what the input holds (2026-11-01, 2026/11/01, 2026-11-01 08:00,
     2026-11-01T08:00:00) to open on that day; writes "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS".
   - Typing keeps working: the picker follows a typed day and never erases what was typed;
     Enter and Escape close it without writing; a click elsewhere or Tab away closes it. */
(function () {
  "use strict";
  var WEEK = ["一", "二", "三", "四", "五", "六", "日"];
  var READ = /^\s*(\d{4})[-\/.](\d{1,2})[-\/.](\d{1,2})(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?\s*$/;

  var popup = null;     // the one picker element, moved to the input it serves
  var input = null;     // that input, while the picker is open
  var shown = null;     // {y, m}: the month on screen (m 0–11)
  var chosen = null;    // {y, m, d}: the day picked or read from the input
  var quiet = false;    // the focus the picker gives back to its input opens nothing

  function refocus(target) {
    quiet = true;
    try { target.focus(); } finally { quiet = false; }
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function read(text) {
    var m = READ.exec(text || "");
    if (!m) { return null; }
    var y = +m[1], mo = +m[2] - 1, d = +m[3];
    var day = new Date(y, mo, d);
    if (day.getFullYear() !== y || day.getMonth() !== mo || day.getDate() !== d) { return null; }
    var h = +(m[4] || 0), mi = +(m[5] || 0), s = +(m[6] || 0);
    if (h > 23 || mi > 59 || s > 59) { return null; }
    return {y: y, m: mo, d: d, h: h, mi: mi, s: s};
  }

  function today() {
    var now = new Date();
    return {y: now.getFullYear(), m: now.getMonth(), d: now.getDate()};
  }

  function same(a, b) { return !!a && !!b && a.y === b.y && a.m === b.m && a.d === b.d; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function button(className, text, title) {
    var b = el("button", "dp-btn " + className, text);
    b.type = "button";
    if (title) { b.title = title; b.setAttribute("aria-label", title); }
    return b;
  }

  function isDateTime() { return input && input.getAttribute("data-picker") === "datetime"; }

  // ---- drawing ----------------------------------------------------------------------------

  function build() {
    popup = el("div", "portal-picker");
    popup.setAttribute("role", "dialog");
    popup.hidden = true;
    var head = el("div", "dp-head");
    head.appendChild(button("dp-prev-year", "«", "上一年"));
    head.appendChild(button("dp-prev-month", "‹", "上个月"));
    head.appendChild(el("span", "dp-title"));
    head.appendChild(button("dp-next-month", "›", "下个月"));
    head.appendChild(button("dp-next-year", "»", "下一年"));
    popup.appendChild(head);
    var table = el("table", "dp-days");
    var row = el("tr");
    WEEK.forEach(function (name) { row.appendChild(el("th", "", name)); });
    table.appendChild(el("thead")).appendChild(row);
    table.appendChild(el("tbody"));
    popup.appendChild(table);
    var time = el("div", "dp-time");
    time.appendChild(el("span", "dp-time-label", "时间"));
    time.appendChild(select("dp-hour", 24, "时"));
    time.appendChild(el("span", "dp-colon", ":"));
    time.appendChild(select("dp-minute", 60, "分"));
    time.appendChild(el("span", "dp-colon", ":"));
    time.appendChild(select("dp-second", 60, "秒"));
    popup.appendChild(time);
    var foot = el("div", "dp-foot");
    foot.appendChild(button("dp-today", "今天"));
    foot.appendChild(button("dp-clear", "清除"));
    foot.appendChild(button("dp-ok btn-primary", "确定"));
    popup.appendChild(foot);
    popup.addEventListener("mousedown", keepFocus);
    popup.addEventListener("click", act);
    popup.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); var at = input; close(); if (at) { refocus(at); } }
    });
    document.body.appendChild(popup);
  }

  function select(className, count, title) {
    var box = el("select", "dp-select " + className);
    box.title = title;
    box.setAttribute("aria-label", title);
    for (var i = 0; i < count; i += 1) {
      var option = el("option", "", pad(i));
      option.value = String(i);
      box.appendChild(option);
    }
    return box;
  }

  function draw() {
    popup.querySelector(".dp-title").textContent = shown.y + "年" + (shown.m + 1) + "月";
    var body = popup.querySelector("tbody");
    body.textContent = "";
    var first = new Date(shown.y, shown.m, 1);
    var lead = (first.getDay() + 6) % 7;              // Monday first
    var now = today();
    for (var week = 0; week < 6; week += 1) {
      var row = body.appendChild(el("tr"));
      for (var wd = 0; wd < 7; wd += 1) {
        var day = new Date(shown.y, shown.m, 1 + week * 7 + wd - lead);
        var at = {y: day.getFullYear(), m: day.getMonth(), d: day.getDate()};
        var cell = button("dp-day", String(at.d), at.y + "年" + (at.m + 1) + "月" + at.d + "日");
        cell.setAttribute("data-date", at.y + "-" + pad(at.m + 1) + "-" + pad(at.d));
        if (at.m !== shown.m) { cell.className += " dp-other"; }
        if (same(at, now)) { cell.className += " dp-now"; }
        if (same(at, chosen)) { cell.className += " dp-chosen"; cell.setAttribute("aria-pressed", "true"); }
        row.appendChild(el("td")).appendChild(cell);
      }
    }
    popup.querySelector(".dp-time").hidden = !isDateTime();
  }

  function place() {
    var box = input.getBoundingClientRect();
    var left = box.left + window.pageXOffset;
    var room = document.documentElement.clientWidth + window.pageXOffset - popup.offsetWidth - 4;
    popup.style.left = Math.max(window.pageXOffset, Math.min(left, room)) + "px";
    popup.style.top = (box.bottom + window.pageYOffset + 2) + "px";
  }

  // ---- opening, closing, writing ---------------------------------------------------------

  function open(target) {
    if (target.disabled || target.readOnly) { return; }
    if (!popup) { build(); }
    input = target;
    var value = read(input.value);
    chosen = value && {y: value.y, m: value.m, d: value.d};
    shown = value ? {y: value.y, m: value.m} : {y: today().y, m: today().m};
    setTime(value || {h: 0, mi: 0, s: 0});
    popup.setAttribute("aria-label", isDateTime() ? "选择日期时间" : "选择日期");
    popup.hidden = false;
    draw();
    place();
  }

  function close() {
    if (popup) { popup.hidden = true; }
    input = null;
  }

  function setTime(t) {
    popup.querySelector(".dp-hour").value = String(t.h);
    popup.querySelector(".dp-minute").value = String(t.mi);
    popup.querySelector(".dp-second").value = String(t.s);
  }

  function timeText() {
    return ["dp-hour", "dp-minute", "dp-second"].map(function (name) {
      return pad(+popup.querySelector("." + name).value);
    }).join(":");
  }

  function write(text) {
    var target = input;
    target.value = text;
    target.dispatchEvent(new Event("input", {bubbles: true}));
    target.dispatchEvent(new Event("change", {bubbles: true}));
    close();
    refocus(target);
  }

  function writeDay(day) {
    var text = day.y + "-" + pad(day.m + 1) + "-" + pad(day.d);
    write(isDateTime() ? text + " " + timeText() : text);
  }

  function turn(months) {
    var to = new Date(shown.y, shown.m + months, 1);
    shown = {y: to.getFullYear(), m: to.getMonth()};
    draw();
  }

  function act(e) {
    var b = e.target.closest("button");
    if (!b || !input) { return; }
    var has = function (name) { return b.classList.contains(name); };
    if (has("dp-prev-year")) { turn(-12); } else if (has("dp-next-year")) { turn(12); }
    else if (has("dp-prev-month")) { turn(-1); } else if (has("dp-next-month")) { turn(1); }
    else if (has("dp-day")) {
      var day = read(b.getAttribute("data-date"));
      chosen = {y: day.y, m: day.m, d: day.d};
      if (isDateTime()) { shown = {y: day.y, m: day.m}; draw(); } else { writeDay(chosen); }
    }
    else if (has("dp-today")) { writeDay(today()); }
    else if (has("dp-clear")) { write(""); }
    else if (has("dp-ok")) {
      if (chosen) { writeDay(chosen); } else { var at = input; close(); refocus(at); }
    }
  }

  // A click on the picker's buttons leaves the focus (and the caret) in the input.
  function keepFocus(e) {
    if (e.target.closest("button")) { e.preventDefault(); }
  }

  // ---- the page's events -----------------------------------------------------------------

  function pickerInput(node) {
    return node && node.closest ? node.closest("input[data-picker]") : null;
  }

  document.addEventListener("focusin", function (e) {
    var target = pickerInput(e.target);
    if (target && target !== input && !quiet) { open(target); }
  });

  document.addEventListener("click", function (e) {
    var target = pickerInput(e.target);
    if (target && (target !== input || popup.hidden)) { open(target); }
  });

  document.addEventListener("mousedown", function (e) {
    if (!input || !popup || popup.contains(e.target) || e.target === input) { return; }
    close();
  });

  document.addEventListener("focusout", function (e) {
    if (!input || !popup) { return; }
    var to = e.relatedTarget;
    if (to && (to === input || popup.contains(to))) { return; }
    if (e.target === input || popup.contains(e.target)) {
      // a focus that left the input and the picker (Tab, another field) closes it
      setTimeout(function () {
        var now = document.activeElement;
        if (input && now !== input && !popup.contains(now)) { close(); }
      }, 0);
    }
  });

  // Typing: the picker follows a readable day and never touches the text; while the text is
  // no day, no day is chosen (确定 then keeps the text, for the server to say what is wrong).
  document.addEventListener("input", function (e) {
    if (!input || e.target !== input) { return; }
    var value = read(input.value);
    chosen = value && {y: value.y, m: value.m, d: value.d};
    if (value) {
      shown = {y: value.y, m: value.m};
      setTime(value);
    }
    draw();
  });

  document.addEventListener("keydown", function (e) {
    if (!input || e.target !== input || popup.hidden) { return; }
    if (e.key === "Escape" || e.key === "Enter") {
      e.preventDefault();           // Enter closes the picker; it neither writes nor submits
      close();
    } else if (e.key === "Tab") {
      close();
    }
  });

  window.addEventListener("resize", function () { if (input) { place(); } });
}());
