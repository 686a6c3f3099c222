/* 我的待提交业务 (templates/injury/pending.html): 全选 ticks every row of its table (its
   buttons' data-confirm is asked by portal.js). */
(function () {
  document.querySelectorAll("#pending-form .check-all").forEach(function (all) {
    all.addEventListener("change", function () {
      all.closest("table").querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
})();
