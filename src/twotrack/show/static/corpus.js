// Corpus table: click a header to sort (again to reverse), type to filter. Plain JavaScript.
(function () {
  "use strict";
  var table = document.getElementById("recordings");
  if (!table) return;
  var tbody = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  var filter = document.getElementById("filter");
  var onlyErrors = document.getElementById("only-errors");
  var onlyQualified = document.getElementById("only-qualified");
  var shown = document.getElementById("shown-count");
  var sortCol = -1, sortDir = 1;

  function cellValue(row, col, type) {
    var v = row.cells[col].getAttribute("data-v");
    if (type === "num") { var x = parseFloat(v); return isNaN(x) ? -Infinity : x; }
    return (v || "").toLowerCase();
  }

  function sortBy(col) {
    var type = headers[col].getAttribute("data-type") || "text";
    sortDir = (sortCol === col) ? -sortDir : 1;
    sortCol = col;
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, col, type), y = cellValue(b, col, type);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    for (var i = 0; i < headers.length; i++) {
      headers[i].setAttribute("aria-sort", i === col ? (sortDir > 0 ? "ascending" : "descending") : "none");
    }
  }

  function applyFilter() {
    var words = (filter.value || "").toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    Array.prototype.forEach.call(tbody.rows, function (r) {
      var text = r.textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
      if (onlyErrors.checked && r.getAttribute("data-errors") === "0") ok = false;
      if (onlyQualified.checked && r.getAttribute("data-qualified") !== "yes") ok = false;
      r.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n + " of " + tbody.rows.length + " recordings shown";
  }

  Array.prototype.forEach.call(headers, function (th, i) {
    th.tabIndex = 0;
    th.title = (th.title ? th.title + " — " : "") + "click to sort";
    th.addEventListener("click", function () { sortBy(i); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(i); });
  });
  filter.addEventListener("input", applyFilter);
  onlyErrors.addEventListener("change", applyFilter);
  onlyQualified.addEventListener("change", applyFilter);
  applyFilter();
})();
