// Draws the analytics page's charts with Chart.js from the data the server embedded with
// Django's json_script (<script type="application/json" id="analytics-data">). The tables under
// each chart carry the same numbers for readers without JavaScript.
(function () {
  "use strict";

  const ACCENT = "#2563eb";
    const TEAL = "#0d9488";
  const AMBER = "#d97706";
  const PALETTE = ["#2563eb", "#0d9488", "#d97706", "#db2777", "#2563eb", "#65a30d", "#7c3aed"];
  const GRID = "rgba(17, 24, 39, 0.06)";

  function data() {
    const node = document.getElementById("analytics-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return null;
    return new window.Chart(canvas, config);
  }

  function axes(extra) {
    return {
      x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
      y: Object.assign({ beginAtZero: true, grid: { color: GRID }, ticks: { precision: 0 } }, extra || {}),
    };
  }

  function start() {
    const d = data();
    if (!d || !window.Chart) return;
    const Chart = window.Chart;
    Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
    Chart.defaults.color = "#6b7280";
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      Chart.defaults.animation = false;
    }

    draw("chart-volume", {
      type: "bar",
      data: {
        labels: d.volume.labels,
        datasets: [
          {
            type: "line",
            label: "Conversations",
            data: d.volume.conversations,
            borderColor: ACCENT,
            backgroundColor: ACCENT,
            cubicInterpolationMode: "monotone",
            pointRadius: 2,
            order: 0,
          },
          {
            label: "Messages",
            data: d.volume.messages,
            backgroundColor: "rgba(13, 148, 136, 0.22)",
            borderRadius: 3,
            order: 1,
          },
        ],
      },
      options: { interaction: { mode: "index", intersect: false }, scales: axes() },
    });

    draw("chart-channels", {
      type: "bar",
      data: {
        labels: d.channels.labels,
        datasets: [
          {
            label: "Conversations",
            data: d.channels.conversations,
            backgroundColor: PALETTE,
            borderRadius: 6,
          },
        ],
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: axes() },
    });

    draw("chart-revenue", {
      type: "bar",
      data: {
        labels: d.revenue.labels,
        datasets: [
          {
            label: "Revenue (" + d.revenue.currency + ")",
            data: d.revenue.amounts,
            backgroundColor: TEAL,
            borderRadius: 6,
          },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: axes({ ticks: { precision: 2 } }),
      },
    });

    draw("chart-handoff-trend", {
      type: "line",
      data: {
        labels: d.handoff_trend.labels,
        datasets: [
          {
            label: "Handoff rate (%)",
            data: d.handoff_trend.rate,
            borderColor: AMBER,
            backgroundColor: "rgba(217, 119, 6, 0.12)",
            fill: true,
            cubicInterpolationMode: "monotone",
            pointRadius: 2,
          },
        ],
      },
      options: {
        plugins: { legend: { display: false } },
        scales: axes({ suggestedMax: 100, ticks: { callback: (value) => value + "%" } }),
      },
    });

    draw("chart-triggers", {
      type: "doughnut",
      data: {
        labels: d.triggers.labels,
        datasets: [{ data: d.triggers.counts, backgroundColor: PALETTE, borderWidth: 0 }],
      },
      options: { cutout: "62%", plugins: { legend: { position: "right" } } },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
