/* 基本公卫 screens: a header checkbox `.phs-check-all` ticks the boxes its data-targets
   selector names (机构隶属关系维护, 机构信息审核); the institution form's 全选 for the 15
   service items and, when a tile server is configured (PHS_MAP_TILE_URL), a small slippy
   map: click a place to fill 经度/纬度, drag to pan, +/− to zoom. Web Mercator tiles
   ({z}/{x}/{y}); no external library. 申请修改: choosing the institution of a 修改 loads
   its current values; 账号通知单: 打印. */
(function () {
  document.querySelectorAll(".phs-check-all").forEach(function (head) {
    head.addEventListener("change", function () {
      document.querySelectorAll(head.getAttribute("data-targets")).forEach(function (c) {
        c.checked = head.checked;
      });
    });
  });
  var all = document.getElementById("services-all");
  if (all) {
    var items = document.querySelectorAll(".service-item");
    var sync = function () {
      all.checked = Array.prototype.every.call(items, function (c) { return c.checked; });
    };
    all.addEventListener("change", function () {
      items.forEach(function (c) { c.checked = all.checked; });
    });
    items.forEach(function (c) { c.addEventListener("change", sync); });
    sync();
  }
  var print = document.getElementById("print-slip");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
  // 申请修改: choosing the institution of a 修改 loads its current values (a change amends).
  var change = document.getElementById("change-form");
  if (change) {
    var kind = document.getElementById("kind"), target = document.getElementById("institution");
    var load = function () {
      if (kind.value !== "modify" || !target.value) { return; }
      if (document.getElementById("loaded").value === target.value) { return; }
      var next = change.querySelector("input[name=next]").value;
      window.location = change.getAttribute("data-load") + "?kind=modify&institution=" +
        encodeURIComponent(target.value) + (next ? "&next=" + encodeURIComponent(next) : "");
    };
    kind.addEventListener("change", load);
    target.addEventListener("change", load);
  }
  var box = document.getElementById("phs-map");
  if (!box) { return; }
  var lngInput = document.getElementById("longitude"), latInput = document.getElementById("latitude");
  var TILE = 256, template = box.getAttribute("data-tiles");
  var lng0 = parseFloat(lngInput.value), lat0 = parseFloat(latInput.value);
  var has = isFinite(lng0) && isFinite(lat0);
  var zoom = has ? 14 : 4;
  function project(lng, lat, z) {            // → world pixel at zoom z
    var n = TILE * Math.pow(2, z), s = Math.sin(lat * Math.PI / 180);
    return [(lng + 180) / 360 * n, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n];
  }
  function unproject(x, y, z) {
    var n = TILE * Math.pow(2, z), lng = x / n * 360 - 180;
    var lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI;
    return [lng, lat];
  }
  var center = project(has ? lng0 : 105, has ? lat0 : 35, zoom);
  var marker = has ? [lng0, lat0] : null;
  function draw() {
    var w = box.clientWidth, h = box.clientHeight, max = Math.pow(2, zoom);
    var left = center[0] - w / 2, top = center[1] - h / 2, html = "";
    for (var tx = Math.floor(left / TILE); tx <= Math.floor((left + w) / TILE); tx++) {
      for (var ty = Math.floor(top / TILE); ty <= Math.floor((top + h) / TILE); ty++) {
        if (ty < 0 || ty >= max) { continue; }
        var x = ((tx % max) + max) % max;
        var src = template.replace("{z}", zoom).replace("{x}", x).replace("{y}", ty);
        html += '<img alt="" draggable="false" src="' + src + '" style="left:' +
          (tx * TILE - left) + "px;top:" + (ty * TILE - top) + 'px">';
      }
    }
    if (marker) {
      var p = project(marker[0], marker[1], zoom);
      html += '<span class="phs-map-marker" style="left:' + (p[0] - left) + "px;top:" +
        (p[1] - top) + 'px"></span>';
    }
    box.innerHTML = html;
  }
  var drag = null, moved = false;
  box.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY]; moved = false; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag[0], dy = e.clientY - drag[1];
    if (Math.abs(dx) + Math.abs(dy) > 3) { moved = true; }
    center = [center[0] - dx, center[1] - dy];
    drag = [e.clientX, e.clientY];
    draw();
  });
  box.addEventListener("click", function (e) {
    if (moved) { return; }
    var r = box.getBoundingClientRect();
    var ll = unproject(center[0] - r.width / 2 + e.clientX - r.left,
                       center[1] - r.height / 2 + e.clientY - r.top, zoom);
    marker = ll;
    lngInput.value = ll[0].toFixed(6);
    latInput.value = ll[1].toFixed(6);
    draw();
  });
  function rezoom(d) {
    var z = Math.max(3, Math.min(18, zoom + d)), ll = unproject(center[0], center[1], zoom);
    zoom = z;
    center = project(ll[0], ll[1], zoom);
    draw();
  }
  document.getElementById("map-zoom-in").addEventListener("click", function () { rezoom(1); });
  document.getElementById("map-zoom-out").addEventListener("click", function () { rezoom(-1); });
  draw();
})();
