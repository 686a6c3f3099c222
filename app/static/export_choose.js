/* 导出查询数据: keep the page's order as the file's order. A field ticked goes after the
   fields already ticked (so they line up in the order they were ticked), an unticked one
   after them; 上移 / 下移 move a field; the numbers show each ticked field's column. The form
   sends the boxes in page order. Nothing ticked: the message instead of the request (the
   server refuses it too). No library. */
(function () {
  var form = document.getElementById("export-choose");
  if (!form) { return; }
  var list = form.querySelector(".export-columns");
  var problem = form.querySelector(".export-problem");

  function items() { return Array.prototype.slice.call(list.querySelectorAll(".export-column")); }
  function ticked(li) { return li.querySelector("input[type=checkbox]").checked; }

  function renumber() {
    var n = 0;
    items().forEach(function (li) {
      li.querySelector(".export-order").textContent = ticked(li) ? String(++n) : "";
    });
  }

  function afterTicked(li) {
    var others = items().filter(function (x) { return x !== li && ticked(x); });
    var last = others[others.length - 1];
    list.insertBefore(li, last ? last.nextSibling : list.firstChild);
  }

  list.addEventListener("change", function (event) {
    if (event.target.type !== "checkbox") { return; }
    afterTicked(event.target.closest(".export-column"));
    problem.hidden = true;
    renumber();
  });

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    var li = button.closest(".export-column");
    if (button.classList.contains("export-up") && li.previousElementSibling) {
      list.insertBefore(li, li.previousElementSibling);
    } else if (button.classList.contains("export-down") && li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    }
    renumber();
  });

  function tickAll(on) {
    items().forEach(function (li) { li.querySelector("input[type=checkbox]").checked = on; });
    renumber();
  }
  form.querySelector(".export-all").addEventListener("click", function () { tickAll(true); });
  form.querySelector(".export-none").addEventListener("click", function () { tickAll(false); });

  form.addEventListener("submit", function (event) {
    if (!items().some(ticked)) {
      event.preventDefault();
      problem.textContent = problem.getAttribute("data-message");
      problem.hidden = false;
    }
  });
}());
