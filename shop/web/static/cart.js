// The live cart panel: follows the cart feed (server-sent events), so an item added by chat,
// by voice or by a scanner shows up without a reload.
(function () {
  "use strict";
  const panel = document.getElementById("cart");
  if (!panel) return;
  const body = document.getElementById("cart-lines");
  const money = (x) => "$" + x.toFixed(2);
  // Most catalog names start with the brand already (as the "label" filter on the server).
  const label = (p) => (p.name.toLowerCase().startsWith(p.brand.toLowerCase()) ? p.name : p.brand + " " + p.name);

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function render(cart) {
    body.replaceChildren();
    if (!cart.lines.length) {
      const row = document.createElement("tr");
      row.className = "empty";
      const td = cell("Your cart is empty.", "muted");
      td.colSpan = 4;
      row.appendChild(td);
      body.appendChild(row);
    }
    cart.lines.forEach(function (line) {
      const row = document.createElement("tr");
      row.dataset.gtin = line.product.gtin;
      row.appendChild(cell(label(line.product) + " " + line.product.size));
      row.appendChild(cell(String(line.quantity)));
      row.appendChild(cell(money(line.line_total)));
      row.appendChild(cell(line.source + (line.added_by ? " · " + line.added_by : ""), "muted"));
      body.appendChild(row);
    });
    document.getElementById("cart-count").textContent = cart.item_count + " items";
    document.getElementById("cart-total").textContent = money(cart.total);
    panel.dataset.updated = cart.updated_at;
    panel.classList.remove("flash-update");
    void panel.offsetWidth;
    panel.classList.add("flash-update");
  }

  const feed = new EventSource(panel.dataset.stream);
  feed.addEventListener("cart", function (event) {
    render(JSON.parse(event.data));
    panel.dataset.live = "1";
  });
})();
