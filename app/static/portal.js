/* Every page (portal_layout.html): an irreversible action asks first in the page's own dialog
   (#portal-confirm: 确定 / 取消), whoever drew it:
   - a form carrying data-confirm (post_button), or a submit button carrying it: the form is
     sent, with the button pressed, only after 确定;
   - a link carrying data-confirm (退出): followed only after 确定;
   - a list's batch menu (data-batch): the ticked rows, after 确定; none ticked says so. */
(function () {
  "use strict";
  var modal = document.getElementById("portal-confirm");
  if (!modal || !window.jQuery) {       // no dialog on this page: nothing asks, nothing waits
    document.documentElement.classList.add("portal-ready");
    return;
  }
  var $modal = window.jQuery(modal);
  var pending = null;      // what 确定 does
  var passing = null;      // the form let through once, after 确定

  function ask(text, proceed) {
    pending = proceed;
    document.getElementById("portal-confirm-text").textContent = text;
    $modal.modal("show");
  }

  function tell(text) {
    ask(text, null);
    document.getElementById("portal-confirm-cancel").style.display = "none";
  }

  $modal.on("hidden.bs.modal", function () {
    pending = null;
    document.getElementById("portal-confirm-cancel").style.display = "";
  });
  $modal.on("shown.bs.modal", function () { document.getElementById("portal-confirm-ok").focus(); });
  document.getElementById("portal-confirm-ok").addEventListener("click", function () {
    var proceed = pending;
    pending = null;
    $modal.modal("hide");
    if (proceed) { proceed(); }
  });

  // Forms: on submit (a click or the Enter key); the question is the button's or the form's.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (passing === form) { passing = null; return; }
    var button = e.submitter || null;
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!text) { return; }
    e.preventDefault();
    e.stopImmediatePropagation();
    ask(text, function () {
      passing = form;
      if (form.requestSubmit) { form.requestSubmit(button); } else { form.submit(); }
      passing = null;
    });
  }, true);

  // Links (退出 …) and the batch menus of the lists.
  document.addEventListener("click", function (e) {
    var link = e.target.closest("a[data-confirm]");
    if (link) {
      e.preventDefault();
      ask(link.getAttribute("data-confirm"), function () { window.location.href = link.href; });
      return;
    }
    var batch = e.target.closest("a[data-batch]");
    if (batch) {
      e.preventDefault();
      var ticked = document.querySelectorAll("input.action_check:checked");
      if (!ticked.length) { tell(batch.getAttribute("data-none")); return; }
      ask(batch.getAttribute("data-confirm-text"), function () { sendBatch(batch, ticked); });
    }
  }, true);

  // Until this point a click on an asking button would have gone out unasked: portal.css
  // keeps them unclickable until the page says it is ready.
  document.documentElement.classList.add("portal-ready");

  function sendBatch(batch, ticked) {
    var form = document.getElementById("action_form");
    form.querySelector("#action").value = batch.getAttribute("data-batch");
    form.querySelectorAll("input[name=rowid], input[name=next]").forEach(function (old) {
      old.remove();
    });
    ticked.forEach(function (box) { form.appendChild(hidden("rowid", box.value)); });
    form.appendChild(hidden("next", window.location.pathname + window.location.search));
    form.submit();
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }
})();
