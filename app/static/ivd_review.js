/* 报量项目审核 / 全国报量数据: the list's 搜索 (e.g. by 状态) keeps the page's context — the
   chosen 报量项目 and the region opened by 详情 — as hidden fields of FAB's filter form. */
(function () {
  "use strict";
  var me = document.currentScript;
  var form = document.getElementById("filter_form");
  if (!me || !form) { return; }
  [["project", me.getAttribute("data-project")], ["region", me.getAttribute("data-region")]]
    .forEach(function (pair) {
      if (!pair[1] || form.querySelector("input[name=" + pair[0] + "]")) { return; }
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
})();
