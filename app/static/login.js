// 看不清？点击换一张: a click on the captcha image loads a new one.
document.addEventListener("DOMContentLoaded", function () {
  var img = document.getElementById("captcha-img");
  if (img) {
    img.addEventListener("click", function () {
      img.src = img.src.split("?")[0] + "?" + Date.now();
    });
  }
});
