// Dashboard: picking another month resets the date range to that month (the server fills it in).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const month = document.getElementById("d-month");
  if (!month) return;
  month.addEventListener("change", () => {
    for (const id of ["d-start", "d-end"]) document.getElementById(id).value = "";
  });
});
