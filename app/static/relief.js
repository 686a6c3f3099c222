/* 疾病应急救助 pages: a select marked data-autosubmit (上报数据浏览's 上报任务) shows the
   chosen option's page as soon as it is picked. */
(function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
