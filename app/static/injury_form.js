/* 工伤 declaration form (templates/injury/form.html): the chosen determination fills the
   read-only fields below it; the device table adds and removes rows and looks products up
   (any part of the code, name or category; a note when more match than are shown) in the catalogue as one types. */
(function () {
  var form = document.getElementById("declaration-form");
  if (!form) { return; }
  var sel = document.getElementById("determination");
  if (sel) {
    sel.addEventListener("change", function () {
      var o = sel.options[sel.selectedIndex];
      document.getElementById("det-type").value = o.dataset.type;
      document.getElementById("det-no").value = o.dataset.no;
      document.getElementById("det-date").value = o.dataset.date;
      document.getElementById("det-employer").value = o.dataset.employer;
    });
  }
  var table = document.getElementById("device-lines");
  if (!table) { return; }
  var list = document.getElementById("device-options"), found = {}, timer = null;
  var url = form.getAttribute("data-devices");
  document.getElementById("add-line").addEventListener("click", function () {
    table.tBodies[0].appendChild(document.getElementById("line-template").content.cloneNode(true));
  });
  table.addEventListener("click", function (e) {
    if (e.target.classList.contains("remove-line")) { e.target.closest("tr").remove(); }
  });
  table.addEventListener("input", function (e) {
    if (!e.target.classList.contains("device-code")) { return; }
    var input = e.target, row = input.closest("tr"), hit = found[input.value];
    if (hit) {
      row.querySelector(".device-name").textContent = hit.name + " " + hit.specification;
      var price = row.querySelector(".device-price"), years = row.querySelector(".device-years");
      if (!price.value) { price.value = hit.price; }
      if (!years.value) { years.value = hit.usage_years; }
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(url + "?q=" + encodeURIComponent(input.value), {credentials: "same-origin"})
        .then(function (r) { return r.json(); }).then(function (answer) {
          list.innerHTML = "";
          var more = document.getElementById("device-more");
          more.textContent = answer.message || "";
          more.classList.toggle("hidden", !answer.more);
          answer.items.forEach(function (d) {
            found[d.code] = d;
            var o = document.createElement("option");
            o.value = d.code;
            o.label = d.name + " " + d.specification + " ¥" + d.price;
            list.appendChild(o);
          });
        });
    }, 200);
  });
})();
