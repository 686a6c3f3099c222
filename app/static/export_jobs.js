/* 导出列表: reload the page while a job of the user is pending or running (the server
   renders #export-jobs-refresh only then), so its progress and download button appear.
   A hidden tab waits and reloads when it is shown again. No library. */
(function () {
  var note = document.getElementById("export-jobs-refresh");
  if (!note) { return; }
  var seconds = parseInt(note.getAttribute("data-seconds"), 10) || 5;
  function reload() {
    if (document.hidden) {
      document.addEventListener("visibilitychange", function once() {
        document.removeEventListener("visibilitychange", once);
        reload();
      });
      return;
    }
    window.location.reload();
  }
  window.setTimeout(reload, seconds * 1000);
}());
