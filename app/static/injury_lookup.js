/* 工伤保险业务 (templates/injury/lookup.html): with several determinations none is chosen
   and the business buttons wait until one is; the 放大镜 beside the ID number brings the
   determinations into view and marks them. An ID number pasted with spaces is trimmed. */
(function () {
  var menu = document.getElementById("menu-form");
  var id = document.getElementById("id_number");
  if (id) {
    id.addEventListener("paste", function () {
      setTimeout(function () { id.value = id.value.replace(/\s+/g, ""); }, 0);
    });
  }
  if (!menu) { return; }
  var buttons = menu.querySelectorAll(".business-button");
  var table = document.getElementById("determinations");
  menu.querySelectorAll("input[name=determination]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      buttons.forEach(function (b) { b.disabled = false; b.removeAttribute("title"); });
      var hint = document.getElementById("choose-first");
      if (hint) { hint.classList.add("hidden"); }
    });
  });
  var pick = document.getElementById("pick-determination");
  if (pick && table) {
    pick.addEventListener("click", function (event) {
      event.preventDefault();
      table.scrollIntoView({block: "center"});
      table.classList.add("injury-picking");
      var first = table.querySelector("input[name=determination]");
      if (first) { first.focus(); }
    });
  }
})();
