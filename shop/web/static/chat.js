// The web chat: Rasa's socket.io channel (credentials.yml: user_uttered / bot_uttered,
// session persistence). A logged-in household's page carries its session id and a signed
// ticket; a visitor gets a random session id kept for the tab.
(function () {
  "use strict";
  const box = document.getElementById("chat");
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const form = document.getElementById("say");
  const input = document.getElementById("text");
  const button = form.querySelector("button");
  const ticket = box.dataset.ticket || "";
  let session = box.dataset.session;
  if (!session) {
    session = sessionStorage.getItem("dash-visitor") || "visitor-" + crypto.randomUUID();
    sessionStorage.setItem("dash-visitor", session);
  }

  function add(who, text) {
    const item = document.createElement("li");
    item.className = who;
    item.textContent = text;
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    return item;
  }

  const socket = io(box.dataset.rasa, { transports: ["websocket"], path: "/socket.io" });

  function send(text, shown) {
    add("user", shown || text);
    socket.emit("user_uttered", { message: text, session_id: session, metadata: { ticket: ticket } });
  }

  socket.on("connect", function () {
    socket.emit("session_request", { session_id: session });
  });
  socket.on("session_confirm", function () {
    status.textContent = "";
    input.disabled = false;
    button.disabled = false;
    box.dataset.ready = "1";
    input.focus();
  });
  socket.on("disconnect", function () {
    status.textContent = "Reconnecting…";
  });
  socket.on("connect_error", function () {
    status.textContent = "The assistant is not reachable; retrying…";
  });
  socket.on("bot_uttered", function (message) {
    const item = add("bot", message.text || "");
    const buttons = message.quick_replies || message.buttons || [];
    if (buttons.length) {
      const row = document.createElement("div");
      row.className = "replies";
      buttons.forEach(function (b) {
        const choice = document.createElement("button");
        choice.type = "button";
        choice.className = "secondary";
        choice.textContent = b.title;
        choice.addEventListener("click", function () {
          row.remove();
          send(b.payload, b.title);
        });
        row.appendChild(choice);
      });
      item.appendChild(row);
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
})();
