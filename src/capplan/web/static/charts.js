// Draws the dashboard's charts: each <div data-figure="ID"> from the JSON data block ID.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div[data-figure]").forEach(function (div) {
    var source = document.getElementById(div.getAttribute("data-figure"));
    if (source === null) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(div, figure.data, figure.layout, { responsive: true });
  });
});
