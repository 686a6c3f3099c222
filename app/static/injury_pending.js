/* 我的待提交业务 (templates/injury/pending.html): 全选 ticks every row of its table; a
   button with data-confirm asks first (删除). */
(function () {
  document.querySelectorAll("#pending-form .check-all").forEach(function (all) {
    all.addEventListener("change", function () {
      all.closest("table").querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
  document.querySelectorAll("#pending-form [data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (e) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  });
})();
