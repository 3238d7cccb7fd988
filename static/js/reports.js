// The broker's reports: draw each chart from the JSON the page carries (no inline script).
(function () {
  "use strict";
  var palette = ["#1f3a5f", "#d98c1f", "#3c8d5a", "#b23a48", "#6a4c93", "#2a9d8f"];
  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    // Counts get whole-number ticks (no "0.5 blocks"); days and expected closings keep theirs.
    var whole = spec.datasets.every(function (set) {
      return set.data.every(function (value) { return value === null || Number.isInteger(value); });
    });
    new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set, i) {
          return { label: set.label, data: set.data, backgroundColor: palette[i % palette.length],
                   borderColor: palette[i % palette.length], tension: 0.2, maxBarThickness: 90 };
        })
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "bottom" } },
                 scales: { y: { beginAtZero: true, ticks: whole ? { precision: 0 } : {} } } }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
    var switcher = document.querySelector("[data-report-switch]");
    if (switcher) {
      switcher.addEventListener("change", function () {
        var form = switcher.form;
        form.action = switcher.value;
        switcher.disabled = true;  // not sent as a parameter
        form.submit();
      });
    }
  });
})();
