// Dashboard charts (Chart.js, vendored): the 7-day demand forecast, device events per hour,
// and the recommender benchmark bars.
(function () {
  "use strict";
  const palette = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#ca8a04", "#4b5563", "#a3a3a3"];

  function stacked(canvas, data) {
    const chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.days,
        datasets: data.datasets.map(function (d, i) {
          return { label: d.label, data: d.data, backgroundColor: palette[i % palette.length] };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "units" } } },
      },
    });
    canvas.dataset.rendered = String(data.datasets.length);
    return chart;
  }

  function areas(data) {
    const table = document.getElementById("forecast-areas");
    const head = table.querySelector("thead tr");
    data.days.forEach(function (day) {
      const th = document.createElement("th");
      th.textContent = day.slice(5);
      head.appendChild(th);
    });
    const body = table.querySelector("tbody");
    Object.entries(data.areas).forEach(function ([area, units]) {
      const row = document.createElement("tr");
      [area].concat(units.map((u) => u.toFixed(1))).forEach(function (text) {
        const td = document.createElement("td");
        td.textContent = text;
        row.appendChild(td);
      });
      body.appendChild(row);
    });
  }

  const forecast = document.getElementById("forecast-chart");
  fetch(forecast.dataset.src, { credentials: "same-origin" })
    .then((r) => r.json())
    .then(function (data) {
      stacked(forecast, data);
      areas(data);
      document.getElementById("forecast-note").textContent +=
        " As of " + data.as_of + "; model: " + data.model + ".";
    })
    .catch(function () {
      forecast.dataset.rendered = "error";
    });

  const scans = document.getElementById("scans-chart");
  fetch(scans.dataset.src, { credentials: "same-origin" })
    .then((r) => r.json())
    .then(function (data) {
      new Chart(scans, {
        type: "line",
        data: { labels: data.hours, datasets: [{ label: "device events per hour", data: data.events, borderColor: palette[0], fill: false }] },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
      scans.dataset.rendered = "1";
    });

  document.querySelectorAll("canvas.bench-chart").forEach(function (canvas) {
    const bars = JSON.parse(canvas.dataset.bars);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: bars.map((b) => b[0]),
        datasets: [{ label: canvas.dataset.title, data: bars.map((b) => b[1]),
                     backgroundColor: bars.map((b) => (b[0].includes("(ours)") ? palette[0] : palette[7])) }],
      },
      options: { animation: false, maintainAspectRatio: false, indexAxis: "y",
                 plugins: { title: { display: true, text: canvas.dataset.title }, legend: { display: false } } },
    });
    canvas.dataset.rendered = "1";
  });
})();
