// The preference form: the brand list follows the chosen category.
(function () {
  "use strict";
  const category = document.getElementById("pref-category");
  const brand = document.getElementById("pref-brand");
  if (!category || !brand) return;
  const brands = JSON.parse(brand.dataset.brands);
  function fill() {
    brand.replaceChildren();
    (brands[category.value] || []).forEach(function (name) {
      const option = document.createElement("option");
      option.value = option.textContent = name;
      brand.appendChild(option);
    });
  }
  category.addEventListener("change", fill);
  fill();
})();
