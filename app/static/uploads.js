/* Every page (portal_layout.html): a form that sends a large file (together at least
   data-progress-from bytes, 1 MB unless the form says otherwise) is sent by XMLHttpRequest
   so that a progress bar under the form shows how much has gone; the page the server
   answers with (the record again with its message, or the form with what was refused)
   then replaces this one, as a normal submission would. Small files go the usual way. */
(function () {
  "use strict";
  var DEFAULT_FROM = 1024 * 1024;

  function chosenBytes(form) {
    var total = 0;
    var inputs = form.querySelectorAll("input[type=file]");
    for (var i = 0; i < inputs.length; i++) {
      for (var j = 0; j < inputs[i].files.length; j++) { total += inputs[i].files[j].size; }
    }
    return total;
  }

  function megabytes(bytes) { return (bytes / 1024 / 1024).toFixed(1) + " MB"; }

  function progressBar(form) {
    var box = document.createElement("div");
    box.className = "progress upload-progress";
    box.style.marginTop = "6px";
    var bar = document.createElement("div");
    bar.className = "progress-bar progress-bar-striped active";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.style.minWidth = "3em";
    bar.style.width = "0%";
    bar.textContent = "0%";
    box.appendChild(bar);
    form.parentNode.insertBefore(box, form.nextSibling);
    return bar;
  }

  function show(bar, loaded, total) {
    var pct = total ? Math.floor(loaded * 100 / total) : 0;
    bar.style.width = pct + "%";
    bar.setAttribute("aria-valuenow", String(pct));
    bar.textContent = pct < 100 ? "已上传 " + pct + "%（" + megabytes(loaded) + " / " +
      megabytes(total) + "）" : "上传完成，正在处理…";
  }

  function replacePage(xhr) {
    if (xhr.responseURL) { window.history.replaceState(null, "", xhr.responseURL); }
    document.open();
    document.write(xhr.responseText);
    document.close();
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || !window.FormData || !(form instanceof HTMLFormElement) ||
        (form.enctype || "").toLowerCase() !== "multipart/form-data") { return; }
    var from = parseInt(form.getAttribute("data-progress-from") || DEFAULT_FROM, 10);
    if (chosenBytes(form) < from) { return; }
    e.preventDefault();
    var data = new FormData(form);
    if (e.submitter && e.submitter.name) { data.append(e.submitter.name, e.submitter.value); }
    var buttons = form.querySelectorAll("button, input[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    var bar = progressBar(form);
    var xhr = new XMLHttpRequest();
    xhr.open((form.getAttribute("method") || "post").toUpperCase(), form.action);
    xhr.upload.addEventListener("progress", function (p) {
      if (p.lengthComputable) { show(bar, p.loaded, p.total); }
    });
    xhr.addEventListener("load", function () { replacePage(xhr); });
    xhr.addEventListener("error", function () {
      bar.className = "progress-bar progress-bar-danger";
      bar.style.width = "100%";
      bar.textContent = "上传失败，请检查网络后重试";
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = false; }
    });
    xhr.send(data);
  });
}());
