/* 马上注册 (templates/injury/register.html): the region selects cascade (province → city →
   county, the county shown only when the city has counties); a click on the captcha image
   loads a new one. */
(function () {
  var province = document.getElementById("province"),
      city = document.getElementById("city"),
      county = document.getElementById("county");
  if (!province) { return; }
  var url = province.getAttribute("data-url");
  function show(select, visible) { select.classList.toggle("hidden", !visible); }
  function fill(select, parent, hideWhenEmpty) {
    select.options.length = 1;
    if (!parent) { if (hideWhenEmpty) { show(select, false); } return; }
    fetch(url + "?parent=" + encodeURIComponent(parent), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {regions: []}; })
      .then(function (data) {
        var rows = data.regions || [];
        if (rows.length) {
          var prompt = rows[0].level === "county" ? county : city;
          select.options[0].text = prompt.getAttribute("data-prompt");
        }
        rows.forEach(function (r) {
          var o = new Option(r.name, r.code);
          o.setAttribute("data-leaf", r.leaf ? "1" : "0");
          select.add(o);
        });
        if (hideWhenEmpty) { show(select, rows.length > 0); }
      });
  }
  province.addEventListener("change", function () {
    fill(city, province.value, false);
    fill(county, "", true);
  });
  city.addEventListener("change", function () {
    var chosen = city.options[city.selectedIndex];
    fill(county, chosen && chosen.getAttribute("data-leaf") === "0" ? city.value : "", true);
  });
  var captcha = document.getElementById("captcha-image");
  if (captcha) {
    captcha.addEventListener("click", function () {
      captcha.src = captcha.src.split("?")[0] + "?" + Date.now();
    });
  }
})();
