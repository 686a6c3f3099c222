/* 医疗机构信息维护 form: administrative region cascade (province → city → county), the pooling
   areas of the chosen province, and the USCC 无 / 部队 switches. No library. */
(function () {
  var province = document.getElementById("province");
  if (!province) { return; }
  var city = document.getElementById("city"), county = document.getElementById("county"),
      pooling = document.getElementById("pooling_code"),
      url = province.getAttribute("data-url"), poolingUrl = province.getAttribute("data-pooling-url");
  function fill(select, rows, keepFirst) {
    select.options.length = keepFirst ? 1 : 0;
    rows.forEach(function (r) { select.add(new Option(r.name, r.code)); });
  }
  function children(parent, select) {
    fill(select, [], true);
    if (!parent) { return; }
    fetch(url + "?parent=" + encodeURIComponent(parent), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {regions: []}; })
      .then(function (data) { fill(select, data.regions || [], true); });
  }
  province.addEventListener("change", function () {
    children(province.value, city);
    fill(county, [], true);
    if (pooling) {
      fill(pooling, [], true);
      if (province.value) {
        fetch(poolingUrl + "?province=" + encodeURIComponent(province.value), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {areas: []}; })
          .then(function (data) { fill(pooling, data.areas || [], true); });
      }
    }
  });
  city.addEventListener("change", function () { children(city.value, county); });
  function toggle(box, input) {
    if (!box || !input) { return; }
    var sync = function () { input.disabled = box.checked; if (box.checked) { input.value = ""; } };
    box.addEventListener("change", sync);
    sync();
  }
  toggle(document.getElementById("no_uscc"), document.getElementById("uscc"));
})();
