/* 体外诊断试剂报量, the hospital's pages (templates/ivd/fill*.html):
   - the grid: leaving the page by 上一页 / 下一页 with changes not yet 暂存 asks first
     (the form's data-dirty is true when the page was drawn again after a refusal);
   - the 提交 page: 确认 asks before the report is submitted (data-confirm, portal.js). */
(function () {
  var form = document.getElementById("fill-form");
  if (form) {
    var dirty = form.getAttribute("data-dirty") === "true";
    var leave = form.getAttribute("data-leave");
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    document.querySelectorAll("a.page-link").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (dirty && !window.confirm(leave)) { e.preventDefault(); }
      });
    });
  }
})();
